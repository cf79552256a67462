"""One SQLite database file shared by the file and batch stores.

WAL with ``synchronous=FULL``: a committed transaction has been fsynced, so a write the server
acknowledged survives a crash or power loss. One connection guarded by a lock: the worker and
request handlers (on ``asyncio.to_thread`` threads) take turns; each call is short.
The file is created on first use, so a server that never stores anything writes nothing.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from omnivec.storage.migrations import migrate

T = TypeVar("T")


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def exists(self) -> bool:
        return self._conn is not None or self.path.exists()

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            return fn(self._connection())

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction; committed (and fsynced) when this returns."""
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            migrate(conn)
            self._conn = conn
        return self._conn


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
