"""The batch worker, in-process: the real container (fake backend, in-memory or SQLite stores)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnivec.bootstrap import Container, build
from omnivec.errors import InvalidArgument
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.services.batch_items import encode_input, success, vector_of
from omnivec.services.batches import BatchRequest
from omnivec.settings import Settings
from omnivec.storage.local import Stores, open_local, open_memory
from omnivec.storage.records import BatchJob
from omnivec.types import BatchState, EmbedInput, EmbedOptions, TextPart

OWNER = "tenant"


def text(t: str, dims: int | None = None) -> EmbedInput:
    return EmbedInput((TextPart(t),), EmbedOptions(output_dimensionality=dims))


class PoisonBackend(FakeBackend):
    """Fails a whole forward pass when one input says POISON (a model crashing on one input)."""

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = super().prepare(inputs, auto_truncate=auto_truncate)
        for item, p in zip(inputs, prepared, strict=True):
            if "POISON" in item.text():
                p.payload = "poison"
        return prepared

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        if any(i.payload == "poison" for i in items):
            raise RuntimeError("the model fell over")
        return super().forward(items)


@pytest.fixture
async def make_container(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[Container] = []

    async def make(
        backend: FakeBackend | None = None,
        stores: Stores | None = None,
        *,
        start: bool = True,
        **batches: Any,
    ) -> Container:
        settings = Settings(
            models=["fake:16"],
            data_dir=tmp_path / "data",
            batches={"poll_interval_s": 0.05, "chunk_items": 4, **batches},
            batching={"max_wait_ms": 0.5},
        )
        c = build(settings, [backend or FakeBackend("fake", 16)], stores or open_memory())
        if start:
            await c.start()
        started.append(c)
        return c

    yield make
    for c in started:
        await c.stop()


async def wait_done(c: Container, job: BatchJob, timeout: float = 20) -> BatchJob:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        job = await c.batches.get(OWNER, job.job_id)
        if job.state.is_terminal:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"job still {job.state} after {timeout} s")


async def test_job_runs_to_success_with_the_online_vectors(make_container: Callable[..., Any]) -> None:
    c = await make_container()
    inputs = [text(f"item {i}", dims=8 if i % 2 else None) for i in range(10)]
    requests = [BatchRequest(key=f"k{i}", metadata={"i": i}, input=x) for i, x in enumerate(inputs)]
    job = await c.batches.create(OWNER, "gemini-embedding-001", requests, display_name="d")
    assert job.state is BatchState.PENDING and job.request_count == 10
    job = await wait_done(c, job)
    assert job.state is BatchState.SUCCEEDED and (job.succeeded, job.failed, job.pending) == (10, 0, 0)
    online = await c.embeddings.embed("gemini-embedding-001", inputs)
    results = await c.batches.results(job)
    assert [i.index for i, _ in results] == list(range(10))
    for (_, result), expected in zip(results, online, strict=True):
        assert result.error is None
        np.testing.assert_array_equal(vector_of(result), expected.values)
        assert result.token_count == expected.token_count
    assert results[3][0].metadata == b'{"i":3}'


async def test_bad_items_fail_alone(make_container: Callable[..., Any]) -> None:
    c = await make_container(PoisonBackend("fake", 16), chunk_items=8)
    requests = [
        BatchRequest(input=text("good 0")),
        BatchRequest(input=text("too wide", dims=999)),  # refused by validation
        BatchRequest(error=InvalidArgument("line 3 of the input file is not valid JSON.")),  # unreadable
        BatchRequest(input=text("POISON pill")),  # crashes the model's forward pass
        BatchRequest(input=text("good 4")),
        BatchRequest(input=text("good 5")),
    ]
    job = await wait_done(c, await c.batches.create(OWNER, "fake", requests))
    assert job.state is BatchState.SUCCEEDED and (job.succeeded, job.failed) == (3, 3)
    results = dict(await c.batches.results(job))
    by_index = {item.index: result for item, result in results.items()}
    assert [by_index[i].error is None for i in range(6)] == [True, False, False, False, True, True]
    assert by_index[1].error is not None and by_index[1].error.code == 3
    assert "outputDimensionality" in by_index[1].error.message
    assert by_index[2].error is not None and "not valid JSON" in by_index[2].error.message
    assert by_index[3].error is not None and by_index[3].error.status == "INTERNAL"
    [expected] = await c.embeddings.embed("fake", [text("good 4")])
    np.testing.assert_array_equal(vector_of(by_index[4]), expected.values)


async def test_cancel_stops_a_running_job(make_container: Callable[..., Any]) -> None:
    c = await make_container(FakeBackend("fake", 16, delay_ms=20), chunk_items=2)
    job = await c.batches.create(OWNER, "fake", [BatchRequest(input=text(f"t{i}")) for i in range(400)])
    while (await c.batches.get(OWNER, job.job_id)).succeeded < 4:
        await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    cancelled = await c.batches.cancel(OWNER, job.job_id)
    assert cancelled.state is BatchState.CANCELLED
    assert asyncio.get_running_loop().time() - started < 3
    assert cancelled.error is not None and cancelled.error.code == 1
    assert 0 < cancelled.succeeded < 400
    await asyncio.sleep(0.2)
    assert (await c.batches.get(OWNER, job.job_id)).succeeded == cancelled.succeeded  # nothing after


async def test_cancel_pending_and_finished_jobs(make_container: Callable[..., Any]) -> None:
    c = await make_container(start=False)
    job = await c.batches.create(OWNER, "fake", [BatchRequest(input=text("x"))])
    assert (await c.batches.cancel(OWNER, job.job_id)).state is BatchState.CANCELLED
    again = await c.batches.cancel(OWNER, job.job_id)  # cancelling a finished job changes nothing
    assert again.state is BatchState.CANCELLED


async def test_jobs_expire(make_container: Callable[..., Any]) -> None:
    c = await make_container(start=False)
    job = await c.batches.create(OWNER, "fake", [BatchRequest(input=text("x"))])
    later = job.create_time + timedelta(hours=49)
    c.worker.clock = lambda: later
    assert await c.worker.expire_overdue() == 1
    expired = await c.batches.get(OWNER, job.job_id)
    assert expired.state is BatchState.EXPIRED and expired.error is not None and expired.error.code == 4


async def test_priority_then_age(make_container: Callable[..., Any]) -> None:
    c = await make_container(start=False)
    low = await c.batches.create(OWNER, "fake", [BatchRequest(input=text("a"))])
    high = await c.batches.create(OWNER, "fake", [BatchRequest(input=text("b"))], priority=10)
    await c.start()
    low, high = await wait_done(c, low), await wait_done(c, high)
    assert high.start_time is not None and low.start_time is not None
    assert high.start_time <= low.start_time


async def test_resume_from_checkpoint_after_a_crash(
    make_container: Callable[..., Any], tmp_path: Path
) -> None:
    """A job interrupted after its first chunk: the committed chunk is kept as it is, the rest
    is embedded once, and every item appears exactly once."""
    stores = open_local(tmp_path / "crashed")
    c = await make_container(stores=stores, start=False)
    inputs = [text(f"t{i}") for i in range(10)]
    job = await c.batches.create(
        OWNER, "fake", [BatchRequest(key=f"k{i}", input=x) for i, x in enumerate(inputs)]
    )
    # What a worker had done when the process died: claimed the job, committed chunk 0..3.
    running = stores.batches.transition(job.job_id, BatchState.PENDING, BatchState.RUNNING, job.create_time)
    assert running is not None
    marker = [success(i, np.full(16, i, dtype=np.float32), 99) for i in range(4)]
    assert stores.batches.commit_chunk(job.job_id, 0, marker, job.create_time) is not None
    stores.close()

    resumed = await make_container(stores=open_local(tmp_path / "crashed"))
    done = await wait_done(resumed, job)
    assert done.state is BatchState.SUCCEEDED and done.succeeded == 10
    results = await resumed.batches.results(done)
    assert [item.key for item, _ in results] == [f"k{i}" for i in range(10)]
    assert [r.token_count for _, r in results[:4]] == [99] * 4  # not recomputed
    fresh = await resumed.embeddings.embed("fake", inputs[4:])
    for (_, result), expected in zip(results[4:], fresh, strict=True):
        np.testing.assert_array_equal(vector_of(result), expected.values)


async def test_stop_is_graceful_and_the_job_resumes(
    make_container: Callable[..., Any], tmp_path: Path
) -> None:
    c = await make_container(FakeBackend("fake", 16, delay_ms=10), open_local(tmp_path / "s"), chunk_items=2)
    job = await c.batches.create(OWNER, "fake", [BatchRequest(input=text(f"t{i}")) for i in range(60)])
    while (await c.batches.get(OWNER, job.job_id)).succeeded < 4:
        await asyncio.sleep(0.01)
    await c.stop()
    stopped = c.stores.batches.get_any(job.job_id)
    assert stopped is not None and stopped.state is BatchState.RUNNING
    assert stopped.checkpoint == stopped.succeeded < 60
    again = await make_container(stores=open_local(tmp_path / "s"))
    done = await wait_done(again, job)
    assert done.succeeded == 60 and len(await again.batches.results(done)) == 60


async def test_unknown_model_is_refused_at_submission(make_container: Callable[..., Any]) -> None:
    c = await make_container(start=False)
    with pytest.raises(Exception, match="not found"):
        await c.batches.create(OWNER, "no-such-model", [BatchRequest(input=text("x"))])
    with pytest.raises(InvalidArgument, match="no requests"):
        await c.batches.create(OWNER, "fake", [])


def test_stored_requests_round_trip() -> None:
    from omnivec.services.batch_items import decode_input
    from omnivec.types import BlobPart, FileRefPart, TaskType

    item = EmbedInput(
        (TextPart("a"), BlobPart("image/png", b"\x89PNG"), FileRefPart("files/abc", None)),
        EmbedOptions(TaskType.RETRIEVAL_DOCUMENT, "T", 8, False),
    )
    assert decode_input(encode_input(item)) == item
