"""One executor thread per model copy: it owns that copy and is the only thread that runs it.
A model is usually served by one copy; ``replicas`` adds executors that take batches from the same
queue: further copies (on a GPU that one copy of a small model cannot keep busy), or the same
backend again where it runs several passes at once over one set of weights (torch on a CPU).

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnivec.errors import Internal, InvalidArgument, ResourceExhausted, Unavailable
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend, CompilesInBackground
from omnivec.runtime.batcher import BatchLimits, TokenBudgetBatcher, WorkItem
from omnivec.runtime.executors import CoreShare
from omnivec.runtime.inputs import PreparedItem
from omnivec.runtime.memory import HeapTrimmer
from omnivec.runtime.observer import BatchReport, RuntimeObserver, notify_batch
from omnivec.types import Priority

log = get_logger(__name__)

# Quiet time after which a runner hands the memory its batches freed back to the OS.
IDLE_RELEASE_S = 2.0


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
        self,
        backend: Backend,
        limits: BatchLimits,
        observers: Sequence[RuntimeObserver] = (),
        *,
        replicas: Sequence[Backend] = (),
        on_idle: Callable[[], None] | None = None,
        idle_s: float = IDLE_RELEASE_S,
        trimmer: HeapTrimmer | None = None,
        cores: CoreShare | None = None,
        compile_engine: bool = False,
    ) -> None:
        self.backend = backend
        self.batcher = TokenBudgetBatcher(limits)
        self.stats = RunnerStats()
        # Shared with the Runtime, which may add observers after construction.
        self.observers = observers
        self._admitted = 0
        self._admission_lock = threading.Lock()
        self._backends = (backend, *replicas)
        # Executors of one shared backend share its torch threads, pass by pass (``CoreShare``).
        self._cores = cores
        # Whether a backend that can compile its model in the background does so at start.
        self._compile_engine = compile_engine
        self._stats_lock = threading.Lock()
        # Monotonic start of the pass each copy has on the device; absent while it is idle.
        self._forward_started: dict[int, float] = {}
        # Freed memory goes back to the OS once quiet, and during a long burst whenever the
        # heap has grown beyond its slack (see runtime.memory).
        self._trimmer = trimmer or HeapTrimmer()
        self._on_idle = on_idle or self._trimmer.release
        self._idle_s = idle_s
        self._last_pass_end = time.monotonic()  # by any executor
        self._threads = [
            threading.Thread(
                target=self._loop,
                args=(copy,),
                name=f"omnivec-model-{backend.info.model_id}-{copy}",
                daemon=True,
            )
            for copy in range(len(self._backends))
        ]

    @property
    def admitted(self) -> int:
        """Items between admission and their result: being prepared, queued or on the device."""
        return self._admitted

    def forward_running_for(self) -> float:
        """Seconds the current forward pass has been running (0 when idle): a pass that never
        ends (a hung device) is what liveness probes must see."""
        started = min(tuple(self._forward_started.values()), default=None)
        return 0.0 if started is None else time.monotonic() - started

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        if self._compile_engine and isinstance(self.backend, CompilesInBackground):
            self.backend.start_compiling(self._pass_thread_counts())

    def _pass_thread_counts(self) -> tuple[int, ...]:
        """The torch thread counts this runner's passes run with: a compiled model is built for
        each (TorchDynamo guards on the count)."""
        if self._cores is not None:
            return self._cores.thread_counts(len(self._backends))
        from omnivec.runtime.backends.device import current_torch_threads

        return (current_torch_threads(),)

    def close_backends(self) -> None:
        # Executors that share one backend close it once.
        for backend in {id(b): b for b in self._backends}.values():
            backend.close()

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
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

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

    def _loop(self, copy: int) -> None:
        busy = False  # whether batches ran since the last idle call
        while (batch := self.batcher.next_batch(self._idle_s if busy else None, rank=copy)) is not None:
            if not batch:  # this executor was quiet for idle_s
                busy = False
                if self._quiet_for(self._idle_s):
                    # Only when every executor is: a trim under another's passes would make them
                    # fault their memory back in.
                    self._on_idle()
                continue
            taken = time.monotonic()
            self._run_batch(copy, batch, tuple(taken - w.enqueued_at for w in batch))
            self._last_pass_end = time.monotonic()
            self._trimmer.after_pass()
            busy = True

    def _quiet_for(self, seconds: float) -> bool:
        """No executor has run a pass for ``seconds``, and none runs one now."""
        return not self._forward_started and time.monotonic() - self._last_pass_end >= seconds

    def _run_batch(
        self, copy: int, batch: list[WorkItem], queue_waits: tuple[float, ...], *, isolate: bool = True
    ) -> None:
        try:
            vectors = self._forward(copy, batch, queue_waits)
        except Exception:
            log.exception("model %s failed on a batch of %d items", self.backend.info.model_id, len(batch))
            if isolate and len(batch) > 1:
                for w in batch:
                    if not w.is_cancelled():
                        self._run_batch(copy, [w], (), isolate=False)  # its wait is already reported
                return
            error = Internal(
                "The model failed while embedding this request. It has been logged; please retry."
            )
            for w in batch:
                w.resolve(None, error)
            return
        for w, vector in zip(batch, vectors, strict=True):
            w.resolve(vector, None)

    def _forward(self, copy: int, batch: list[WorkItem], queue_waits: tuple[float, ...]) -> np.ndarray:
        backend = self._backends[copy]
        items = [w.prepared for w in batch]
        tokens = sum(i.cost for i in items)
        padded = max(i.cost for i in items) * len(items)
        started = time.perf_counter()
        self._forward_started[copy] = time.monotonic()
        failed = True
        try:
            # Only the computation holds a share of the cores: delivering the results wakes the
            # next request, which must find this pass already finished.
            with self._cores.one_pass(copy) if self._cores is not None else contextlib.nullcontext():
                vectors = backend.finalize(backend.forward(items))
            if len(vectors) != len(batch):
                raise RuntimeError(f"backend returned {len(vectors)} vectors for {len(batch)} inputs")
            failed = False
        finally:
            del self._forward_started[copy]
            elapsed = time.perf_counter() - started
            with self._stats_lock:
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
