"""One executor thread per model: it owns the model and is the only thread that runs it.

Every submitted item's future resolves: with its vector, with the batch's error when the backend
raises (only that batch fails), or with UNAVAILABLE when the runner stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnivec.errors import Internal, Unavailable
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.batcher import BatchLimits, TokenBudgetBatcher, WorkItem
from omnivec.runtime.inputs import PreparedItem
from omnivec.types import Priority

log = get_logger(__name__)


@dataclass(slots=True)
class RunnerStats:
    """Counters read by /metrics and the benchmark."""

    batches: int = 0
    items: int = 0
    tokens: int = 0
    padded_tokens: int = 0
    forward_seconds: float = 0.0
    failed_batches: int = 0


class ModelRunner:
    def __init__(self, backend: Backend, limits: BatchLimits) -> None:
        self.backend = backend
        self.batcher = TokenBudgetBatcher(limits)
        self.stats = RunnerStats()
        self._thread = threading.Thread(
            target=self._loop, name=f"omnivec-model-{backend.info.model_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking work, fail what is still queued, and let the batch in flight finish."""
        pending = self.batcher.close()
        error = Unavailable("The server is shutting down; the request was not processed.")
        for item in pending:
            item.resolve(None, error)
        if self._thread.is_alive():
            self._thread.join(timeout)

    async def run(self, prepared: list[PreparedItem], priority: Priority) -> list[np.ndarray]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[np.ndarray]] = [loop.create_future() for _ in prepared]
        work = [
            WorkItem(item, priority, _resolver(loop, fut), fut.cancelled)
            for item, fut in zip(prepared, futures, strict=True)
        ]
        self.batcher.submit(work)
        try:
            return list(await asyncio.gather(*futures))
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise

    def _loop(self) -> None:
        while (batch := self.batcher.next_batch()) is not None:
            self._run_batch(batch)

    def _run_batch(self, batch: list[WorkItem]) -> None:
        items = [w.prepared for w in batch]
        started = time.perf_counter()
        try:
            vectors = self.backend.finalize(self.backend.forward(items))
            if len(vectors) != len(batch):
                raise RuntimeError(f"backend returned {len(vectors)} vectors for {len(batch)} inputs")
        except Exception:
            self.stats.failed_batches += 1
            log.exception("model %s failed on a batch of %d items", self.backend.info.model_id, len(batch))
            error = Internal(
                "The model failed while embedding this request. It has been logged; please retry."
            )
            for w in batch:
                w.resolve(None, error)
            return
        self.stats.forward_seconds += time.perf_counter() - started
        self.stats.batches += 1
        self.stats.items += len(batch)
        self.stats.tokens += sum(i.cost for i in items)
        self.stats.padded_tokens += max(i.cost for i in items) * len(items)
        for w, vector in zip(batch, vectors, strict=True):
            w.resolve(vector, None)


def _resolver(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any]) -> Any:
    def deliver(value: Any, error: BaseException | None) -> None:
        if fut.done():
            return
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)

    def resolve(value: Any, error: BaseException | None) -> None:
        # A closed loop raises RuntimeError: nobody is waiting for the answer any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, value, error)

    return resolve
