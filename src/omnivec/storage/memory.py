"""In-memory stores with the same contract as the durable ones (for tests and throwaway use).
Nothing survives the process."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from omnivec.storage.interfaces import BlobMissing, DuplicateName, OverQuota, TooManySessions
from omnivec.storage.local_blobs import check_blob_id
from omnivec.storage.records import (
    BatchItem,
    BatchJob,
    ItemError,
    ItemResult,
    StoredFile,
    UploadSession,
    utc_now,
)
from omnivec.types import BatchState


class MemoryFileStore:
    def __init__(self) -> None:
        self._files: dict[tuple[str, str], StoredFile] = {}
        self._sessions: dict[str, UploadSession] = {}
        self._lock = threading.Lock()

    def initialized(self) -> bool:
        return True

    def add(self, record: StoredFile, *, quota_bytes: int | None = None, replace: bool = False) -> None:
        with self._lock:
            self._add(record, quota_bytes, replace)

    def _add(self, record: StoredFile, quota_bytes: int | None, replace: bool) -> None:
        key = (record.owner, record.file_id)
        existing = self._files.get(key)
        if existing is not None and not replace:
            raise DuplicateName(record.file_id)
        if quota_bytes is not None:
            freed = existing.size_bytes if existing else 0
            if self._total(record.owner) - freed + record.size_bytes > quota_bytes:
                raise OverQuota(record.file_id)
        self._files[key] = record

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.get((owner, file_id))

    def list_files(self, owner: str, offset: int, limit: int) -> list[StoredFile]:
        with self._lock:
            mine = [f for (o, _), f in self._files.items() if o == owner]
        mine.sort(key=lambda f: f.file_id)
        mine.sort(key=lambda f: f.create_time, reverse=True)
        return mine[offset : offset + limit]

    def remove(self, owner: str, file_id: str) -> StoredFile | None:
        with self._lock:
            return self._files.pop((owner, file_id), None)

    def total_bytes(self, owner: str) -> int:
        with self._lock:
            return self._total(owner)

    def _total(self, owner: str) -> int:
        stored = sum(f.size_bytes for (o, _), f in self._files.items() if o == owner)
        pending = sum(
            s.declared_size if s.declared_size is not None else s.received
            for s in self._sessions.values()
            if s.owner == owner
        )
        return stored + pending

    def expired(self, now: datetime, limit: int) -> list[StoredFile]:
        with self._lock:
            due = [f for f in self._files.values() if f.expire_time <= now]
        return sorted(due, key=lambda f: f.expire_time)[:limit]

    def blob_ids(self) -> set[str]:
        with self._lock:
            return {f.blob_id for f in self._files.values()} | {s.blob_id for s in self._sessions.values()}

    def open_session(
        self, session: UploadSession, *, quota_bytes: int | None = None, max_sessions: int | None = None
    ) -> None:
        with self._lock:
            if session.upload_id in self._sessions:
                raise ValueError("duplicate upload id")
            mine = sum(1 for s in self._sessions.values() if s.owner == session.owner)
            if max_sessions is not None and mine >= max_sessions:
                raise TooManySessions(session.owner)
            if (
                quota_bytes is not None
                and self._total(session.owner) + (session.declared_size or 0) > quota_bytes
            ):
                raise OverQuota(session.file_id)
            self._sessions[session.upload_id] = session

    def session(self, upload_id: str) -> UploadSession | None:
        with self._lock:
            return self._sessions.get(upload_id)

    def advance_session(self, upload_id: str, expected: int, received: int) -> bool:
        with self._lock:
            session = self._sessions.get(upload_id)
            if session is None or session.received != expected:
                return False
            self._sessions[upload_id] = replace(session, received=received)
            return True

    def close_session(self, upload_id: str) -> UploadSession | None:
        with self._lock:
            return self._sessions.pop(upload_id, None)

    def finish_session(self, upload_id: str, record: StoredFile, *, quota_bytes: int | None) -> None:
        with self._lock:
            session = self._sessions.pop(upload_id, None)
            try:
                self._add(record, quota_bytes, replace=False)
            except BaseException:
                if session is not None:
                    self._sessions[upload_id] = session
                raise

    def expired_sessions(self, now: datetime, limit: int) -> list[UploadSession]:
        with self._lock:
            due = [s for s in self._sessions.values() if s.expire_time <= now]
        return sorted(due, key=lambda s: s.expire_time)[:limit]


class MemoryStagedBlob:
    def __init__(self, store: MemoryBlobStore, blob_id: str, offset: int) -> None:
        self._store = store
        self._blob_id = blob_id
        current = store._staged.get(blob_id, bytearray())
        self._data = bytearray(current[:offset])

    def write(self, data: bytes) -> None:
        self._data += data

    def commit(self) -> int:
        with self._store._lock:
            self._store._staged[self._blob_id] = bytearray(self._data)
            self._store._times[self._blob_id] = utc_now()
        return len(self._data)

    def close(self) -> None:
        return None


class MemoryBlobStore:
    def __init__(self) -> None:
        self._complete: dict[str, bytes] = {}
        self._staged: dict[str, bytearray] = {}
        self._times: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def write(self, blob_id: str, chunks: Iterable[bytes]) -> int:
        data = b"".join(chunks)
        with self._lock:
            self._complete[check_blob_id(blob_id)] = data
            self._times[blob_id] = utc_now()
        return len(data)

    def stage(self, blob_id: str, offset: int) -> MemoryStagedBlob:
        return MemoryStagedBlob(self, check_blob_id(blob_id), offset)

    def staged_size(self, blob_id: str) -> int | None:
        with self._lock:
            data = self._staged.get(blob_id)
            return None if data is None else len(data)

    def publish(self, blob_id: str) -> None:
        with self._lock:
            self._complete[blob_id] = bytes(self._staged.pop(blob_id))

    def read(self, blob_id: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        with self._lock:
            data = self._complete.get(blob_id)
        if data is None:
            raise BlobMissing(blob_id)
        return iter([data[i : i + chunk_size] for i in range(0, len(data), chunk_size)])

    def size(self, blob_id: str) -> int | None:
        with self._lock:
            data = self._complete.get(blob_id)
            return None if data is None else len(data)

    def delete(self, blob_id: str) -> None:
        with self._lock:
            self._complete.pop(blob_id, None)
            self._staged.pop(blob_id, None)
            self._times.pop(blob_id, None)

    def remove_temporaries(self) -> int:
        return 0  # blobs are written whole under the lock: there are none

    def ids(self) -> list[tuple[str, datetime]]:
        with self._lock:
            return [(b, self._times.get(b, utc_now())) for b in [*self._complete, *self._staged]]


class MemoryBatchStore:
    def __init__(self) -> None:
        self._jobs: dict[str, BatchJob] = {}
        self._items: dict[str, list[BatchItem]] = {}
        self._results: dict[str, dict[int, ItemResult]] = {}
        self._lock = threading.Lock()

    def initialized(self) -> bool:
        return True

    def create(self, job: BatchJob, items: Iterable[BatchItem]) -> BatchJob:
        stored_items = list(items)
        stored = replace(job, request_count=len(stored_items))
        with self._lock:
            if job.job_id in self._jobs:
                raise ValueError("duplicate job id")
            self._jobs[job.job_id] = stored
            self._items[job.job_id] = stored_items
            self._results[job.job_id] = {}
        return stored

    def get(self, owner: str, job_id: str) -> BatchJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.owner == owner else None

    def get_any(self, job_id: str) -> BatchJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list_jobs(self, owner: str, offset: int, limit: int) -> list[BatchJob]:
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner]
        mine.sort(key=lambda j: j.job_id)
        mine.sort(key=lambda j: j.create_time, reverse=True)
        return mine[offset : offset + limit]

    def delete(self, owner: str, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.owner != owner:
                return False
            del self._jobs[job_id]
            self._items.pop(job_id, None)
            self._results.pop(job_id, None)
            return True

    def drop_orphans(self) -> int:
        return 0  # a creation is stored whole under the lock: there are none

    def next_claimable(
        self, after_owner: str | None = None, skip: frozenset[str] = frozenset()
    ) -> BatchJob | None:
        with self._lock:
            open_jobs = [j for j in self._jobs.values() if not j.state.is_terminal and j.job_id not in skip]
        if not open_jobs:
            return None
        owners = sorted({j.owner for j in open_jobs})
        later = [o for o in owners if after_owner is None or o > after_owner]
        owner = (later or owners)[0]
        mine = [j for j in open_jobs if j.owner == owner]
        mine.sort(key=lambda j: (-j.priority, j.create_time, j.job_id))
        return mine[0]

    def fail(self, job_id: str, error: ItemError, now: datetime) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state.is_terminal:
                return False
            self._jobs[job_id] = replace(
                job, state=BatchState.FAILED, update_time=now, end_time=now, error=error
            )
            return True

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
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state != expected:
                return None
            job = replace(
                job,
                state=to,
                update_time=now,
                start_time=now if to is BatchState.RUNNING and job.start_time is None else job.start_time,
                end_time=now if to.is_terminal else job.end_time,
                error=error or job.error,
                output_file=output_file or job.output_file,
            )
            self._jobs[job_id] = job
            return job

    def request_cancel(self, job_id: str, now: datetime) -> bool:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state is not BatchState.RUNNING:
                return False
            self._jobs[job_id] = replace(job, cancel_requested=True, update_time=now)
            return True

    def overdue(self, now: datetime) -> list[BatchJob]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.state.is_terminal and j.expire_time <= now]

    def items(self, job_id: str, start: int, limit: int) -> list[BatchItem]:
        with self._lock:
            return list(self._items.get(job_id, [])[start : start + limit])

    def commit_chunk(
        self, job_id: str, start: int, results: Sequence[ItemResult], now: datetime
    ) -> BatchJob | None:
        succeeded = sum(1 for r in results if r.error is None)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state is not BatchState.RUNNING or job.checkpoint != start:
                return None
            for r in results:
                self._results[job_id][r.index] = r
            job = replace(
                job,
                checkpoint=job.checkpoint + len(results),
                succeeded=job.succeeded + succeeded,
                failed=job.failed + len(results) - succeeded,
                update_time=now,
            )
            self._jobs[job_id] = job
            return job

    def results(self, job_id: str, start: int, limit: int) -> list[tuple[BatchItem, ItemResult]]:
        with self._lock:
            done = self._results.get(job_id, {})
            items = [i for i in self._items.get(job_id, []) if i.index >= start and i.index in done]
            items = items[:limit]
            return [(replace(i, payload=None), done[i.index]) for i in items]

    def drop_items(self, job_id: str) -> None:
        with self._lock:
            self._items[job_id] = []
            self._results[job_id] = {}


class ThreadLock:
    """An ExclusiveLock within one process (for the in-memory stores)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        if self._lock.locked():
            self._lock.release()
