"""Matryoshka cut: keep the first k values of the model's full vector, then L2-normalise."""

from __future__ import annotations

import numpy as np


def cut(vector: np.ndarray, k: int | None) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    if k is None or k >= vector.shape[-1]:
        return vector
    head = vector[..., :k]
    norm = np.linalg.norm(head, axis=-1, keepdims=True)
    return (head / np.maximum(norm, 1e-12)).astype(np.float32)
