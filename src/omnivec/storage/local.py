"""The durable stores of one data directory, opened together."""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from omnivec.errors import FailedPrecondition
from omnivec.logging import get_logger
from omnivec.storage.interfaces import BatchStore, BlobStore, ExclusiveLock, FileStore
from omnivec.storage.local_blobs import LocalBlobStore
from omnivec.storage.memory import MemoryBatchStore, MemoryBlobStore, MemoryFileStore, ThreadLock
from omnivec.storage.sqlite_batches import SqliteBatchStore
from omnivec.storage.sqlite_db import SqliteDatabase
from omnivec.storage.sqlite_files import SqliteFileStore
from omnivec.storage.sqlite_search_stores import SqliteSearchStoreStore

log = get_logger(__name__)


class DataDirLock:
    """An OS file lock (released by the OS when the process dies, even on SIGKILL)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock: FileLock | None = None

    def acquire(self) -> bool:
        if self._lock is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(self._path, thread_local=False)
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def release(self) -> None:
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()


@dataclass
class Stores:
    files: FileStore
    blobs: BlobStore
    batches: BatchStore
    worker_lock: ExclusiveLock
    database: SqliteDatabase | None = None
    # File Search stores need SQLite (their documents share its quota with the files).
    search_stores: SqliteSearchStoreStore | None = None

    def close(self) -> None:
        if self.database is not None:
            self.database.close()


def open_local(data_dir: Path) -> Stores:
    """SQLite and a blob directory under ``data_dir``; nothing is created until first written."""
    db = SqliteDatabase(data_dir / "omnivec.db")
    return Stores(
        files=SqliteFileStore(db),
        blobs=LocalBlobStore(data_dir / "blobs"),
        batches=SqliteBatchStore(db),
        worker_lock=DataDirLock(data_dir / "worker.lock"),
        database=db,
        search_stores=SqliteSearchStoreStore(db),
    )


def open_memory() -> Stores:
    return Stores(MemoryFileStore(), MemoryBlobStore(), MemoryBatchStore(), ThreadLock())


def check_writable(data_dir: Path) -> None:
    """Fail at start-up, with the reason, when the data directory cannot be written (read-only,
    not permitted): otherwise every upload and batch would fail later, one by one. A full one
    is only logged: online embedding needs no disk, and writes heal once space is freed."""
    probe = data_dir / f".write-probe-{os.getpid()}"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as f:
            f.write(b"omnivec")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # A full disk refuses writes, each with a clear 429, and heals when space is freed;
            # it is no reason to take online embedding (which writes nothing) down with it.
            log.warning(
                "the data directory %s is full: files and batch jobs are refused until space is freed",
                data_dir,
            )
            return
        raise FailedPrecondition(
            f"The data directory {data_dir} is not writable ({exc.strerror or exc}). "
            "Free space or permissions there, or choose another with --data-dir (OMNIVEC_DATA_DIR)."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
