"""SearchStoreStore on SQLite: File Search stores, their documents, and the chunk-vector cache.

Documents share the data directory's quota with the Files API: a document's source bytes count
like a file's, and the quota check and the insert are one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from omnivec.storage.interfaces import OverQuota
from omnivec.storage.sqlite_db import SqliteDatabase, from_us, to_us
from omnivec.types import ChunkingConfig, DocumentState, MetadataEntry, SearchStore, StoreDocument

_STORE_COLUMNS = "store_id, owner, display_name, model, embedding_model, create_us, update_us"
_DOC_COLUMNS = ", ".join(
    [
        *("store_id", "document_id", "owner", "display_name", "mime_type", "size_bytes", "sha256_hex"),
        *("blob_id", "origin", "state", "custom_metadata", "max_tokens_per_chunk", "max_overlap_tokens"),
        *("chunk_count", "error", "create_us", "update_us"),
    ]
)
# Per store: documents by state and their bytes, in one pass.
_COUNTS = (
    "SELECT state, COUNT(*), COALESCE(SUM(size_bytes), 0) FROM store_documents "
    "WHERE store_id = ? GROUP BY state"
)


class SqliteSearchStoreStore:
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    def initialized(self) -> bool:
        return self.db.exists()

    # --- stores ---------------------------------------------------------------------------
    def create_store(self, store: SearchStore) -> None:
        s = store
        self.db.write(
            lambda c: c.execute(
                f"INSERT INTO search_stores ({_STORE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    s.store_id,
                    s.owner,
                    s.display_name,
                    s.model,
                    s.embedding_model or s.model,
                    to_us(s.create_time),
                    to_us(s.update_time),
                ),
            )
        )

    def get_store(self, owner: str | None, store_id: str) -> SearchStore | None:
        """The store, for ``owner`` only (None: any owner, for the ingestion worker)."""

        def run(conn: sqlite3.Connection) -> SearchStore | None:
            row = conn.execute(
                f"SELECT {_STORE_COLUMNS} FROM search_stores WHERE store_id = ?", (store_id,)
            ).fetchone()
            if row is None or (owner is not None and row[1] != owner):
                return None
            return _store(conn, row)

        return self.db.read(run)

    def list_stores(self, owner: str, offset: int, limit: int) -> list[SearchStore]:
        """Oldest first."""

        def run(conn: sqlite3.Connection) -> list[SearchStore]:
            rows = conn.execute(
                f"SELECT {_STORE_COLUMNS} FROM search_stores WHERE owner = ? "
                "ORDER BY create_us, store_id LIMIT ? OFFSET ?",
                (owner, limit, offset),
            ).fetchall()
            return [_store(conn, r) for r in rows]

        return self.db.read(run)

    def remove_store(self, owner: str, store_id: str) -> list[StoreDocument] | None:
        """Forget a store and its documents in one transaction; returns the documents (their
        blobs and points are the caller's to remove), or None when there was no such store."""

        def run(conn: sqlite3.Connection) -> list[StoreDocument] | None:
            row = conn.execute("SELECT owner FROM search_stores WHERE store_id = ?", (store_id,)).fetchone()
            if row is None or row[0] != owner:
                return None
            docs = [
                _document(r)
                for r in conn.execute(
                    f"SELECT {_DOC_COLUMNS} FROM store_documents WHERE store_id = ?", (store_id,)
                )
            ]
            conn.execute("DELETE FROM store_documents WHERE store_id = ?", (store_id,))
            conn.execute("DELETE FROM search_stores WHERE store_id = ?", (store_id,))
            return docs

        return self.db.write(run)

    # --- documents --------------------------------------------------------------------------
    def add_document(self, doc: StoreDocument, *, quota_bytes: int | None) -> None:
        """Insert a document; raises OverQuota when the owner's files and documents together
        would pass ``quota_bytes``."""

        self.db.write(lambda conn: _insert_document(conn, doc, quota_bytes))

    def get_document(self, owner: str | None, store_id: str, document_id: str) -> StoreDocument | None:
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_DOC_COLUMNS} FROM store_documents WHERE store_id = ? AND document_id = ?",
                (store_id, document_id),
            ).fetchone()
        )
        if row is None:
            return None
        doc = _document(row)
        return doc if owner is None or doc.owner == owner else None

    def get_documents(self, store_id: str, document_ids: Sequence[str]) -> dict[str, StoreDocument]:
        ids = list(dict.fromkeys(document_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_DOC_COLUMNS} FROM store_documents WHERE store_id = ? AND document_id IN ({marks})",
                (store_id, *ids),
            ).fetchall()
        )
        return {d.document_id: d for d in map(_document, rows)}

    def list_documents(self, store_id: str, offset: int, limit: int) -> list[StoreDocument]:
        """Oldest first."""
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_DOC_COLUMNS} FROM store_documents WHERE store_id = ? "
                "ORDER BY seq LIMIT ? OFFSET ?",
                (store_id, limit, offset),
            ).fetchall()
        )
        return [_document(r) for r in rows]

    def documents_named(self, store_id: str, display_name: str) -> list[StoreDocument]:
        rows = self.db.read(
            lambda c: c.execute(
                f"SELECT {_DOC_COLUMNS} FROM store_documents "
                "WHERE store_id = ? AND display_name = ? ORDER BY seq",
                (store_id, display_name),
            ).fetchall()
        )
        return [_document(r) for r in rows]

    def remove_document(self, owner: str, store_id: str, document_id: str) -> StoreDocument | None:
        def run(conn: sqlite3.Connection) -> StoreDocument | None:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM store_documents WHERE store_id = ? AND document_id = ?",
                (store_id, document_id),
            ).fetchone()
            if row is None or row[2] != owner:
                return None
            conn.execute(
                "DELETE FROM store_documents WHERE store_id = ? AND document_id = ?", (store_id, document_id)
            )
            return _document(row)

        return self.db.write(run)

    def next_pending(self, after: int = 0) -> tuple[int, StoreDocument] | None:
        """The oldest PENDING document after position ``after``, with its position."""
        row = self.db.read(
            lambda c: c.execute(
                f"SELECT {_DOC_COLUMNS}, seq FROM store_documents "
                "WHERE state = ? AND seq > ? ORDER BY seq LIMIT 1",
                (DocumentState.PENDING.value, after),
            ).fetchone()
        )
        return (int(row[-1]), _document(row[:-1])) if row else None

    def finish_document(
        self,
        store_id: str,
        document_id: str,
        state: DocumentState,
        now: datetime,
        *,
        chunk_count: int = 0,
        error: str | None = None,
    ) -> bool:
        """Move a PENDING document to ACTIVE or FAILED; False when it is gone or not PENDING."""
        cursor = self.db.write(
            lambda c: c.execute(
                "UPDATE store_documents SET state = ?, chunk_count = ?, error = ?, update_us = ? "
                "WHERE store_id = ? AND document_id = ? AND state = ?",
                (
                    state.value,
                    chunk_count,
                    error,
                    to_us(now),
                    store_id,
                    document_id,
                    DocumentState.PENDING.value,
                ),
            )
        )
        return bool(cursor.rowcount == 1)

    def total_bytes(self, owner: str) -> int:
        """The owner's files and documents together (the one storage quota)."""
        return self.db.read(lambda c: _owner_bytes(c, owner))

    # --- uploads in progress -------------------------------------------------------------------
    def open_upload(self, upload_id: str, doc: StoreDocument) -> None:
        """Remember the document a resumable upload will become (its bytes are not known yet)."""
        row = json.dumps(_document_row(doc))
        self.db.write(
            lambda c: c.execute(
                "INSERT INTO store_uploads (upload_id, owner, store_id, document) VALUES (?, ?, ?, ?)",
                (upload_id, doc.owner, doc.store_id, row),
            )
        )

    def upload(self, upload_id: str) -> StoreDocument | None:
        row = self.db.read(
            lambda c: c.execute(
                "SELECT document FROM store_uploads WHERE upload_id = ?", (upload_id,)
            ).fetchone()
        )
        return _document(json.loads(row[0])) if row else None

    def finish_upload(
        self, upload_id: str, file_id: str, doc: StoreDocument, *, quota_bytes: int | None
    ) -> None:
        """In one transaction: the upload ends, the file its bytes were received as is handed
        over to the document (same blob), and the document is added."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM store_uploads WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM files WHERE owner = ? AND file_id = ?", (doc.owner, file_id))
            _insert_document(conn, doc, quota_bytes)

        self.db.write(run)

    def close_upload(self, upload_id: str) -> None:
        self.db.write(lambda c: c.execute("DELETE FROM store_uploads WHERE upload_id = ?", (upload_id,)))

    # --- chunk vectors ------------------------------------------------------------------------
    def cached_vectors(self, keys: Sequence[str]) -> dict[str, bytes]:
        def run(conn: sqlite3.Connection) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for start in range(0, len(keys), 500):
                part = list(keys[start : start + 500])
                marks = ", ".join("?" * len(part))
                rows = conn.execute(f"SELECT key, vector FROM chunk_vectors WHERE key IN ({marks})", part)
                found.update((str(k), bytes(v)) for k, v in rows)
            return found

        return self.db.read(run)

    def cache_vectors(self, items: Iterable[tuple[str, bytes]]) -> None:
        rows = list(items)
        if rows:
            self.db.write(
                lambda c: c.executemany(
                    "INSERT OR REPLACE INTO chunk_vectors (key, vector) VALUES (?, ?)", rows
                )
            )


class StoreGone(Exception):
    """The document's store was deleted (an upload finished after its store went away)."""


