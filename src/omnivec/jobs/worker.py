"""The batch worker: runs jobs, one at a time, through the same ``EmbeddingService.embed`` as
online requests, at batch priority (the batcher serves online work first).

Restart safety: a job advances in chunks; each chunk's results and the new checkpoint are
committed in one transaction. After a crash the job is still RUNNING with its checkpoint at the
last committed chunk, and the next worker resumes from there, so every item is embedded into
the output exactly once. Only one process per data directory runs jobs (an OS file lock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from omnivec.errors import Internal, NotFound, OmnivecError, ResourceExhausted, Unavailable
from omnivec.jobs.states import transition
from omnivec.logging import get_logger
from omnivec.services.batch_items import decode_input, failure, item_error, output_line, success
from omnivec.services.embeddings import EmbeddingService
from omnivec.services.files import GENERATED_PREFIX, FilesService
from omnivec.storage.interfaces import BatchStore, ExclusiveLock
from omnivec.storage.records import BatchItem, BatchJob, Clock, ItemError, ItemResult, utc_now
from omnivec.types import BatchState, Embedding, EmbedInput, Priority

log = get_logger(__name__)

CANCELLED = ItemError.of("CANCELLED", "The batch was cancelled.")
_UNREADABLE = ItemError.of("INTERNAL", "The stored request could not be read back.")
_CRASHED = ItemError.of("INTERNAL", "An internal error occurred while embedding this request.")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    chunk_items: int = 64
    poll_interval_s: float = 2.0
    stop_timeout_s: float = 10.0
    # How long to back off when the model's queue is full (online traffic has the right of way).
    overload_backoff_s: float = 0.5


class BatchWorker:
    def __init__(
        self,
        store: BatchStore,
        embeddings: EmbeddingService,
        files: FilesService,
        lock: ExclusiveLock,
        settings: WorkerSettings | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.files = files
        self.lock = lock
        self.settings = settings or WorkerSettings()
        self.clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._holds_lock = False
        self._current: str | None = None
        self._cancel_events: dict[str, asyncio.Event] = {}

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="omnivec-batch-worker")

    async def stop(self) -> None:
        """Let the chunk in flight finish (bounded by stop_timeout_s; its results are then
        committed), then stop. An unfinished job stays RUNNING and resumes at the next start."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.settings.stop_timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._release_lock()

    def wake(self) -> None:
        """A job was created: look now rather than at the next poll."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- control (JobControl) -----------------------------------------------------------------
    async def cancel(self, job: BatchJob) -> BatchJob:
        now = self.clock()
        if job.state is BatchState.PENDING:
            moved = await asyncio.to_thread(
                transition, self.store, job, BatchState.CANCELLED, now, error=CANCELLED
            )
            if moved is not None:
                return moved
            job = await self._reread(job)
        if job.state is BatchState.RUNNING:
            await asyncio.to_thread(self.store.request_cancel, job.job_id, now)
            if self._current == job.job_id:
                self._cancel_events[job.job_id].set()
                return await self._await_settled(job)
            if self._holds_lock or self._take_lock_briefly():
                # No worker is running it (it was interrupted earlier): settle it here.
                moved = await asyncio.to_thread(
                    transition, self.store, job, BatchState.CANCELLED, now, error=CANCELLED
                )
                if moved is not None:
                    return moved
            # Another process runs it; that worker sees the flag at its next chunk.
        return await self._reread(job)

    async def expire_overdue(self) -> int:
        """Move unfinished jobs past their deadline to EXPIRED; returns how many."""
        if not self.store.initialized():
            return 0
        now = self.clock()
        expired = 0
        for job in await asyncio.to_thread(self.store.overdue, now):
            error = ItemError.of("DEADLINE_EXCEEDED", "The batch did not finish before it expired.")
            if await asyncio.to_thread(transition, self.store, job, BatchState.EXPIRED, now, error=error):
                expired += 1
                if job.job_id in self._cancel_events:
                    self._cancel_events[job.job_id].set()
        return expired

    # --- the loop -----------------------------------------------------------------------------
    async def _run(self) -> None:
        waiting_logged = False
        while not self._stopping:
            if not self._holds_lock:
                self._holds_lock = self.lock.acquire()
                if not self._holds_lock:
                    if not waiting_logged:
                        log.info("another process runs batch jobs on this data directory; waiting")
                        waiting_logged = True
                    await self._idle()
                    continue
            try:
                job = None
                if self.store.initialized():
                    await self.expire_overdue()
                    job = await asyncio.to_thread(self.store.next_claimable)
                if job is None:
                    await self._idle()
                else:
                    await self._run_job(job)
            except asyncio.CancelledError:
                raise
            except Unavailable:
                await self._idle()  # the runtime is shutting down; stop() follows
            except Exception:
                log.exception("the batch worker hit an error; it retries shortly")
                await self._idle()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)
        self._wake.clear()

    async def _run_job(self, job: BatchJob) -> None:
        now = self.clock()
        if job.expire_time <= now:
            await self.expire_overdue()
            return
        if job.state is BatchState.RUNNING and job.cancel_requested:
            await asyncio.to_thread(transition, self.store, job, BatchState.CANCELLED, now, error=CANCELLED)
            return
        try:
            self.embeddings.catalogue.resolve(job.model)
        except NotFound as exc:
            error = item_error(exc)
            await asyncio.to_thread(transition, self.store, job, BatchState.FAILED, now, error=error)
            return
        if job.state is BatchState.PENDING:
            started = await asyncio.to_thread(transition, self.store, job, BatchState.RUNNING, now)
            if started is None:
                return  # cancelled or expired meanwhile
            job = started
        else:
            log.info("resuming batches/%s at item %d of %d", job.job_id, job.checkpoint, job.request_count)
        cancel_event = asyncio.Event()
        self._cancel_events[job.job_id] = cancel_event
        self._current = job.job_id
        try:
            await self._advance(job, cancel_event)
        finally:
            self._current = None
            self._cancel_events.pop(job.job_id, None)

    async def _advance(self, job: BatchJob, cancel_event: asyncio.Event) -> None:
        while job.checkpoint < job.request_count:
            if self._stopping:
                return
            if cancel_event.is_set() or job.cancel_requested:
                await asyncio.to_thread(
                    transition, self.store, job, BatchState.CANCELLED, self.clock(), error=CANCELLED
                )
                return
            if job.expire_time <= self.clock():
                await self.expire_overdue()
                return
            items = await asyncio.to_thread(
                self.store.items, job.job_id, job.checkpoint, self.settings.chunk_items
            )
            results = await self._interruptible(self._embed_chunk(job, items), cancel_event)
            if results is None:
                continue  # cancelled mid-chunk: the loop settles it
            updated = await asyncio.to_thread(
                self.store.commit_chunk, job.job_id, job.checkpoint, results, self.clock()
            )
            if updated is None:
                return  # cancelled, expired or deleted by someone else
            job = updated
        await self._finish(job)

    async def _interruptible(
        self, work: Coroutine[Any, Any, list[ItemResult]], cancel_event: asyncio.Event
    ) -> list[ItemResult] | None:
        task = asyncio.create_task(work)
        cancelled = asyncio.ensure_future(cancel_event.wait())
        try:
            await asyncio.wait({task, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    async def _finish(self, job: BatchJob) -> None:
        output = None
        if job.input_file is not None:
            file_id = f"{GENERATED_PREFIX}{job.job_id}"
            await asyncio.to_thread(self._write_output, job, file_id)
            output = f"files/{file_id}"
        done = await asyncio.to_thread(
            transition, self.store, job, BatchState.SUCCEEDED, self.clock(), output_file=output
        )
        if done is not None:
            log.info("batches/%s succeeded: %d embedded, %d failed", job.job_id, done.succeeded, done.failed)
            if output is not None:
                await asyncio.to_thread(self.store.drop_items, job.job_id)

    def _write_output(self, job: BatchJob, file_id: str) -> None:
        def lines() -> Iterator[bytes]:
            start = 0
            while page := self.store.results(job.job_id, start, 500):
                for item, result in page:
                    yield output_line(item, result)
                start = page[-1][0].index + 1

        self.files.write_generated(
            job.owner, file_id, f"Output of batches/{job.job_id}", "application/jsonl", lines()
        )

    # --- embedding a chunk ----------------------------------------------------------------------
    async def _embed_chunk(self, job: BatchJob, items: Sequence[BatchItem]) -> list[ItemResult]:
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
                await asyncio.sleep(self.settings.overload_backoff_s)

    # --- helpers ---------------------------------------------------------------------------------
    async def _reread(self, job: BatchJob) -> BatchJob:
        latest = await asyncio.to_thread(self.store.get_any, job.job_id)
        return latest or job

    async def _await_settled(self, job: BatchJob, timeout_s: float = 5.0) -> BatchJob:
        """Give the running chunk a moment to stop, so the answer already says CANCELLED."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        latest = job
        while asyncio.get_running_loop().time() < deadline:
            latest = await self._reread(job)
            if latest.state.is_terminal:
                break
            await asyncio.sleep(0.05)
        return latest

    def _take_lock_briefly(self) -> bool:
        """True (lock released again) when no process runs jobs on this data directory now."""
        if self.running:
            return False  # our own loop is waiting for the lock: another process holds it
        if not self.lock.acquire():
            return False
        self.lock.release()
        return True

    def _release_lock(self) -> None:
        if self._holds_lock:
            self.lock.release()
            self._holds_lock = False
