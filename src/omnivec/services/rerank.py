"""Rerank documents for a query, with a cross-encoder when one serves the request, else with an
embedding model.

- A cross-encoder (a served model of kind ``rerank``) reads each (query, document) pair and
  gives it a logit; the score is the model's own activation of it (the sigmoid for one label,
  as sentence-transformers' ``CrossEncoder`` reports) or, when asked for, the raw logit.
- An embedding model ranks by the cosine between the query's vector (task RETRIEVAL_QUERY) and
  each document's (RETRIEVAL_DOCUMENT), both from the one EmbeddingService. Scores are in
  [-1, 1].

A request that names a model gets that model's method; one that names none gets the first
served cross-encoder, or the first served embedding model when no cross-encoder is served.
Higher is more relevant either way, and the ranking says which method produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.runtime.backends.base import InputError
from omnivec.runtime.runtime import Runtime
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.types import (
    EmbedInput,
    EmbedOptions,
    ModelDescriptor,
    ModelKind,
    ScoreActivation,
    TaskType,
    TextPart,
)

# What the response says produced the scores.
EMBEDDING_COSINE = "embedding-cosine"
CROSS_ENCODER = "cross-encoder"
# What a cross-encoder's score is: its activation of the logit, or the logit itself.
RAW_LOGIT = "logit"


@dataclass(frozen=True, slots=True)
class Ranked:
    index: int
    score: float


@dataclass(frozen=True, slots=True)
class Ranking:
    results: tuple[Ranked, ...]  # best first
    method: str
    token_count: int
    model: str = ""
    # For a cross-encoder: "sigmoid", "identity" (the model's activation of its logit) or
    # "logit"; for the embedding cosine, "cosine".
    score: str = "cosine"


class Reranker:
    def __init__(self, embeddings: EmbeddingService, runtime: Runtime, catalogue: ModelCatalogue) -> None:
        self.embeddings = embeddings
        self.runtime = runtime
        self.catalogue = catalogue

    def model_for(self, name: str | None) -> ModelDescriptor:
        """The served model a request for ``name`` (None: it names none) is ranked with."""
        if name:
            return self.catalogue.resolve(name)
        chosen = self.catalogue.first(ModelKind.RERANK) or self.catalogue.first(ModelKind.EMBEDDING)
        if chosen is None:
            raise InvalidArgument.at("model", "this server serves no model to rerank with")
        return chosen

    async def rerank(
        self,
        model: str | None,
        query: str,
        documents: Sequence[str],
        *,
        owner: str = "",
        auto_truncate: bool = True,
        field_prefix: str = "documents",
        raw_scores: bool = False,
    ) -> Ranking:
        """``raw_scores``: a cross-encoder's logits instead of its activated scores (TEI's
        option); the cosine has nothing raw and ignores it."""
        descriptor = self.model_for(model)
        if descriptor.kind is ModelKind.RERANK:
            return await self._cross_encode(
                descriptor, query, documents, auto_truncate, field_prefix, raw_scores
            )
        return await self._cosine(descriptor, query, documents, owner, auto_truncate, field_prefix)

    async def _cross_encode(
        self,
        model: ModelDescriptor,
        query: str,
        documents: Sequence[str],
        auto_truncate: bool,
        field_prefix: str,
        raw_scores: bool,
    ) -> Ranking:
        limit = self.embeddings.max_text_chars
        for where, text in (
            ("query", query),
            *((f"{field_prefix}[{i}]", d) for i, d in enumerate(documents)),
        ):
            if len(text) > limit:
                raise InvalidArgument.at(where, f"at most {limit} characters (got {len(text)})")
        with self.runtime.admit(model.name, len(documents)):
            try:
                scored = await self.runtime.score_pairs(
                    model.name, query, documents, auto_truncate=auto_truncate
                )
            except InputError as exc:
                raise InvalidArgument.at(f"{field_prefix}[{exc.index}]", exc.description) from None
        logits = np.array([float(s.vector[0]) for s in scored], dtype=np.float64)
        activation = model.score_activation or ScoreActivation.IDENTITY
        if raw_scores:
            scores, kind = logits, RAW_LOGIT
        else:
            scores, kind = _activate(logits, activation), activation.value
        tokens = sum(s.token_count for s in scored)
        return Ranking(_best_first(scores.tolist()), CROSS_ENCODER, tokens, model.name, kind)

    async def _cosine(
        self,
        model: ModelDescriptor,
        query: str,
        documents: Sequence[str],
        owner: str,
        auto_truncate: bool,
        field_prefix: str,
    ) -> Ranking:
        query_input = EmbedInput(
            (TextPart(query),), EmbedOptions(task_type=TaskType.RETRIEVAL_QUERY, auto_truncate=auto_truncate)
        )
        doc_options = EmbedOptions(task_type=TaskType.RETRIEVAL_DOCUMENT, auto_truncate=auto_truncate)
        (query_vector,) = await self.embeddings.embed(model.name, [query_input], field_prefix="", owner=owner)
        docs = await self.embeddings.embed(
            model.name,
            [EmbedInput((TextPart(d),), doc_options) for d in documents],
            field_prefix=field_prefix,
            owner=owner,
        )
        q = _unit(query_vector.values)
        scores = [float(np.dot(q, _unit(d.values))) for d in docs]
        tokens = query_vector.token_count + sum(d.token_count for d in docs)
        return Ranking(_best_first(scores), EMBEDDING_COSINE, tokens, model.name)


def _best_first(scores: Sequence[float]) -> tuple[Ranked, ...]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return tuple(Ranked(i, float(scores[i])) for i in order)


def _activate(logits: np.ndarray, activation: ScoreActivation) -> np.ndarray:
    if activation is ScoreActivation.SIGMOID:
        return 1.0 / (1.0 + np.exp(-logits))
    return logits


def _unit(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)
