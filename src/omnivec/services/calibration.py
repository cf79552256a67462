"""Per-model ranges for int8/uint8 outputs, calibrated once and kept in the data directory.

Scalar quantisation maps each dimension's [min, max] to 256 steps; those bounds come from the
model's own vectors for a fixed calibration set (sentence-transformers' ``quantize_embeddings``
with ``calibration_embeddings``). The full vectors are computed on first use and stored, so the
ranges of any Matryoshka size are derived from them without embedding again.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from pathlib import Path

import numpy as np

from omnivec.services.embeddings import EmbeddingService
from omnivec.services.matryoshka import cut
from omnivec.types import EmbedInput, Priority, TextPart

_SUBJECTS = (
    "The committee",
    "A small bakery",
    "Our new database",
    "The river",
    "My grandmother",
    "This algorithm",
    "The city council",
    "A rare bird",
    "The hospital",
    "An old laptop",
    "The football team",
    "A quantum computer",
)
_ACTIONS = (
    "approved the budget for",
    "is famous for",
    "was damaged during",
    "quietly improved",
    "published a report about",
    "cannot explain",
    "depends heavily on",
    "celebrated",
)
_OBJECTS = (
    "the winter festival.",
    "fresh sourdough bread.",
    "query latency under load.",
    "the spring floods.",
    "her garden of tomatoes.",
    "sorting very large files.",
    "public transport fares.",
    "its migration to Africa.",
    "emergency room wait times.",
    "battery life on long flights.",
    "the championship final.",
    "error correction in qubits.",
)
_EXTRA = (
    "How do I reset my password?",
    "¿Dónde está la estación de tren?",
    "def add(a, b): return a + b",
    "Quarterly revenue grew 12% year over year.",
    "Photosynthesis converts light into energy.",
    "SELECT name FROM users WHERE age > 30;",
    "Der Hund schläft im Garten.",
    "東京は日本の首都です。",
)


def calibration_texts() -> list[str]:
    """A fixed, varied set: 192 generated sentences and some code, questions and other languages."""
    combos = itertools.product(_SUBJECTS, _ACTIONS, _OBJECTS)
    generated = [" ".join(c) for i, c in enumerate(combos) if i % 6 == 0]
    return generated + list(_EXTRA)


class QuantizationRanges:
    def __init__(self, embeddings: EmbeddingService, directory: Path, *, chunk: int = 32) -> None:
        self.embeddings = embeddings
        self.directory = directory
        self.chunk = chunk
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = asyncio.Lock()

    async def calibration_vectors(self, model: str) -> np.ndarray:
        """(n, dims) full float32 vectors of the calibration set for ``model``: stored once."""
        name = self.embeddings.catalogue.resolve(model).name
        if name in self._vectors:
            return self._vectors[name]
        async with self._lock:
            if name not in self._vectors:
                self._vectors[name] = await self._load_or_compute(name)
        return self._vectors[name]

    async def ranges(self, model: str, dimensions: int | None) -> np.ndarray:
        """(2, k) per-dimension minimum and maximum of the calibration vectors cut to ``k``."""
        vectors = cut(await self.calibration_vectors(model), dimensions)
        return np.stack([vectors.min(axis=0), vectors.max(axis=0)])

    async def _load_or_compute(self, model: str) -> np.ndarray:
        texts = calibration_texts()
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
        path = self.directory / f"{re.sub(r'[^A-Za-z0-9._-]', '_', model)}-{digest}.npy"
        if path.exists():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                pass  # a torn file from a crash: compute again
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.chunk):
            inputs = [EmbedInput((TextPart(t),)) for t in texts[start : start + self.chunk]]
            done = await self.embeddings.embed(model, inputs, priority=Priority.BATCH)
            rows.extend(e.values for e in done)
        vectors = np.stack(rows).astype(np.float32)
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npy")
        np.save(partial, vectors, allow_pickle=False)
        partial.replace(path)
        return vectors
