"""Embedding one chunk of a batch job: the chunk's items through the same
``EmbeddingService.embed`` as online requests, at batch priority, with a result for every item.

A chunk is embedded in one call; when that call fails, its items are embedded alone so that one
bad item fails itself and not its neighbours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from omnivec.errors import Internal, OmnivecError, ResourceExhausted, Unavailable
from omnivec.logging import get_logger
from omnivec.services.batch_items import decode_input, failure, item_error, success
from omnivec.services.embeddings import EmbeddingService
from omnivec.storage.records import BatchItem, BatchJob, ItemError, ItemResult
from omnivec.types import Embedding, EmbedInput, Priority

log = get_logger(__name__)

_UNREADABLE = ItemError.of("INTERNAL", "The stored request could not be read back.")
_CRASHED = ItemError.of("INTERNAL", "An internal error occurred while embedding this request.")


def read_items(items: Sequence[BatchItem]) -> tuple[dict[int, ItemResult], list[tuple[int, EmbedInput]]]:
    """A chunk's stored requests as inputs to embed, by item index; an item stored with its
    error (refused when the job was created), or that cannot be read back, gets its failure."""
    results: dict[int, ItemResult] = {}
    runnable: list[tuple[int, EmbedInput]] = []
    for item in items:
        if item.error is not None:
            results[item.index] = failure(item.index, item.error)
            continue
        try:
            assert item.payload is not None
            runnable.append((item.index, decode_input(item.payload)))
        except Exception:
            results[item.index] = failure(item.index, _UNREADABLE)
    return results, runnable


class ChunkRunner(Protocol):
    """Embeds one chunk of a job: one result per item, in order (``ChunkEmbedder`` in this
    process; ``jobs.ray_chunks`` as a Ray Data run)."""

    async def embed_chunk(self, job: BatchJob, items: Sequence[BatchItem]) -> list[ItemResult]: ...


class ChunkEmbedder:
    def __init__(self, embeddings: EmbeddingService, overload_backoff_s: float = 0.5) -> None:
        self.embeddings = embeddings
        # How long to back off when the model's queue is full (online traffic has the right of way).
        self.overload_backoff_s = overload_backoff_s

    async def embed_chunk(self, job: BatchJob, items: Sequence[BatchItem]) -> list[ItemResult]:
        """One result per item, in the items' order."""
        results, runnable = read_items(items)
        if runnable:
            try:
                embedded = await self._embed(job, [x for _, x in runnable])
                for (index, _), e in zip(runnable, embedded, strict=True):
                    results[index] = success(index, e.values, e.token_count)
            except Unavailable:
                raise
            except Exception:
                # One bad item fails the whole call: find it by embedding the items alone.
                results.update(await self._one_by_one(job, runnable))
        return [results[item.index] for item in items]

    async def _one_by_one(
        self, job: BatchJob, runnable: list[tuple[int, EmbedInput]]
    ) -> dict[int, ItemResult]:
        async def one(index: int, embed_input: EmbedInput) -> ItemResult:
            try:
                [e] = await self._embed(job, [embed_input])
            except Unavailable:
                raise
            except OmnivecError as exc:
                return failure(index, item_error(exc))
            except Exception:
                log.exception("batches/%s: item %d failed", job.job_id, index)
                return failure(index, _CRASHED)
            return success(index, e.values, e.token_count)

        outcomes = list(await asyncio.gather(*(one(i, x) for i, x in runnable)))
        # Items embedded concurrently may share a forward pass with the culprit; whatever
        # failed inside the model is retried strictly alone.
        for k, outcome in enumerate(outcomes):
            if outcome.error is not None and outcome.error.status == Internal.status and len(runnable) > 1:
                outcomes[k] = await one(*runnable[k])
        return {r.index: r for r in outcomes}

    async def _embed(self, job: BatchJob, inputs: list[EmbedInput]) -> list[Embedding]:
        while True:
            try:
                return await self.embeddings.embed(
                    job.model, inputs, priority=Priority.BATCH, field_prefix="", owner=job.owner
                )
            except ResourceExhausted:
                await asyncio.sleep(self.overload_backoff_s)
