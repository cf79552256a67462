"""A batch job keeps its next chunk in the model's queue while the current one runs, so the
model never waits at a chunk boundary; a cancel drops the chunk ahead."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omnivec.bootstrap import Container, build
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import PreparedItem
from omnivec.services.batch_items import vector_of
from omnivec.services.batches import BatchRequest
from omnivec.settings import Settings
from omnivec.storage.local import open_memory
from omnivec.types import BatchState, EmbedInput, EmbedOptions, TextPart

OWNER = "tenant"


class GatedBackend(FakeBackend):
    """Holds every forward pass until the gate opens."""

    def __init__(self) -> None:
        super().__init__("fake", 16)
        self.gate = threading.Event()

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        self.gate.wait(30)
        return super().forward(items)


def _container(tmp_path: Path, backend: FakeBackend) -> Container:
    settings = Settings(
        models=["fake:16"],
        data_dir=tmp_path / "data",
        batches={"poll_interval_s": 0.05, "chunk_items": 4},
        batching={"max_wait_ms": 0.5, "max_batch_items": 2},
    )
    return build(settings, [backend], open_memory())


async def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _inputs(n: int) -> list[EmbedInput]:
    return [EmbedInput((TextPart(f"item {i}"),), EmbedOptions()) for i in range(n)]


async def test_the_next_chunk_is_queued_while_the_current_one_runs(tmp_path: Path) -> None:
    backend = GatedBackend()
    c = _container(tmp_path, backend)
    await c.start()
    try:
        inputs = _inputs(12)
        job = await c.batches.create(OWNER, "fake", [BatchRequest(input=x) for x in inputs])
        runner = c.runtime.runners["fake"]
        # The first chunk is on the (held) model; the second is admitted and waiting behind it.
        await _until(lambda: runner.admitted == 8)
        backend.gate.set()
        while not job.state.is_terminal:
            await asyncio.sleep(0.02)
            job = await c.batches.get(OWNER, job.job_id)
        assert job.state is BatchState.SUCCEEDED and (job.succeeded, job.failed) == (12, 0)
        online = await c.embeddings.embed("fake", inputs)
        results = await c.batches.results(job)
        assert [item.index for item, _ in results] == list(range(12))
        for (_, result), expected in zip(results, online, strict=True):
            np.testing.assert_array_equal(vector_of(result), expected.values)
    finally:
        backend.gate.set()
        await c.stop()


async def test_a_cancel_drops_the_chunk_ahead(tmp_path: Path) -> None:
    backend = GatedBackend()
    c = _container(tmp_path, backend)
    await c.start()
    try:
        job = await c.batches.create(OWNER, "fake", [BatchRequest(input=x) for x in _inputs(12)])
        runner = c.runtime.runners["fake"]
        await _until(lambda: runner.admitted == 8)
        cancelling = asyncio.ensure_future(c.batches.cancel(OWNER, job.job_id))
        await asyncio.sleep(0.1)
        backend.gate.set()
        await cancelling
        await _until(lambda: runner.admitted == 0)
        job = await c.batches.get(OWNER, job.job_id)
        assert job.state is BatchState.CANCELLED
    finally:
        backend.gate.set()
        await c.stop()
