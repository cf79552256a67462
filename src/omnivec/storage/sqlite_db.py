"""One SQLite database file shared by the file and batch stores.

WAL with ``synchronous=FULL``: a committed transaction has been fsynced, so a write the server
acknowledged survives a crash or power loss. Writes go through one connection guarded by a
lock (the worker and request handlers, on ``asyncio.to_thread`` threads, take turns); reads use
one connection per thread, so under WAL they never wait for a long write (a large batch being
stored). The file is created on first use, so a server that never stores anything writes nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from omnivec.storage.failures import StorageFull, storage_errors, translate
from omnivec.storage.migrations import migrate

T = TypeVar("T")
# Free pages given back per step of ``compact`` (4 MiB of 4 KiB pages).
_VACUUM_PAGES = 1024


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._generation = 0  # bumped by close(), so threads reopen their read connection

    def exists(self) -> bool:
        return self._conn is not None or self.path.exists()

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with storage_errors():
            return fn(self._reader())

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction; committed (and fsynced) when this returns."""
        with self._lock, storage_errors():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                # A COMMIT that failed (a full disk) may leave the transaction open: close it,
                # or every later write would fail, even once there is space again.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                if isinstance(translate(exc), StorageFull):
                    # The rolled-back pages still fill the WAL file: give the disk space back.
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                raise
            return result

    def compact(self) -> int:
        """Give space freed by deletes back to the file system: free pages (a bounded number
        per transaction, so other writes never wait long), then the WAL file, truncated to
        nothing once checkpointed. Returns the pages freed."""
        if not self.exists():
            return 0
        freed = 0
        while True:
            with self._lock, storage_errors():
                conn = self._connection()
                free = int(conn.execute("PRAGMA freelist_count").fetchall()[0][0])
                if free == 0 or int(conn.execute("PRAGMA auto_vacuum").fetchall()[0][0]) != 2:  # incremental
                    break
                # executescript steps the pragma to its end; execute() would free one page.
                conn.executescript(f"PRAGMA incremental_vacuum({_VACUUM_PAGES});")
            freed += min(free, _VACUUM_PAGES)
        with self._lock, storage_errors(), contextlib.suppress(sqlite3.OperationalError):
            self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return freed

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            with self._readers_lock:
                for reader in self._readers:
                    reader.close()
                self._readers.clear()
                self._generation += 1

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path, check_same_thread=False)
            # Pages freed by deletes can be given back to the file system a few at a time (takes
            # effect in a new database, before the WAL switch writes its header; an older one
            # keeps its free pages for reuse).
            conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            migrate(conn)
            self._conn = conn
        return self._conn

    def _reader(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "generation", None) != self._generation or local.conn is None:
            if self._conn is None:
                with self._lock:
                    self._connection()  # creates the file and brings the schema up to date first
            local.conn = _connect(self.path, check_same_thread=False)
            local.generation = self._generation
            with self._readers_lock:
                self._readers.append(local.conn)
        conn: sqlite3.Connection = local.conn
        return conn


def _connect(path: Path, *, check_same_thread: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=check_same_thread, timeout=30)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def to_us(value: datetime) -> int:
    """Timestamps are stored as integer microseconds since the epoch (UTC): exact round trips."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value // 1_000_000, UTC).replace(microsecond=value % 1_000_000)


def opt_us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def opt_from_us(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
