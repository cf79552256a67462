"""How many executor threads run a model's forward passes, and how many torch threads each.

On a CPU, one forward pass using every core is not the fastest way to use them under load: the
cores meet at a barrier after every operation, and a core briefly taken by the server's other
threads (HTTP, JSON, tokenising) holds up all of them. Two executors, each running its own pass
on half the cores over the same weights, keep the cores busy: measured with MiniLM on 2 cores,
2 x 1 thread gave 1.18x the in-process throughput of 1 x 2 threads, and 1.1 to 1.4x over HTTP
(``bench/results/executors.md``). A pass that runs alone still gets every core (``CoreShare``),
so a single request is as fast as before.

A process that owns its cores (``omnivec serve`` and the other commands) gets two executors by
default; the library, living in someone else's process, keeps one unless configured.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from omnivec.runtime.backends.base import BackendInfo

# Executors of a model that shares its weights, on a CPU with at least this many threads.
AUTO_CPU_EXECUTORS = 2


@dataclass(frozen=True, slots=True)
class ExecutorPlan:
    executors: int
    # Whether the executors share one loaded model (True) or each loads its own copy.
    shared: bool


def plan_executors(
    info: BackendInfo, replicas: int | None, *, owns_process: bool, torch_threads: int | None, cores: int
) -> ExecutorPlan:
    """``replicas`` as configured (None: choose); ``cores``: torch's thread count before any
    split. A model that cannot share its weights gets copies only when asked for them."""
    shared = info.concurrent_forward
    if replicas is not None:
        return ExecutorPlan(replicas, shared and replicas > 1)
    if shared and owns_process and torch_threads is None and cores >= AUTO_CPU_EXECUTORS:
        return ExecutorPlan(AUTO_CPU_EXECUTORS, True)
    return ExecutorPlan(1, False)


def threads_per_executor(cores: int, executors: int) -> int:
    """Torch threads for each of ``executors`` passes running at once on ``cores``."""
    return max(1, cores // max(1, executors))


class CoreShare:
    """The cores of executors that run passes at once: each pass, as it starts, takes its share
    of ``cores`` among the passes running then (all of them when it runs alone).

    ``set_threads`` sets the calling thread's intra-op thread count (torch's ``set_num_threads``:
    the OpenMP count of the calling thread, which its parallel regions use). A pass already
    running keeps the count it started with, so for a moment after a second pass starts the cores
    are oversubscribed; the next pass of each takes the smaller share.
    """

    def __init__(self, cores: int, set_threads: Callable[[int], None]) -> None:
        self.cores = max(1, cores)
        self._set_threads = set_threads
        self._lock = threading.Lock()
        self._running = 0

    @contextlib.contextmanager
    def one_pass(self) -> Iterator[int]:
        """Around one forward pass, in its executor thread; yields the threads it runs with."""
        with self._lock:
            self._running += 1
            threads = threads_per_executor(self.cores, self._running)
        try:
            self._set_threads(threads)
            yield threads
        finally:
            with self._lock:
                self._running -= 1
