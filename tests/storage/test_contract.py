"""One contract for every storage implementation: in-memory and SQLite + local blobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnivec.storage.interfaces import BlobMissing, DuplicateName, OverQuota
from omnivec.storage.local import Stores, open_local, open_memory
from omnivec.storage.local_blobs import new_blob_id
from omnivec.storage.records import (
    BatchItem,
    BatchJob,
    FileSource,
    ItemError,
    ItemResult,
    StoredFile,
    UploadSession,
)
from omnivec.types import BatchState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    s = open_memory() if request.param == "memory" else open_local(tmp_path / "data")
    yield s
    s.close()


def a_file(
    owner: str = "o1", file_id: str = "f1", size: int = 10, at: datetime = T0, **kw: object
) -> StoredFile:
    values: dict[str, object] = {
        "owner": owner,
        "file_id": file_id,
        "display_name": "d",
        "mime_type": "text/plain",
        "size_bytes": size,
        "sha256_hex": "ab" * 32,
        "blob_id": new_blob_id(),
        "source": FileSource.UPLOADED,
        "create_time": at,
        "update_time": at,
        "expire_time": at + timedelta(hours=48),
    }
    values.update(kw)
    return StoredFile(**values)  # type: ignore[arg-type]


def a_job(job_id: str = "j1", owner: str = "o1", priority: int = 0, at: datetime = T0) -> BatchJob:
    return BatchJob(
        job_id=job_id,
        owner=owner,
        model="models/fake",
        display_name="",
        priority=priority,
        state=BatchState.PENDING,
        input_file=None,
        request_count=0,
        succeeded=0,
        failed=0,
        checkpoint=0,
        create_time=at,
        update_time=at,
        expire_time=at + timedelta(hours=48),
    )


def items(n: int) -> list[BatchItem]:
    return [BatchItem(i, f"k{i}", b'{"m":1}' if i == 0 else None, f"p{i}".encode()) for i in range(n)]


# --- files --------------------------------------------------------------------------------------
def test_file_round_trip_and_owner_isolation(stores: Stores) -> None:
    record = a_file()
    stores.files.add(record)
    assert stores.files.get("o1", "f1") == record
    assert stores.files.get("o2", "f1") is None
    stores.files.add(a_file(owner="o2"))  # the same name under another owner is another file
    assert stores.files.total_bytes("o1") == 10
    assert stores.files.remove("o2", "f1") is not None
    assert stores.files.get("o1", "f1") == record


def test_duplicate_names_are_refused_unless_replacing(stores: Stores) -> None:
    stores.files.add(a_file(size=10))
    with pytest.raises(DuplicateName):
        stores.files.add(a_file(size=20))
    stores.files.add(a_file(size=30), replace=True)
    got = stores.files.get("o1", "f1")
    assert got is not None and got.size_bytes == 30


def test_quota_is_checked_with_the_insert(stores: Stores) -> None:
    stores.files.add(a_file(file_id="a", size=60), quota_bytes=100)
    with pytest.raises(OverQuota):
        stores.files.add(a_file(file_id="b", size=50), quota_bytes=100)
    stores.files.add(a_file(file_id="b", size=40), quota_bytes=100)
    stores.files.add(a_file(owner="other", file_id="c", size=100), quota_bytes=100)  # per owner
    assert stores.files.get("o1", "b") is not None


def test_list_is_newest_first_and_pages(stores: Stores) -> None:
    for i in range(5):
        stores.files.add(a_file(file_id=f"f{i}", at=T0 + timedelta(seconds=i)))
    stores.files.add(a_file(owner="o2", file_id="x"))
    assert [f.file_id for f in stores.files.list_files("o1", 0, 2)] == ["f4", "f3"]
    assert [f.file_id for f in stores.files.list_files("o1", 2, 10)] == ["f2", "f1", "f0"]
    assert stores.files.list_files("o1", 5, 10) == []


def test_expired_files(stores: Stores) -> None:
    stores.files.add(a_file(file_id="old", expire_time=T0))
    stores.files.add(a_file(file_id="new", expire_time=T0 + timedelta(days=1)))
    assert [f.file_id for f in stores.files.expired(T0, 10)] == ["old"]


def test_upload_session_lifecycle(stores: Stores) -> None:
    session = UploadSession(
        "u1", "o1", "f1", "d", "text/plain", 5, 0, new_blob_id(), T0, T0 + timedelta(hours=1)
    )
    stores.files.open_session(session)
    assert stores.files.session("u1") == session
    assert session.blob_id in stores.files.blob_ids()
    assert stores.files.advance_session("u1", 0, 3)
    assert not stores.files.advance_session("u1", 0, 4)  # compare-and-set: stale expectation
    got = stores.files.session("u1")
    assert got is not None and got.received == 3
    assert [s.upload_id for s in stores.files.expired_sessions(T0 + timedelta(hours=2), 10)] == ["u1"]
    stores.files.finish_session("u1", a_file(blob_id=session.blob_id, size=3), quota_bytes=None)
    assert stores.files.session("u1") is None
    assert stores.files.get("o1", "f1") is not None


def test_finish_session_is_atomic(stores: Stores) -> None:
    stores.files.add(a_file())
    stores.files.open_session(UploadSession("u1", "o1", "f1", "", "", None, 0, new_blob_id(), T0, T0))
    with pytest.raises(DuplicateName):
        stores.files.finish_session("u1", a_file(size=99), quota_bytes=None)
    assert stores.files.session("u1") is not None  # rolled back with the failed insert
    assert stores.files.close_session("u1") is not None
    assert stores.files.close_session("u1") is None


# --- blobs --------------------------------------------------------------------------------------
def test_blob_write_read_delete(stores: Stores) -> None:
    blob = new_blob_id()
    assert stores.blobs.write(blob, [b"abc", b"def"]) == 6
    assert b"".join(stores.blobs.read(blob, chunk_size=4)) == b"abcdef"
    assert stores.blobs.size(blob) == 6
    assert blob in {b for b, _ in stores.blobs.ids()}
    stores.blobs.delete(blob)
    stores.blobs.delete(blob)  # idempotent
    with pytest.raises(BlobMissing):
        stores.blobs.read(blob)


def test_staged_blob_resumes_at_offset_and_publishes(stores: Stores) -> None:
    blob = new_blob_id()
    staged = stores.blobs.stage(blob, 0)
    staged.write(b"hello ")
    staged.write(b"wor")
    assert staged.commit() == 9
    staged.close()
    # A retried chunk starts again at the last committed offset: stale bytes beyond it go.
    staged = stores.blobs.stage(blob, 6)
    staged.write(b"world")
    assert staged.commit() == 11
    staged.close()
    assert stores.blobs.staged_size(blob) == 11
    with pytest.raises(BlobMissing):
        stores.blobs.read(blob)
    stores.blobs.publish(blob)
    assert b"".join(stores.blobs.read(blob)) == b"hello world"
    assert stores.blobs.staged_size(blob) is None


def test_blob_ids_are_never_client_strings(stores: Stores) -> None:
    for bad in ("../etc/passwd", "ABC", "a/b", ""):
        with pytest.raises(ValueError):
            stores.blobs.write(bad, [b"x"])


# --- batch jobs ---------------------------------------------------------------------------------
def test_job_create_counts_items_and_isolates_owners(stores: Stores) -> None:
    job = stores.batches.create(a_job(), items(3))
    assert job.request_count == 3 and job.pending == 3
    assert stores.batches.get("o1", "j1") == job
    assert stores.batches.get("o2", "j1") is None
    assert stores.batches.get_any("j1") == job
    assert [i.key for i in stores.batches.items("j1", 1, 10)] == ["k1", "k2"]
    assert not stores.batches.delete("o2", "j1")
    assert stores.batches.delete("o1", "j1")
    assert stores.batches.get_any("j1") is None
    assert stores.batches.items("j1", 0, 10) == []


def test_claim_order_is_priority_then_age(stores: Stores) -> None:
    stores.batches.create(a_job("old", at=T0), items(1))
    stores.batches.create(a_job("new", at=T0 + timedelta(seconds=1)), items(1))
    stores.batches.create(a_job("urgent", priority=5, at=T0 + timedelta(seconds=2)), items(1))
    claimed = stores.batches.next_claimable()
    assert claimed is not None and claimed.job_id == "urgent"
    stores.batches.transition("urgent", BatchState.PENDING, BatchState.CANCELLED, T0)
    claimed = stores.batches.next_claimable()
    assert claimed is not None and claimed.job_id == "old"


def test_transition_is_compare_and_set(stores: Stores) -> None:
    stores.batches.create(a_job(), items(1))
    running = stores.batches.transition("j1", BatchState.PENDING, BatchState.RUNNING, T0)
    assert running is not None and running.start_time == T0 and running.end_time is None
    assert stores.batches.transition("j1", BatchState.PENDING, BatchState.RUNNING, T0) is None
    error = ItemError(1, "CANCELLED", "gone")
    done = stores.batches.transition("j1", BatchState.RUNNING, BatchState.CANCELLED, T0, error=error)
    assert done is not None and done.error == error and done.end_time == T0
    assert stores.batches.transition("zzz", BatchState.PENDING, BatchState.RUNNING, T0) is None


def test_commit_chunk_writes_results_and_checkpoint_together(stores: Stores) -> None:
    stores.batches.create(a_job(), items(4))
    assert stores.batches.commit_chunk("j1", 0, [ItemResult(0, b"\0" * 4, 1)], T0) is None  # not RUNNING
    stores.batches.transition("j1", BatchState.PENDING, BatchState.RUNNING, T0)
    ok, bad = ItemResult(0, b"\0\0\x80?", 3), ItemResult(1, None, 0, ItemError(3, "INVALID_ARGUMENT", "no"))
    job = stores.batches.commit_chunk("j1", 0, [ok, bad], T0)
    assert job is not None and (job.checkpoint, job.succeeded, job.failed, job.pending) == (2, 1, 1, 2)
    # A replayed chunk (same start) is refused: every item is recorded exactly once.
    assert stores.batches.commit_chunk("j1", 0, [ok, bad], T0) is None
    results = stores.batches.results("j1", 0, 10)
    assert [(i.index, i.key, r) for i, r in results] == [(0, "k0", ok), (1, "k1", bad)]
    assert results[0][0].metadata == b'{"m":1}'
    assert stores.batches.results("j1", 1, 10)[0][1] == bad


def test_cancel_flag_and_overdue(stores: Stores) -> None:
    stores.batches.create(a_job(), items(1))
    assert not stores.batches.request_cancel("j1", T0)  # only RUNNING jobs take the flag
    stores.batches.transition("j1", BatchState.PENDING, BatchState.RUNNING, T0)
    assert stores.batches.request_cancel("j1", T0)
    job = stores.batches.get_any("j1")
    assert job is not None and job.cancel_requested
    assert stores.batches.overdue(T0) == []
    assert [j.job_id for j in stores.batches.overdue(T0 + timedelta(hours=49))] == ["j1"]


def test_list_jobs_pages_newest_first(stores: Stores) -> None:
    for i in range(3):
        stores.batches.create(a_job(f"j{i}", at=T0 + timedelta(seconds=i)), items(1))
    stores.batches.create(a_job("x", owner="o2"), items(1))
    assert [j.job_id for j in stores.batches.list_jobs("o1", 0, 2)] == ["j2", "j1"]
    assert [j.job_id for j in stores.batches.list_jobs("o1", 2, 2)] == ["j0"]


def test_drop_items(stores: Stores) -> None:
    stores.batches.create(a_job(), items(2))
    stores.batches.drop_items("j1")
    assert stores.batches.items("j1", 0, 10) == [] and stores.batches.results("j1", 0, 10) == []
    assert stores.batches.get_any("j1") is not None


def test_concurrent_writers(stores: Stores) -> None:
    """Request handlers and the worker write from different threads at once."""

    def add(k: int) -> None:
        for i in range(20):
            stores.files.add(a_file(file_id=f"t{k}-{i}"))

    threads = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stores.files.list_files("o1", 0, 100)) == 80
