"""The next chunk of a running job, already being embedded while the current one finishes.

Without it the model waits at every chunk boundary: the chunk's last forward pass ends, then the
worker reads the next items from the store, decodes and tokenises them, and only then is there
work again. With one chunk ahead, the batcher always holds the next chunk's items too, so there
is no gap, and it has twice the items to group by length (less padding per pass).

One chunk ahead per job at most: memory stays bounded, and online requests still go first (the
batcher serves online work before batch work). Nothing is committed from here: the worker
commits chunks in order, so a crash or a cancel loses only work that was not checkpointed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from omnivec.jobs.chunks import ChunkRunner
from omnivec.storage.interfaces import BatchStore
from omnivec.storage.records import BatchItem, BatchJob, ItemResult

ChunkWork = asyncio.Future[list[ItemResult]]


@dataclass(frozen=True, slots=True)
class _Ahead:
    start: int
    items: Sequence[BatchItem]
    work: ChunkWork


class ChunkLookahead:
    """``ahead`` False: every chunk is started when its turn takes it (nothing runs ahead)."""

    def __init__(
        self, store: BatchStore, chunks: ChunkRunner, chunk_items: int, *, ahead: bool = True
    ) -> None:
        self.store = store
        self.chunks = chunks
        self.chunk_items = chunk_items
        self.ahead = ahead
        self._ahead: dict[str, _Ahead] = {}

    async def take(self, job: BatchJob, start: int) -> tuple[Sequence[BatchItem], ChunkWork | None]:
        """The chunk of ``job`` at ``start`` and its embedding under way (started now unless it
        already was); no work when there are no items there."""
        ahead = self._ahead.pop(job.job_id, None)
        if ahead is not None:
            if ahead.start == start:
                return ahead.items, ahead.work
            _discard(ahead.work)  # the job moved on differently (a retried turn): not this chunk
        return await self._start(job, start)

    async def prepare_next(self, job: BatchJob, start: int) -> None:
        """Start embedding the chunk at ``start``, to be taken by the job's next turn."""
        if not self.ahead or start >= job.request_count or job.job_id in self._ahead:
            return
        items, work = await self._start(job, start)
        if work is not None:
            self._ahead[job.job_id] = _Ahead(start, items, work)

    def drop(self, job_id: str) -> None:
        """Forget (and stop) what runs ahead for ``job_id``: it was cancelled, ended or failed."""
        ahead = self._ahead.pop(job_id, None)
        if ahead is not None:
            _discard(ahead.work)

    def drop_all(self) -> None:
        for job_id in list(self._ahead):
            self.drop(job_id)

    async def _start(self, job: BatchJob, start: int) -> tuple[Sequence[BatchItem], ChunkWork | None]:
        items = await asyncio.to_thread(self.store.items, job.job_id, start, self.chunk_items)
        if not items:
            return items, None
        return items, asyncio.ensure_future(self.chunks.embed_chunk(job, items))


def _discard(work: ChunkWork) -> None:
    work.cancel()

    def retrieve(done: ChunkWork) -> None:
        # Nobody awaits it any more; its outcome (or error) must not be reported as lost.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            done.result()

    work.add_done_callback(retrieve)
