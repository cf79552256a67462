"""Jobs of different keys take turns; priority orders only a key's own jobs and is clamped; a job
that keeps failing is FAILED with the reason and holds up nobody; a stuck worker fails /healthz;
JSONL input is read line by line within a line limit and stored in small transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnivec.bootstrap import Container, build
from omnivec.errors import InvalidArgument
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.services.batches import MAX_PRIORITY, BatchRequest
from omnivec.settings import Settings
from omnivec.storage.local import open_local
from omnivec.storage.records import BatchJob
from omnivec.types import BatchState, EmbedInput, EmbedOptions, TextPart
from tests.reliability.harness import ThreadServer, thread_settings


def text(t: str) -> EmbedInput:
    return EmbedInput((TextPart(t),), EmbedOptions())


def requests(n: int, prefix: str = "item") -> list[BatchRequest]:
    return [BatchRequest(input=text(f"{prefix} {i}")) for i in range(n)]


@pytest.fixture
async def make_container(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[Container] = []

    async def make(backend: FakeBackend | None = None, **batches: Any) -> Container:
        settings = Settings(
            models=["fake:16"],
            data_dir=tmp_path / "data",
            batches={"poll_interval_s": 0.05, "chunk_items": 4, **batches},
            batching={"max_wait_ms": 0.5},
            limits={"max_body_bytes": 64 * 1024, "max_body_bytes_in_flight": 64 * 1024},
        )
        c = build(settings, [backend or FakeBackend("fake", 16)], open_local(tmp_path / "data"))
        await c.start()
        started.append(c)
        return c

    yield make
    for c in started:
        await c.stop()


async def wait_done(c: Container, owner: str, job: BatchJob, timeout: float = 60) -> BatchJob:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        job = await c.batches.get(owner, job.job_id)
        if job.state.is_terminal:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job still {job.state} after {timeout} s")


async def test_a_small_job_does_not_wait_behind_another_keys_large_one(
    make_container: Callable[..., Any],
) -> None:
    c = await make_container(FakeBackend("fake", 16, delay_ms=5))
    large = await c.batches.create("big-tenant", "fake", requests(400))
    while (await c.batches.get("big-tenant", large.job_id)).succeeded < 8:
        await asyncio.sleep(0.01)
    small = await c.batches.create("small-tenant", "fake", requests(1), priority=-5)
    done = await wait_done(c, "small-tenant", small)
    assert done.state is BatchState.SUCCEEDED
    still = await c.batches.get("big-tenant", large.job_id)
    assert still.state is BatchState.RUNNING and still.pending > 0
    assert (await wait_done(c, "big-tenant", large, timeout=120)).succeeded == 400


async def test_priority_is_clamped_and_orders_only_the_keys_own_jobs(
    make_container: Callable[..., Any],
) -> None:
    c = await make_container(FakeBackend("fake", 16, delay_ms=5))
    first = await c.batches.create("a", "fake", requests(160))
    jumper = await c.batches.create("b", "fake", requests(8), priority=2**63 - 1)
    assert jumper.priority == MAX_PRIORITY
    mine_later = await c.batches.create("a", "fake", requests(4), priority=7)
    done_later = await wait_done(c, "a", mine_later)
    # Key a's urgent job went before a's own older one; key b's huge priority bought no turns
    # beyond its share, so a's older job has progressed meanwhile too.
    assert done_later.state is BatchState.SUCCEEDED
    assert (await c.batches.get("a", first.job_id)).state is not BatchState.SUCCEEDED
    for owner, job in (("a", first), ("b", jumper)):
        assert (await wait_done(c, owner, job, timeout=120)).state is BatchState.SUCCEEDED


def damage_one_item(data_dir: Path, job_id: str) -> None:
    """What a torn write does to a row: its stored error is no longer JSON."""
    with sqlite3.connect(data_dir / "omnivec.db") as conn:
        conn.execute("UPDATE batch_items SET input_error = '{torn' WHERE job_id = ? AND idx = 5", (job_id,))


async def test_a_job_that_keeps_failing_is_failed_with_a_reason_and_blocks_nobody(
    make_container: Callable[..., Any], tmp_path: Path
) -> None:
    c = await make_container(max_attempts=3)
    await c.stop()  # damage the job while no worker runs
    damaged = await c.batches.create("a", "fake", requests(10))
    damage_one_item(tmp_path / "data", damaged.job_id)
    later_same_key = await c.batches.create("a", "fake", requests(3))
    other_key = await c.batches.create("b", "fake", requests(3))
    c = await make_container(max_attempts=3)

    failed = await wait_done(c, "a", damaged)
    assert failed.state is BatchState.FAILED and failed.error is not None
    assert "failed 3 times in a row" in failed.error.message
    assert (await wait_done(c, "a", later_same_key)).state is BatchState.SUCCEEDED
    assert (await wait_done(c, "b", other_key)).state is BatchState.SUCCEEDED
    await c.batches.delete("a", damaged.job_id)  # a damaged job can still be deleted


def db_path(c: Container) -> Path:
    return c.settings.data_dir / "omnivec.db"


def item_rows(c: Container, job_id: str | None = None) -> int:
    with sqlite3.connect(db_path(c)) as conn:
        if job_id is None:
            return int(conn.execute("SELECT count(*) FROM batch_items").fetchone()[0])
        return int(conn.execute("SELECT count(*) FROM batch_items WHERE job_id = ?", (job_id,)).fetchone()[0])


async def upload(c: Container, owner: str, data: bytes) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(data), 65536):
            yield data[at : at + 65536]

    record = await c.files.create(owner, chunks(), mime_type="application/jsonl")
    return f"files/{record.file_id}"


def line(i: int) -> bytes:
    return b'{"key": "k%d", "request": {"content": {"parts": [{"text": "line %d"}]}}}' % (i, i)


async def test_a_jsonl_line_over_the_limit_is_refused_and_nothing_is_left(
    make_container: Callable[..., Any],
) -> None:
    from omnivec.api.schemas.batches import RequestReader

    c = await make_container()
    reader = RequestReader(c.catalogue, "fake")
    good = b"\n".join(line(i) for i in range(1500))
    name = await upload(c, "a", good + b"\n" + b"x" * (100 * 1024) + b"\n" + line(9))
    with pytest.raises(InvalidArgument, match=r"Line 1501 of files/\S+ is longer than the 65536 bytes"):
        await c.batches.create_from_file("a", "fake", name, reader.jsonl_line)
    assert item_rows(c) == 0  # the 1500 lines stored before it were removed
    assert await c.batches.list_jobs("a", 0, 10) == ([], False)

    job = await c.batches.create_from_file("a", "fake", await upload(c, "a", good), reader.jsonl_line)
    assert job.request_count == 1500


async def test_items_of_a_creation_cut_short_are_removed_at_start(
    make_container: Callable[..., Any],
) -> None:
    c = await make_container()
    kept = await wait_done(c, "a", await c.batches.create("a", "fake", requests(3)))
    await c.stop()
    with sqlite3.connect(db_path(c)) as conn:  # what a crash mid-creation leaves
        conn.executemany(
            "INSERT INTO batch_items (job_id, idx, key, metadata, payload, input_error) VALUES (?, ?, NULL, NULL, x'00', NULL)",
            [("cut-short", i) for i in range(1200)],
        )
    c = await make_container()
    deadline = asyncio.get_running_loop().time() + 30
    while item_rows(c, "cut-short") != 0 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert item_rows(c, "cut-short") == 0
    assert item_rows(c, kept.job_id) == 3  # a real job's items stay
    assert len(await c.batches.results(kept)) == 3


class HangingBackend(FakeBackend):
    """A forward pass that does not return until released (a hung device or driver)."""

    def __init__(self) -> None:
        super().__init__("fake", 16)
        self.release = threading.Event()

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        self.release.wait(60)
        return super().forward(items)

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        return super().prepare(inputs, auto_truncate=auto_truncate)


@pytest.fixture
def hanging() -> Iterator[tuple[ThreadServer, HangingBackend]]:
    backend = HangingBackend()
    settings = thread_settings(batches={"stuck_after_s": 0.5, "poll_interval_s": 0.05})
    with ThreadServer(settings, [backend]) as server:
        try:
            yield server, backend
        finally:
            backend.release.set()


def test_health_reports_a_stuck_batch_worker(hanging: tuple[ThreadServer, HangingBackend]) -> None:
    server, backend = hanging
    assert httpx.get(server.url + "/healthz").status_code == 200
    body = {
        "batch": {
            "input_config": {"requests": {"requests": [{"request": {"content": {"parts": [{"text": "x"}]}}}]}}
        }
    }
    created = httpx.post(server.url + "/v1beta/models/fake:asyncBatchEmbedContent", json=body)
    assert created.status_code == 200, created.text
    deadline = threading.Event()
    for _ in range(600):
        health = httpx.get(server.url + "/healthz")
        if health.status_code == 503:
            break
        deadline.wait(0.05)
    assert health.status_code == 503
    assert "no progress" in health.json()["batchWorker"]
    backend.release.set()
    for _ in range(600):
        if httpx.get(server.url + "/healthz").status_code == 200:
            break
        deadline.wait(0.05)
    assert httpx.get(server.url + "/healthz").status_code == 200
