"""Stopping the container waits for the batch on the device without blocking the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from omnivec.bootstrap import build
from omnivec.settings import Settings
from omnivec.types import EmbedInput, TextPart


async def test_stop_waits_for_the_batch_in_flight_off_the_event_loop(tmp_path: Path) -> None:
    # fake:DIM:DELAY_MS: every forward pass takes that long, so one is surely in flight at stop.
    container = build(Settings(models=["fake:8:1500"], data_dir=tmp_path))
    await container.start(background_jobs=False)
    runner = container.runtime.runners["fake"]
    request = asyncio.create_task(container.embeddings.embed("fake", [EmbedInput((TextPart("x"),))]))
    while runner.forward_running_for() == 0.0:
        await asyncio.sleep(0.005)
    seen_while_joining = False

    async def watch() -> None:
        nonlocal seen_while_joining
        while True:
            # Shutdown has begun (the queue is closed) and the pass is still on the device.
            if runner.batcher.closed and runner.forward_running_for() > 0.0:
                seen_while_joining = True
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    await container.stop()
    watcher.cancel()
    assert seen_while_joining  # the loop ran while the runner thread was being joined
    [embedding] = await request  # and the request in flight was answered
    assert embedding.values.shape == (8,)
