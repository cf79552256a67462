"""One executor thread per model: it owns the model and is the only thread that runs it.

Every submitted item's future resolves: with its vector, with an error when the backend raises
on it, or with UNAVAILABLE when the runner stops. A batch that fails is retried item by item, so
one input that crashes the model fails only its own request, not the requests it shared a batch
with.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnivec.errors import Internal, InvalidArgument, ResourceExhausted, Unavailable
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.batcher import BatchLimits, TokenBudgetBatcher, WorkItem
from omnivec.runtime.inputs import PreparedItem
from omnivec.runtime.observer import BatchReport, RuntimeObserver, notify_batch
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
    def __init__(
        self, backend: Backend, limits: BatchLimits, observers: Sequence[RuntimeObserver] = ()
    ) -> None:
        self.backend = backend
        self.batcher = TokenBudgetBatcher(limits)
        self.stats = RunnerStats()
        # Shared with the Runtime, which may add observers after construction.
        self.observers = observers
        self._admitted = 0
        self._admission_lock = threading.Lock()
        self._forward_started: float | None = None  # monotonic start of the pass on the device
        self._thread = threading.Thread(
            target=self._loop, name=f"omnivec-model-{backend.info.model_id}", daemon=True
        )

    @property
    def admitted(self) -> int:
        """Items between admission and their result: being prepared, queued or on the device."""
        return self._admitted

    def forward_running_for(self) -> float:
        """Seconds the current forward pass has been running (0 when idle): a pass that never
        ends (a hung device) is what liveness probes must see."""
        started = self._forward_started
        return 0.0 if started is None else time.monotonic() - started

    def start(self) -> None:
        self._thread.start()

    def refuse_queued(self) -> None:
        """Stop taking work and answer everything still queued with UNAVAILABLE; the batch on
        the device finishes. Safe to call more than once."""
        pending = self.batcher.close()
        error = Unavailable("The server is shutting down; the request was not processed. Please retry.")
        for item in pending:
            item.resolve(None, error)

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse what is queued, and let the batch in flight finish."""
        self.refuse_queued()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @contextlib.contextmanager
    def admit(self, items: int) -> Iterator[None]:
        """Hold ``items`` places from before the CPU step until the results are back.

        The limit counts everything admitted, not only what waits in the batcher: under overload
        new requests are refused at once instead of piling up in front of the CPU step, so memory
        stays bounded by ``max_queue_items``.
        """
        capacity = self.batcher.limits.max_queue_items
        if items > capacity:
            raise InvalidArgument(
                f"The request has {items} inputs; this server queues at most {capacity} at a time. "
                "Send them in smaller requests."
            )
        with self._admission_lock:
            if self.batcher.closed:
                raise Unavailable("The server is shutting down; retry on another instance.")
            if self._admitted + items > capacity:
                raise ResourceExhausted(
                    "The model's queue is full; retry after a short wait.", retry_after_s=1.0
                )
            self._admitted += items
        try:
            yield
        finally:
            with self._admission_lock:
                self._admitted -= items

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
            taken = time.monotonic()
            self._run_batch(batch, tuple(taken - w.enqueued_at for w in batch))

    def _run_batch(
        self, batch: list[WorkItem], queue_waits: tuple[float, ...], *, isolate: bool = True
    ) -> None:
        try:
            vectors = self._forward(batch, queue_waits)
        except Exception:
            log.exception("model %s failed on a batch of %d items", self.backend.info.model_id, len(batch))
            if isolate and len(batch) > 1:
                for w in batch:
                    if not w.is_cancelled():
                        self._run_batch([w], (), isolate=False)  # its wait is already reported
                return
            error = Internal(
                "The model failed while embedding this request. It has been logged; please retry."
            )
            for w in batch:
                w.resolve(None, error)
            return
        for w, vector in zip(batch, vectors, strict=True):
            w.resolve(vector, None)

    def _forward(self, batch: list[WorkItem], queue_waits: tuple[float, ...]) -> np.ndarray:
        items = [w.prepared for w in batch]
        tokens = sum(i.cost for i in items)
        padded = max(i.cost for i in items) * len(items)
        started = time.perf_counter()
        self._forward_started = time.monotonic()
        failed = True
        try:
            vectors = self.backend.finalize(self.backend.forward(items))
            if len(vectors) != len(batch):
                raise RuntimeError(f"backend returned {len(vectors)} vectors for {len(batch)} inputs")
            failed = False
        finally:
            self._forward_started = None
            elapsed = time.perf_counter() - started
            if failed:
                self.stats.failed_batches += 1
            else:
                self.stats.forward_seconds += elapsed
                self.stats.batches += 1
                self.stats.items += len(batch)
                self.stats.tokens += tokens
                self.stats.padded_tokens += padded
            report = BatchReport(
                self.backend.info.model_id, len(batch), tokens, padded, elapsed, queue_waits, failed
            )
            notify_batch(self.observers, report)
        return vectors


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
