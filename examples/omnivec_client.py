"""The one thing every example shares: a google-genai client pointed at omnivec.

The base URL is the SDK's own GOOGLE_GEMINI_BASE_URL when set, else a local `omnivec serve`.
"""

import functools
import os

import numpy as np
from google import genai
from google.genai import types

BASE_URL = os.environ.get("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:8080")
MODEL = os.environ.get("EMBEDDING_MODEL", "gemini-embedding-001")


@functools.cache
def client() -> genai.Client:
    # One client for the script (it owns a connection pool). omnivec needs no key on loopback;
    # the SDK insists on one being set.
    return genai.Client(
        api_key=os.environ.get("GEMINI_API_KEY", "unused-on-loopback"),
        http_options=types.HttpOptions(base_url=BASE_URL),
    )


def embed(texts: list[str], task_type: str, dimensions: int | None = None) -> np.ndarray:
    """One row per text (float32), as the SDK returns them."""
    result = client().models.embed_content(
        model=MODEL,
        contents=texts,
        config=types.EmbedContentConfig(task_type=task_type, output_dimensionality=dimensions),
    )
    return np.array([e.values for e in result.embeddings], dtype=np.float32)


def normalize(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)
