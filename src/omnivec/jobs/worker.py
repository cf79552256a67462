"""The batch worker: runs jobs through the same ``EmbeddingService.embed`` as online requests, at
batch priority (the batcher serves online work first).

Fairness: jobs take turns a chunk at a time, round-robin across owners (API keys), so a small
job of one key never waits behind another key's large one; ``priority`` orders only a key's own
jobs. A job that fails ``max_attempts`` turns in a row is FAILED with the reason, and the others
go on meanwhile.

Restart safety: a job advances in chunks; each chunk's results and the new checkpoint are
committed in one transaction. After a crash the job is still RUNNING with its checkpoint at the
last committed chunk, and the next worker resumes from there, so every item is embedded into
the output exactly once. Only one process per data directory runs jobs (an OS file lock).

Embedding a chunk is ``jobs.chunks``; writing the output file, ``jobs.output``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from omnivec.errors import NotFound, Unavailable
from omnivec.jobs.attempts import Attempts, gave_up
from omnivec.jobs.chunks import ChunkEmbedder, ChunkRunner
from omnivec.jobs.lookahead import ChunkLookahead
from omnivec.jobs.output import write_output
from omnivec.jobs.states import transition
from omnivec.logging import get_logger
from omnivec.services.batch_items import item_error
from omnivec.services.embeddings import EmbeddingService
from omnivec.services.files import FilesService
from omnivec.storage.interfaces import BatchStore, ExclusiveLock
from omnivec.storage.records import BatchJob, Clock, ItemError, ItemResult, utc_now
from omnivec.types import BatchState

log = get_logger(__name__)

CANCELLED = ItemError.of("CANCELLED", "The batch was cancelled.")


@dataclass(frozen=True, slots=True)
class _PendingCommit:
    next_start: int  # the checkpoint once it is committed
    task: asyncio.Future[BatchJob | None]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    chunk_items: int = 64
    poll_interval_s: float = 2.0
    stop_timeout_s: float = 10.0
    # How long to back off when the model's queue is full (online traffic has the right of way).
    overload_backoff_s: float = 0.5
    # Failed turns in a row after which a job is FAILED instead of retried.
    max_attempts: int = 3
    # A worker that has held a job this long without finishing a step is reported stuck.
    stuck_after_s: float = 600.0


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
        chunks: ChunkRunner | None = None,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.files = files
        self.lock = lock
        self.settings = settings or WorkerSettings()
        self.clock = clock
        self.chunks: ChunkRunner = chunks or ChunkEmbedder(embeddings, self.settings.overload_backoff_s)
        # One chunk ahead in this process; a Ray Data run per chunk starts actors of its own, and
        # two at once may not fit beside the replicas of a small cluster.
        self.lookahead = ChunkLookahead(store, self.chunks, self.settings.chunk_items, ahead=chunks is None)
        self.attempts = Attempts(self.settings.max_attempts)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._holds_lock = False
        self._current: str | None = None
        self._cancel_events: dict[str, asyncio.Event] = {}
        self._last_owner: str | None = None  # whose job had the last turn
        self._resumed: set[str] = set()  # jobs this worker has had a turn of
        self._beat = time.monotonic()  # when the loop last finished a step
        self._next_expiry_check = 0.0  # overdue jobs are looked for once per poll interval
        self._commits: dict[str, _PendingCommit] = {}  # chunk commits still being written

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

    def stuck(self) -> str | None:
        """Why the worker is stuck, or None: its loop ended though nobody stopped it, or it has
        held a job for ``stuck_after_s`` without finishing a step (a chunk)."""
        if self._task is not None and self._task.done() and not self._stopping:
            return "the batch worker stopped unexpectedly"
        quiet_s = time.monotonic() - self._beat
        if self._current is not None and quiet_s > self.settings.stuck_after_s:
            return f"the batch worker has made no progress on a batch for {quiet_s:.0f} s"
        return None

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
        try:
            await self._loop()
        finally:
            await self._settle_all()  # every embedded chunk is committed before the worker stops

    async def _loop(self) -> None:
        waiting_logged = False
        while not self._stopping:
            self._beat = time.monotonic()
            if not self._holds_lock:
                self._holds_lock = self.lock.acquire()
                if not self._holds_lock:
                    if not waiting_logged:
                        log.info("another process runs batch jobs on this data directory; waiting")
                        waiting_logged = True
                    await self._idle()
                    continue
                await self._drop_orphans()
            job = None
            try:
                if self.store.initialized():
                    if time.monotonic() >= self._next_expiry_check:
                        self._next_expiry_check = time.monotonic() + self.settings.poll_interval_s
                        await self.expire_overdue()
                    job = await asyncio.to_thread(
                        self.store.next_claimable, self._last_owner, frozenset(self.attempts.given_up)
                    )
                if job is None:
                    await self._idle()
                else:
                    self._last_owner = job.owner
                    await self._take_turn(job)
                    self.attempts.succeeded(job.job_id)
            except asyncio.CancelledError:
                raise
            except Unavailable:
                await self._idle()  # the runtime is shutting down; stop() follows
            except Exception:
                if job is None:
                    log.exception("the batch worker hit an error; it retries shortly")
                else:
                    await self._failed_turn(job)
                await self._idle()

    async def _drop_orphans(self) -> None:
        """What a crash left half made: items of job creations and temporaries of output files
        (nothing of the kind is under way at start)."""
        try:
            if self.store.initialized() and (dropped := await asyncio.to_thread(self.store.drop_orphans)):
                log.info("removed the stored requests of %d batch creations cut short", dropped)
            if removed := await asyncio.to_thread(self.files.blobs.remove_temporaries):
                log.info("removed %d temporary files of output writes cut short", removed)
        except Exception:
            log.exception("could not remove what writes cut short left behind")

    async def _failed_turn(self, job: BatchJob) -> None:
        """A turn of ``job`` raised: count it, and give the job up when it keeps failing."""
        log.exception("batches/%s: the batch worker hit an error running it", job.job_id)
        if not self.attempts.failed(job.job_id):
            return
        count = self.attempts.count(job.job_id)
        log.error("batches/%s failed %d turns in a row; it is marked FAILED", job.job_id, count)
        self.attempts.given_up.add(job.job_id)  # skipped from now on, even if the store cannot say so
        try:
            await asyncio.to_thread(self.store.fail, job.job_id, gave_up(count), self.clock())
        except Exception:
            log.exception("batches/%s could not be marked FAILED; it is skipped", job.job_id)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval_s)
        self._wake.clear()

    async def _take_turn(self, job: BatchJob) -> None:
        """Start or continue ``job`` for one turn: one chunk, or its settling."""
        now = self.clock()
        if job.expire_time <= now or job.cancel_requested:
            await self._settle(job.job_id)
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
            await self._settle(job.job_id)
            await asyncio.to_thread(transition, self.store, job, BatchState.FAILED, now, error=error)
            return
        if job.state is BatchState.PENDING:
            started = await asyncio.to_thread(transition, self.store, job, BatchState.RUNNING, now)
            if started is None:
                return  # cancelled or expired meanwhile
            job = started
        elif job.job_id not in self._resumed:
            log.info("resuming batches/%s at item %d of %d", job.job_id, job.checkpoint, job.request_count)
        self._resumed.add(job.job_id)
        cancel_event = asyncio.Event()
        self._cancel_events[job.job_id] = cancel_event
        self._current = job.job_id
        try:
            await self._advance(job, cancel_event)
        finally:
            self._current = None
            self._cancel_events.pop(job.job_id, None)

    async def _advance(self, job: BatchJob, cancel_event: asyncio.Event) -> None:
        """One chunk. Its results are committed while the next chunk is embedded (the commit,
        an fsync, would otherwise leave the model idle): the commit stays pending into the job's
        next turn, which reads its items from where the commit will leave the checkpoint, starts
        embedding them, and only then waits for the commit."""
        if self._stopping or cancel_event.is_set() or job.cancel_requested or job.expire_time <= self.clock():
            job = await self._settle(job.job_id) or job
            if self._stopping:
                return
            if cancel_event.is_set() or job.cancel_requested:
                await asyncio.to_thread(
                    transition, self.store, job, BatchState.CANCELLED, self.clock(), error=CANCELLED
                )
                return
            await self.expire_overdue()
            return
        pending = self._commits.pop(job.job_id, None)
        start = pending.next_start if pending is not None else job.checkpoint
        if start < job.request_count:
            items, work = await self.lookahead.take(job, start)
            if work is not None:
                await self.lookahead.prepare_next(job, start + len(items))
            if pending is not None:
                updated = await pending.task
                if updated is None:  # cancelled, expired or deleted by someone else
                    if work is not None:
                        work.cancel()
                    self.lookahead.drop(job.job_id)
                    return
                job = updated
            if work is None:  # a failed turn: a job that keeps failing is given up
                raise LookupError(f"batches/{job.job_id} has no stored request at {start}")
            results = await self._interruptible(work, cancel_event)
            if results is None:
                self.lookahead.drop(job.job_id)
                return  # cancelled mid-chunk: the next turn settles it
            commit = asyncio.ensure_future(
                asyncio.to_thread(self.store.commit_chunk, job.job_id, start, results, self.clock())
            )
            if start + len(items) < job.request_count:
                self._commits[job.job_id] = _PendingCommit(start + len(items), commit)
                return
            updated = await commit
            if updated is None:
                return
            job = updated
        elif pending is not None:
            updated = await pending.task
            if updated is None:
                return
            job = updated
        if job.checkpoint >= job.request_count:
            await self._finish(job)
            self._resumed.discard(job.job_id)

    async def _settle(self, job_id: str) -> BatchJob | None:
        """Wait for the job's pending commit, if any; the job as it left it."""
        self.lookahead.drop(job_id)
        pending = self._commits.pop(job_id, None)
        return await pending.task if pending is not None else None

    async def _settle_all(self) -> None:
        self.lookahead.drop_all()
        for job_id in list(self._commits):
            with contextlib.suppress(Exception):
                await self._settle(job_id)

    async def _interruptible(
        self, task: asyncio.Future[list[ItemResult]], cancel_event: asyncio.Event
    ) -> list[ItemResult] | None:
        cancelled: asyncio.Future[Any] = asyncio.ensure_future(cancel_event.wait())
        waited: list[asyncio.Future[Any]] = [task, cancelled]
        try:
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
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
            output = await asyncio.to_thread(write_output, self.store, self.files, job)
        done = await asyncio.to_thread(
            transition, self.store, job, BatchState.SUCCEEDED, self.clock(), output_file=output
        )
        if done is not None:
            log.info("batches/%s succeeded: %d embedded, %d failed", job.job_id, done.succeeded, done.failed)
            if output is not None:
                await asyncio.to_thread(self.store.drop_items, job.job_id)

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
