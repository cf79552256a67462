"""Use cases: embeddings, the models catalogue, files, batches."""
