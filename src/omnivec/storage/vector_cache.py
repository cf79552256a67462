"""The persistent tier of the embedding cache: one SQLite table of key -> packed vector,
bounded in bytes (the oldest entries go first)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class SqliteVectorCache:
    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a lost entry after a crash is only a miss
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (seq INTEGER PRIMARY KEY, key BLOB UNIQUE, value BLOB)"
        )
        self._bytes = int(
            self._db.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM vectors").fetchone()[0]
        )

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM vectors WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def put(self, key: bytes, value: bytes) -> None:
        with self._lock:
            old = self._db.execute("SELECT LENGTH(value) FROM vectors WHERE key = ?", (key,)).fetchone()
            self._db.execute("INSERT OR REPLACE INTO vectors (key, value) VALUES (?, ?)", (key, value))
            self._bytes += len(value) - (int(old[0]) if old else 0)
            while self._bytes > self.max_bytes:
                row = self._db.execute(
                    "SELECT seq, LENGTH(value) FROM vectors ORDER BY seq LIMIT 1"
                ).fetchone()
                if row is None:
                    break
                self._db.execute("DELETE FROM vectors WHERE seq = ?", (row[0],))
                self._bytes -= int(row[1])

    def close(self) -> None:
        with self._lock:
            self._db.close()