def _insert_document(conn: sqlite3.Connection, doc: StoreDocument, quota_bytes: int | None) -> None:
    if conn.execute("SELECT 1 FROM search_stores WHERE store_id = ?", (doc.store_id,)).fetchone() is None:
        raise StoreGone(doc.store_id)
    if quota_bytes is not None and _owner_bytes(conn, doc.owner) + doc.size_bytes > quota_bytes:
        raise OverQuota(doc.document_id)
    seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM store_documents").fetchone()[0]
    conn.execute(
        f"INSERT INTO store_documents ({_DOC_COLUMNS}, seq) VALUES ({', '.join('?' * 18)})",
        (*_document_row(doc), seq),
    )
    conn.execute(
        "UPDATE search_stores SET update_us = ? WHERE store_id = ?", (to_us(doc.update_time), doc.store_id)
    )


def _owner_bytes(conn: sqlite3.Connection, owner: str) -> int:
    files = conn.execute(
        "SELECT COALESCE(SUM(size_bytes), 0) FROM files WHERE owner = ?", (owner,)
    ).fetchone()
    docs = conn.execute(
        "SELECT COALESCE(SUM(size_bytes), 0) FROM store_documents WHERE owner = ?", (owner,)
    ).fetchone()
    return int(files[0]) + int(docs[0])


