"""SQLite schema migrations: an ordered list of functions, applied in order, each in its own
transaction together with the bump of ``schema_version``. Never edit a released migration;
append a new one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _run(conn: sqlite3.Connection, script: str) -> None:
    # Statement by statement: executescript() would commit, breaking the migration's transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_initial(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE files (
            owner TEXT NOT NULL,
            file_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            sha256_hex TEXT NOT NULL,
            blob_id TEXT NOT NULL,
            source TEXT NOT NULL,
            create_us INTEGER NOT NULL,
            update_us INTEGER NOT NULL,
            expire_us INTEGER NOT NULL,
            PRIMARY KEY (owner, file_id)
        );
        CREATE INDEX files_by_expiry ON files (expire_us);
        CREATE INDEX files_by_age ON files (owner, create_us);

        CREATE TABLE upload_sessions (
            upload_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            file_id TEXT NOT NULL,
            display_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            declared_size INTEGER,
            received INTEGER NOT NULL,
            blob_id TEXT NOT NULL,
            create_us INTEGER NOT NULL,
            expire_us INTEGER NOT NULL
        );

        CREATE TABLE batch_jobs (
            job_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            model TEXT NOT NULL,
            display_name TEXT NOT NULL,
            priority INTEGER NOT NULL,
            state TEXT NOT NULL,
            input_file TEXT,
            request_count INTEGER NOT NULL,
            succeeded INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            checkpoint INTEGER NOT NULL,
            output_file TEXT,
            error_code INTEGER,
            error_status TEXT,
            error_message TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            create_us INTEGER NOT NULL,
            update_us INTEGER NOT NULL,
            start_us INTEGER,
            end_us INTEGER,
            expire_us INTEGER NOT NULL
        );
        CREATE INDEX batch_jobs_by_owner ON batch_jobs (owner, create_us);
        CREATE INDEX batch_jobs_claim ON batch_jobs (state, priority, create_us);

        CREATE TABLE batch_items (
            job_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            key TEXT,
            metadata BLOB,
            payload BLOB,
            input_error TEXT,
            done INTEGER NOT NULL DEFAULT 0,
            vector BLOB,
            token_count INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            PRIMARY KEY (job_id, idx)
        ) WITHOUT ROWID;
        """,
    )


def _v2_search_stores(conn: sqlite3.Connection) -> None:
    """File Search stores, their documents, and the vectors of embedded chunks (reused when the
    same chunk is ingested again, so the same content is embedded once)."""
    _run(
        conn,
        """
        CREATE TABLE search_stores (
            store_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            display_name TEXT NOT NULL,
            model TEXT NOT NULL,
            embedding_model TEXT NOT NULL,
            create_us INTEGER NOT NULL,
            update_us INTEGER NOT NULL
        );
        CREATE INDEX search_stores_by_owner ON search_stores (owner, create_us);

        CREATE TABLE store_documents (
            store_id TEXT NOT NULL,
            document_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            display_name TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            sha256_hex TEXT NOT NULL,
            blob_id TEXT NOT NULL,
            origin TEXT NOT NULL,
            state TEXT NOT NULL,
            custom_metadata TEXT NOT NULL,
            max_tokens_per_chunk INTEGER,
            max_overlap_tokens INTEGER,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            create_us INTEGER NOT NULL,
            update_us INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (store_id, document_id)
        );
        CREATE INDEX store_documents_by_age ON store_documents (store_id, seq);
        CREATE INDEX store_documents_pending ON store_documents (state, seq);

        CREATE TABLE store_uploads (
            upload_id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            store_id TEXT NOT NULL,
            document TEXT NOT NULL
        );

        CREATE TABLE chunk_vectors (
            key TEXT PRIMARY KEY,
            vector BLOB NOT NULL
        ) WITHOUT ROWID;
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_initial, _v2_search_stores]


class SchemaTooNew(Exception):
    """The database was written by a newer omnivec."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version now in place. ``conn`` must be in
    autocommit mode (isolation_level=None) so each step controls its own transaction."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = 0
    else:
        current = int(row[0])
    if current > len(MIGRATIONS):
        raise SchemaTooNew(
            f"the database has schema version {current}, newer than this omnivec knows ({len(MIGRATIONS)}); "
            "upgrade omnivec or use another data directory"
        )
    for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute("UPDATE schema_version SET version = ?", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
