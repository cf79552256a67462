"""FileStore on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from omnivec.storage.interfaces import DuplicateName, OverQuota, TooManySessions
from omnivec.storage.records import FileSource, StoredFile, UploadSession
from omnivec.storage.sqlite_db import SqliteDatabase, from_us, to_us

_FILE_COLUMNS = ", ".join(
    [
        *("owner", "file_id", "display_name", "mime_type", "size_bytes", "sha256_hex", "blob_id"),
        *("source", "create_us", "update_us", "expire_us"),
    ]
)
_SESSION_COLUMNS = ", ".join(
    [
        *("upload_id", "owner", "file_id", "display_name", "mime_type", "declared_size", "received"),
        *("blob_id", "create_us", "expire_us"),
    ]
)


class SqliteFileStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def initialized(self) -> bool:
        return self.db.exists()

    def add(self, record: StoredFile, *, quota_bytes: int | None = None, replace: bool = False) -> None:
        self.db.write(lambda conn: _add(conn, record, quota_bytes, replace))

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE owner = ? AND file_id = ?", (owner, file_id)
            ).fetchone()
        )
        return _file(row) if row else None

    def list_files(self, owner: str, offset: int, limit: int) -> list[StoredFile]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE owner = ? "
                "ORDER BY create_us DESC, file_id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()
        )
        return [_file(r) for r in rows]

    def remove(self, owner: str, file_id: str) -> StoredFile | None:
        def run(conn: sqlite3.Connection) -> StoredFile | None:
            row = conn.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE owner = ? AND file_id = ?", (owner, file_id)
            ).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM files WHERE owner = ? AND file_id = ?", (owner, file_id))
            return _file(row)

        return self.db.write(run)

    def total_bytes(self, owner: str) -> int:
        return self.db.read(lambda c: _total(c, owner))

    def expired(self, now: datetime, limit: int) -> list[StoredFile]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE expire_us <= ? ORDER BY expire_us LIMIT ?",
                (to_us(now), limit),
            ).fetchall()
        )
        return [_file(r) for r in rows]

    def blob_ids(self) -> set[str]:
        def run(conn: sqlite3.Connection) -> set[str]:
            ids = {r[0] for r in conn.execute("SELECT blob_id FROM files")}
            ids.update(r[0] for r in conn.execute("SELECT blob_id FROM upload_sessions"))
            ids.update(r[0] for r in conn.execute("SELECT blob_id FROM store_documents"))
            return ids

        return self.db.read(run)

    def open_session(
        self, session: UploadSession, *, quota_bytes: int | None = None, max_sessions: int | None = None
    ) -> None:
        s = session

        def run(c: sqlite3.Connection) -> Any:
            if max_sessions is not None:
                (count,) = c.execute(
                    "SELECT count(*) FROM upload_sessions WHERE owner = ?", (s.owner,)
                ).fetchone()
                if int(count) >= max_sessions:
                    raise TooManySessions(s.owner)
            if quota_bytes is not None and _total(c, s.owner) + (s.declared_size or 0) > quota_bytes:
                raise OverQuota(s.file_id)
            return c.execute(
                f"INSERT INTO upload_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.upload_id,
                    s.owner,
                    s.file_id,
                    s.display_name,
                    s.mime_type,
                    s.declared_size,
                    s.received,
                    s.blob_id,
                    to_us(s.create_time),
                    to_us(s.expire_time),
                ),
            )

        self.db.write(run)

    def session(self, upload_id: str) -> UploadSession | None:
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_SESSION_COLUMNS} FROM upload_sessions WHERE upload_id = ?", (upload_id,)
            ).fetchone()
        )
        return _session(row) if row else None

    def advance_session(self, upload_id: str, expected: int, received: int) -> bool:
        cursor = self.db.write(
            lambda c: c.execute(
                "UPDATE upload_sessions SET received = ? WHERE upload_id = ? AND received = ?",
                (received, upload_id, expected),
            )
        )
        return cursor.rowcount == 1

    def close_session(self, upload_id: str) -> UploadSession | None:
        def run(conn: sqlite3.Connection) -> UploadSession | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM upload_sessions WHERE upload_id = ?", (upload_id,)
            ).fetchone()
            conn.execute("DELETE FROM upload_sessions WHERE upload_id = ?", (upload_id,))
            return _session(row) if row else None

        return self.db.write(run)

    def finish_session(self, upload_id: str, record: StoredFile, *, quota_bytes: int | None) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM upload_sessions WHERE upload_id = ?", (upload_id,))
            _add(conn, record, quota_bytes, replace=False)

        self.db.write(run)

    def expired_sessions(self, now: datetime, limit: int) -> list[UploadSession]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_SESSION_COLUMNS} FROM upload_sessions WHERE expire_us <= ? "
                "ORDER BY expire_us LIMIT ?",
                (to_us(now), limit),
            ).fetchall()
        )
        return [_session(r) for r in rows]


def _total(conn: sqlite3.Connection, owner: str) -> int:
    """The owner's stored bytes: files, unfinished uploads (their declared size), and the source
    bytes of search-store documents (one quota)."""
    row = conn.execute(
        "SELECT (SELECT COALESCE(SUM(size_bytes), 0) FROM files WHERE owner = ?) + "
        "(SELECT COALESCE(SUM(COALESCE(declared_size, received)), 0) FROM upload_sessions WHERE owner = ?) + "
        "(SELECT COALESCE(SUM(size_bytes), 0) FROM store_documents WHERE owner = ?)",
        (owner, owner, owner),
    ).fetchone()
    return int(row[0])


def _add(conn: sqlite3.Connection, r: StoredFile, quota_bytes: int | None, replace: bool) -> None:
    existing = conn.execute(
        "SELECT size_bytes FROM files WHERE owner = ? AND file_id = ?", (r.owner, r.file_id)
    ).fetchone()
    if existing is not None and not replace:
        raise DuplicateName(r.file_id)
    if quota_bytes is not None:
        freed = int(existing[0]) if existing is not None else 0
        if _total(conn, r.owner) - freed + r.size_bytes > quota_bytes:
            raise OverQuota(r.file_id)
    conn.execute(
        f"INSERT OR REPLACE INTO files ({_FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.owner,
            r.file_id,
            r.display_name,
            r.mime_type,
            r.size_bytes,
            r.sha256_hex,
            r.blob_id,
            r.source.value,
            to_us(r.create_time),
            to_us(r.update_time),
            to_us(r.expire_time),
        ),
    )


def _file(row: Any) -> StoredFile:
    owner, file_id, display, mime, size, sha, blob, source, created, updated, expires = row
    return StoredFile(
        owner=str(owner),
        file_id=str(file_id),
        display_name=str(display),
        mime_type=str(mime),
        size_bytes=int(size),
        sha256_hex=str(sha),
        blob_id=str(blob),
        source=FileSource(source),
        create_time=from_us(int(created)),
        update_time=from_us(int(updated)),
        expire_time=from_us(int(expires)),
    )


def _session(row: Any) -> UploadSession:
    upload_id, owner, file_id, display, mime, declared, received, blob, created, expires = row
    return UploadSession(
        upload_id=str(upload_id),
        owner=str(owner),
        file_id=str(file_id),
        display_name=str(display),
        mime_type=str(mime),
        declared_size=None if declared is None else int(declared),
        received=int(received),
        blob_id=str(blob),
        create_time=from_us(int(created)),
        expire_time=from_us(int(expires)),
    )
