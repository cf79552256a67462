"""Model execution: backends, the dynamic batcher and one executor thread per model."""
