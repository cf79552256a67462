"""What only the durable implementation has: reopening, schema migrations, atomic blob writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnivec.storage import migrations
from omnivec.storage.local import open_local
from omnivec.storage.local_blobs import LocalBlobStore, new_blob_id
from omnivec.storage.records import ItemResult
from omnivec.storage.sqlite_db import SqliteDatabase
from omnivec.types import BatchState
from tests.storage.test_contract import T0, a_file, a_job, items


def test_everything_survives_reopening(tmp_path: Path) -> None:
    stores = open_local(tmp_path)
    assert not stores.files.initialized()  # nothing is created before the first write
    stores.files.add(a_file())
    stores.batches.create(a_job(), items(2))
    stores.batches.transition("j1", BatchState.PENDING, BatchState.RUNNING, T0)
    stores.batches.commit_chunk("j1", 0, [ItemResult(0, b"\0" * 4, 1)], T0)
    stores.close()

    again = open_local(tmp_path)
    assert again.files.initialized()
    assert again.files.get("o1", "f1") == a_file(blob_id=again.files.get("o1", "f1").blob_id)  # type: ignore[union-attr]
    job = again.batches.get_any("j1")
    assert job is not None and job.state is BatchState.RUNNING and job.checkpoint == 1
    assert [r.index for _, r in again.batches.results("j1", 0, 10)] == [0]
    again.close()


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "x.db")
    version = db.read(lambda c: c.execute("SELECT version FROM schema_version").fetchone()[0])
    assert version == len(migrations.MIGRATIONS)
    db.close()


def test_new_migrations_run_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SqliteDatabase(tmp_path / "x.db").read(lambda c: None)
    calls: list[str] = []

    def v2(conn: sqlite3.Connection) -> None:
        calls.append("v2")
        conn.execute("ALTER TABLE files ADD COLUMN note TEXT")

    def v3(conn: sqlite3.Connection) -> None:
        calls.append("v3")
        conn.execute("CREATE TABLE extra (x INTEGER)")

    released = len(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, v2, v3])
    for _ in range(2):
        db = SqliteDatabase(tmp_path / "x.db")
        version = db.read(lambda c: c.execute("SELECT version FROM schema_version").fetchone()[0])
        assert version == released + 2
        db.close()
    assert calls == ["v2", "v3"]


def test_failed_migration_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SqliteDatabase(tmp_path / "x.db").read(lambda c: None)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("boom")

    released = len(migrations.MIGRATIONS)
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        SqliteDatabase(tmp_path / "x.db").read(lambda c: None)
    conn = sqlite3.connect(tmp_path / "x.db")
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == released
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone() is None
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    SqliteDatabase(tmp_path / "x.db").read(lambda c: None)
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(migrations.SchemaTooNew, match="newer"):
        SqliteDatabase(tmp_path / "x.db").read(lambda c: None)


def test_interrupted_blob_write_leaves_nothing_complete(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blob = new_blob_id()

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("disk went away")

    with pytest.raises(OSError):
        blobs.write(blob, failing())
    assert blobs.size(blob) is None
    assert blobs.ids() == []  # no temporary left behind either


def test_reads_neither_wait_for_nor_see_a_write_in_progress(tmp_path: Path) -> None:
    stores = open_local(tmp_path)
    stores.files.add(a_file(file_id="before"))
    assert stores.database is not None
    inside, release = threading.Event(), threading.Event()

    def long_write(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM files")
        inside.set()
        release.wait(10)

    writer = threading.Thread(target=stores.database.write, args=(long_write,))
    writer.start()
    assert inside.wait(10)
    seen: list[object] = []
    reader = threading.Thread(target=lambda: seen.append(stores.files.get("o1", "before")))
    reader.start()
    reader.join(10)
    finished_during_write = not reader.is_alive()
    release.set()
    writer.join(10)
    assert finished_during_write and seen and seen[0] is not None  # the committed state
    assert stores.files.get("o1", "before") is None  # and the write, once committed
    stores.close()
