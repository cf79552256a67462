"""Rerank documents for a query with the embedding model: the cosine between the query's vector
(task RETRIEVAL_QUERY) and each document's (RETRIEVAL_DOCUMENT), both from the one
EmbeddingService. Scores are in [-1, 1]; higher is more relevant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnivec.services.embeddings import EmbeddingService
from omnivec.types import EmbedInput, EmbedOptions, TaskType, TextPart

# What the response says produced the scores.
EMBEDDING_COSINE = "embedding-cosine"


@dataclass(frozen=True, slots=True)
class Ranked:
    index: int
    score: float


@dataclass(frozen=True, slots=True)
class Ranking:
    results: tuple[Ranked, ...]  # best first
    method: str
    token_count: int


class Reranker:
    def __init__(self, embeddings: EmbeddingService) -> None:
        self.embeddings = embeddings

    async def rerank(
        self,
        model: str,
        query: str,
        documents: Sequence[str],
        *,
        owner: str = "",
        auto_truncate: bool = True,
        field_prefix: str = "documents",
    ) -> Ranking:
        query_input = EmbedInput(
            (TextPart(query),), EmbedOptions(task_type=TaskType.RETRIEVAL_QUERY, auto_truncate=auto_truncate)
        )
        doc_options = EmbedOptions(task_type=TaskType.RETRIEVAL_DOCUMENT, auto_truncate=auto_truncate)
        (query_vector,) = await self.embeddings.embed(model, [query_input], field_prefix="", owner=owner)
        docs = await self.embeddings.embed(
            model,
            [EmbedInput((TextPart(d),), doc_options) for d in documents],
            field_prefix=field_prefix,
            owner=owner,
        )
        q = _unit(query_vector.values)
        scores = [float(np.dot(q, _unit(d.values))) for d in docs]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        tokens = query_vector.token_count + sum(d.token_count for d in docs)
        return Ranking(tuple(Ranked(i, scores[i]) for i in order), EMBEDDING_COSINE, tokens)


def _unit(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)
