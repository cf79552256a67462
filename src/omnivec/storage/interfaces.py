"""The storage interfaces. Small on purpose, so a server database can replace SQLite.

Every method is synchronous and thread-safe: callers on the event loop run them with
``asyncio.to_thread``. A method that writes returns only once the write is durable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

from omnivec.storage.records import (
    BatchItem,
    BatchJob,
    ItemError,
    ItemResult,
    StoredFile,
    UploadSession,
)
from omnivec.types import BatchState


class DuplicateName(Exception):
    """A file of that name already exists for that owner."""


class OverQuota(Exception):
    """Adding the file would take the owner's stored bytes over the quota."""


class TooManySessions(Exception):
    """The owner already has as many unfinished upload sessions as it may."""


class BlobMissing(Exception):
    """No blob of that id."""


class FileStore(Protocol):
    """File metadata and the resumable-upload sessions that create files."""

    def initialized(self) -> bool:
        """Whether anything was ever stored (no I/O beyond a stat). False means: no files."""
        ...

    def add(self, record: StoredFile, *, quota_bytes: int | None = None, replace: bool = False) -> None:
        """Store a new file. Raises DuplicateName (unless ``replace``) or OverQuota; the quota
        check and the insert are one atomic step."""
        ...

    def get(self, owner: str, file_id: str) -> StoredFile | None: ...

    def list_files(self, owner: str, offset: int, limit: int) -> list[StoredFile]:
        """Newest first."""
        ...

    def remove(self, owner: str, file_id: str) -> StoredFile | None: ...

    def total_bytes(self, owner: str) -> int:
        """Bytes the owner's files hold plus those its unfinished uploads declared (or, without a
        declared size, have received): what counts against its quota."""
        ...

    def expired(self, now: datetime, limit: int) -> list[StoredFile]: ...

    def blob_ids(self) -> set[str]:
        """Every blob id a file or an upload session refers to."""
        ...

    def open_session(
        self, session: UploadSession, *, quota_bytes: int | None = None, max_sessions: int | None = None
    ) -> None:
        """Open a session, in one transaction with the checks: the owner's stored bytes plus its
        sessions' (declared, else received) may not pass ``quota_bytes`` (OverQuota), nor its
        open sessions ``max_sessions`` (TooManySessions)."""
        ...

    def session(self, upload_id: str) -> UploadSession | None: ...

    def advance_session(self, upload_id: str, expected: int, received: int) -> bool:
        """Record that ``received`` bytes are staged, if ``expected`` still is the count."""
        ...

    def close_session(self, upload_id: str) -> UploadSession | None:
        """Forget a session (cancelled or expired); returns it, or None if there was none."""
        ...

    def finish_session(self, upload_id: str, record: StoredFile, *, quota_bytes: int | None) -> None:
        """In one transaction: the session ends and its file is added (DuplicateName, OverQuota)."""
        ...

    def expired_sessions(self, now: datetime, limit: int) -> list[UploadSession]: ...