def _store(conn: sqlite3.Connection, row: Any) -> SearchStore:
    store_id, owner, display, model, asked, created, updated = row
    counts = {state: (int(n), int(size)) for state, n, size in conn.execute(_COUNTS, (store_id,))}
    return SearchStore(
        owner=str(owner),
        store_id=str(store_id),
        display_name=str(display),
        model=str(model),
        embedding_model=str(asked),
        create_time=from_us(int(created)),
        update_time=from_us(int(updated)),
        active_documents=counts.get(DocumentState.ACTIVE.value, (0, 0))[0],
        pending_documents=counts.get(DocumentState.PENDING.value, (0, 0))[0],
        failed_documents=counts.get(DocumentState.FAILED.value, (0, 0))[0],
        size_bytes=sum(size for _, size in counts.values()),
    )


def _document_row(d: StoreDocument) -> tuple[Any, ...]:
    return (
        d.store_id,
        d.document_id,
        d.owner,
        d.display_name,
        d.mime_type,
        d.size_bytes,
        d.sha256_hex,
        d.blob_id,
        d.origin,
        d.state.value,
        json.dumps(
            [[e.key, list(e.value) if isinstance(e.value, tuple) else e.value] for e in d.custom_metadata]
        ),
        d.chunking.max_tokens_per_chunk,
        d.chunking.max_overlap_tokens,
        d.chunk_count,
        d.error,
        to_us(d.create_time),
        to_us(d.update_time),
    )


def _document(row: Any) -> StoreDocument:
    (store_id, doc_id, owner, display, mime, size, sha, blob, origin, state, meta) = row[:11]
    (max_tokens, overlap, chunks, error, created, updated) = row[11:17]
    entries = tuple(
        MetadataEntry(str(k), tuple(v) if isinstance(v, list) else v) for k, v in json.loads(meta)
    )
    return StoreDocument(
        owner=str(owner),
        store_id=str(store_id),
        document_id=str(doc_id),
        display_name=str(display),
        mime_type=str(mime),
        size_bytes=int(size),
        sha256_hex=str(sha),
        blob_id=str(blob),
        origin=str(origin),
        state=DocumentState(state),
        custom_metadata=entries,
        chunking=ChunkingConfig(max_tokens, overlap),
        create_time=from_us(int(created)),
        update_time=from_us(int(updated)),
        chunk_count=int(chunks),
        error=None if error is None else str(error),
    )
