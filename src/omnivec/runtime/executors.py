"""How many executor threads run a model's forward passes, and how many torch threads each.

On a CPU, one forward pass using every core is not the fastest way to use them under load: the
cores meet at a barrier after every operation, and a core briefly taken by the server's other
threads (HTTP, JSON, tokenising) holds up all of them. Two executors over the same weights
(``replicas: 2``), each pass taking its share of the cores as it starts (``CoreShare``: all of
them when it runs alone), measured with MiniLM on 2 cores 1.18x the in-process throughput of one
executor and 1.05 to 1.4x over HTTP under load (``bench/results/executors.md``). But a single
request over HTTP took 1.5 to 4 ms longer (fp32 10.9 -> 12.4 ms, bf16 8-9 -> 12.9 ms p50), in a
way the same runtime in-process does not show; until that is understood, one executor stays the
default and two are a setting for throughput under load.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from omnivec.runtime.backends.base import BackendInfo


@dataclass(frozen=True, slots=True)
class ExecutorPlan:
    executors: int
    # Whether the executors share one loaded model (True) or each loads its own copy.
    shared: bool


def plan_executors(info: BackendInfo, replicas: int | None) -> ExecutorPlan:
    """``replicas`` as configured (None: one). Executors of a model that can run several passes
    at once share its weights; a model that cannot gets copies."""
    if replicas is None:
        return ExecutorPlan(1, False)
    return ExecutorPlan(replicas, info.concurrent_forward and replicas > 1)


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
