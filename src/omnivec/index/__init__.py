"""Vector stores behind one protocol (``index.base.VectorStore``): Qdrant Edge in-process by
default, a Qdrant server or cluster through ``qdrant-client`` for scale. Each adapter module
declares itself in the registry of ``index.registry``."""
