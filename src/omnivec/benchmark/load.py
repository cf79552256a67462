"""Client-side load: a fixed list of jobs spread over N concurrent workers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def run_jobs(jobs: Sequence[T], concurrency: int, call: Callable[[T], Awaitable[object]]) -> float:
    """Run every job once, ``concurrency`` at a time; returns the wall seconds."""
    pending = iter(jobs)  # shared by the workers: each takes the next job when it is free

    async def worker() -> None:
        for job in pending:
            await call(job)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return time.perf_counter() - started


async def latencies_ms(
    jobs: Sequence[T], concurrency: int, call: Callable[[T], Awaitable[object]]
) -> list[float]:
    """Run every job once and return each call's own latency in milliseconds."""
    samples: list[float] = []

    async def timed(job: T) -> None:
        started = time.perf_counter()
        await call(job)
        samples.append((time.perf_counter() - started) * 1000.0)

    await run_jobs(jobs, concurrency, timed)
    return samples


def chunks(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]