class StagedBlob(Protocol):
    """A blob being written in pieces (a resumable upload): nothing is durable before ``commit``."""

    def write(self, data: bytes) -> None: ...

    def commit(self) -> int:
        """Make everything written durable; returns the staged size."""
        ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """Immutable byte blobs named by server-generated ids, plus staging for partial uploads."""

    def write(self, blob_id: str, chunks: Iterable[bytes]) -> int:
        """Store a complete blob atomically (all or nothing) and durably; returns its size."""
        ...

    def stage(self, blob_id: str, offset: int) -> StagedBlob:
        """Open a staged blob to append at ``offset``; anything beyond it is discarded."""
        ...

    def staged_size(self, blob_id: str) -> int | None: ...

    def publish(self, blob_id: str) -> None:
        """A staged blob becomes a complete blob, atomically."""
        ...

    def read(self, blob_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of a complete blob; raises BlobMissing."""
        ...

    def size(self, blob_id: str) -> int | None: ...

    def delete(self, blob_id: str) -> None:
        """Remove a blob, complete or staged; a missing blob is not an error."""
        ...

    def remove_temporaries(self) -> int:
        """Remove the temporaries of blob writes a crash cut short; returns how many. Only while
        no blob is being written (at start, under the worker lock)."""
        ...

    def ids(self) -> list[tuple[str, datetime]]:
        """Every blob (complete or staged) with its last modification time."""
        ...


class BatchStore(Protocol):
    """Batch jobs and their items (inputs, then results). Progress moves only through
    ``commit_chunk``, which writes a chunk's results and the new checkpoint in one transaction."""

    def initialized(self) -> bool: ...

    def create(self, job: BatchJob, items: Iterable[BatchItem]) -> BatchJob:
        """Store a job and all its items; ``request_count`` is taken from the items. The items
        go in first, in small transactions (other writes never wait long), and the job last,
        so a job is never seen half stored. Items of a creation that failed are removed; those
        of one a crash cut short are removed by ``drop_orphans``. Returns the stored job."""
        ...

    def drop_orphans(self) -> int:
        """Remove items no job refers to (a creation cut short); returns how many. Only while
        no creation is under way (at start, under the worker lock)."""
        ...

    def get(self, owner: str, job_id: str) -> BatchJob | None: ...

    def get_any(self, job_id: str) -> BatchJob | None:
        """For the worker, which serves every owner."""
        ...

    def list_jobs(self, owner: str, offset: int, limit: int) -> list[BatchJob]:
        """Newest first."""
        ...

    def delete(self, owner: str, job_id: str) -> bool:
        """Remove a job and its items."""
        ...

    def next_claimable(
        self, after_owner: str | None = None, skip: frozenset[str] = frozenset()
    ) -> BatchJob | None:
        """The unfinished job (PENDING, or RUNNING) to work on next: owners take turns in
        order of name, starting after ``after_owner`` and wrapping around; within an owner,
        highest priority first, then oldest. Jobs in ``skip`` are passed over."""
        ...

    def fail(self, job_id: str, error: ItemError, now: datetime) -> bool:
        """Mark an unfinished job FAILED with ``error`` without reading it back (it may be
        unreadable); False when it was not unfinished."""
        ...

    def transition(
        self,
        job_id: str,
        expected: BatchState,
        to: BatchState,
        now: datetime,
        *,
        error: ItemError | None = None,
        output_file: str | None = None,
    ) -> BatchJob | None:
        """Move a job from ``expected`` to ``to`` if it still is in ``expected`` (compare and
        set); sets start/end times. Returns the updated job, or None when it was not in
        ``expected`` (or is gone). Legality of the move is the caller's business."""
        ...

    def request_cancel(self, job_id: str, now: datetime) -> bool:
        """Flag a RUNNING job for cancellation by whichever worker runs it."""
        ...

    def overdue(self, now: datetime) -> list[BatchJob]:
        """Unfinished jobs whose expire_time has passed."""
        ...

    def items(self, job_id: str, start: int, limit: int) -> list[BatchItem]: ...

    def commit_chunk(
        self, job_id: str, start: int, results: Sequence[ItemResult], now: datetime
    ) -> BatchJob | None:
        """Store the results of items ``start .. start+len(results)`` and move the checkpoint
        past them, in one transaction, only if the job is RUNNING with its checkpoint at
        ``start``. Returns the updated job, or None (the job moved on or is gone)."""
        ...

    def results(self, job_id: str, start: int, limit: int) -> list[tuple[BatchItem, ItemResult]]:
        """Stored results in item order, with the items' key and metadata."""
        ...

    def drop_items(self, job_id: str) -> None:
        """Forget a finished job's items (its results live on in an output file)."""
        ...


class ExclusiveLock(Protocol):
    """Only one process at a time may run batch jobs on a data directory."""

    def acquire(self) -> bool:
        """Take the lock if it is free (never blocks)."""
        ...

    def release(self) -> None: ...
