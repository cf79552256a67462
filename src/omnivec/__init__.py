"""omnivec: a self-hosted embedding server that speaks Google's Gemini embedding API.

The library entry points are imported lazily so that ``omnivec --help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["AsyncEmbedder", "BlobPart", "Embedder", "TextPart", "__version__", "similarity"]


def __getattr__(name: str) -> Any:
    if name in ("Embedder", "AsyncEmbedder", "similarity", "BlobPart", "TextPart"):
        from omnivec import library

        return getattr(library, name)
    raise AttributeError(name)
