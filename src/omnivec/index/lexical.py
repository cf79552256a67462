"""BM25 as sparse vectors: Qdrant's own BM25 model (the one ``qdrant-edge-py`` ships, the same
conventions as fastembed's ``Qdrant/bm25``: English word tokenizer, stop words, Snowball
stemmer, hashed token ids). Documents get term-frequency weights with BM25's length
normalisation; the engine adds IDF at query time (the sparse vector is declared with the IDF
modifier), so collection statistics stay exact as points come and go. Both adapters use it,
so a store moved from Edge to a server ranks the same."""

from __future__ import annotations

from dataclasses import dataclass

from qdrant_edge import Bm25

SPARSE_VECTOR_NAME = "bm25"
DENSE_VECTOR_NAME = "dense"


@dataclass(frozen=True, slots=True)
class SparseWeights:
    indices: list[int]
    values: list[float]

    def __bool__(self) -> bool:
        return bool(self.indices)


class Bm25Encoder:
    """Thread-safe (the model is immutable once built)."""

    def __init__(self) -> None:
        self._model = Bm25()

    def document(self, text: str) -> SparseWeights:
        vector = self._model.embed_document(text)
        return SparseWeights(list(vector.indices), list(vector.values))

    def query(self, text: str) -> SparseWeights:
        """Every distinct query term weighs 1; empty when the text has no indexable word."""
        vector = self._model.embed_query(text)
        return SparseWeights(list(vector.indices), list(vector.values))
