"""How many executor threads run a model's forward passes, and how many torch threads each.

On a CPU, one forward pass using every core is not the fastest way to use them under load: the
cores meet at a barrier after every operation, and a core briefly taken by the server's other
threads (HTTP, JSON, tokenising) holds up all of them. Two executors over the same weights, the
first using every core when it runs alone and its share when both run (``CoreShare``), measured
with MiniLM (bf16) on 2 cores 1.1-1.3x the throughput of one executor over HTTP under load, with
the same single-request latency (``bench/results/executors.md``). ``omnivec serve`` runs two by
default; the library, living in someone else's process, keeps one unless configured.
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


# Executors of a model that shares its weights, in a process of its own with this many threads.
AUTO_CPU_EXECUTORS = 2


def plan_executors(
    info: BackendInfo, replicas: int | None, *, owns_process: bool, torch_threads: int | None, cores: int
) -> ExecutorPlan:
    """``replicas`` as configured; None chooses two for a model that can run several passes at
    once over its weights (torch on a CPU), in a process that owns its cores (the server, not the
    library: the executors set torch's thread count pass by pass), with torch's threads left to
    omnivec and at least two of them; else one. A model that cannot share gets copies."""
    shared = info.concurrent_forward
    if replicas is not None:
        return ExecutorPlan(replicas, shared and replicas > 1)
    if shared and owns_process and torch_threads is None and cores >= AUTO_CPU_EXECUTORS:
        return ExecutorPlan(AUTO_CPU_EXECUTORS, True)
    return ExecutorPlan(1, False)


def threads_per_executor(cores: int, executors: int) -> int:
    """Torch threads for each of ``executors`` passes running at once on ``cores``."""
    return max(1, cores // max(1, executors))


def pass_thread_counts(cores: int, executors: int) -> tuple[int, ...]:
    """Every torch thread count a pass may run with under ``CoreShare`` (one executor: all of
    ``cores``), the most frequent first: the first executor's share while 1, 2… passes run, and
    the others' one thread."""
    cores = max(1, cores)
    if executors <= 1:
        return (cores,)
    counts = [threads_per_executor(cores, running) for running in range(1, executors + 1)]
    return tuple(dict.fromkeys([*counts, 1]))


class CoreShare:
    """The cores of executors that run passes at once over one model.

    The first executor (rank 0) takes, as each pass starts, its share of ``cores`` among the passes
    running then (all of them when it runs alone); the others run every pass on one thread. The
    reason is OpenMP's (GNU libgomp, torch's CPU build): every thread that runs a pass on several
    threads keeps a pool of workers, and once the pooled workers outnumber the CPUs libgomp
    throttles their spin-waiting, so every operation of every later pass waits for its workers to
    wake. Two executors each with a pool made a single short bf16 text 7.4 -> 11.5 ms on 2 cores;
    with one pool there is no such cost. Work goes to the first executor whenever it is idle (the
    batcher wakes the lowest rank), so a single request always runs with every core.

    ``set_threads`` sets the calling thread's intra-op thread count (torch's ``set_num_threads``).
    A pass already running keeps the count it started with.
    """

    def __init__(self, cores: int, set_threads: Callable[[int], None]) -> None:
        self.cores = max(1, cores)
        self._set_threads = set_threads
        self._lock = threading.Lock()
        self._running = 0

    def thread_counts(self, executors: int) -> tuple[int, ...]:
        """Every count ``one_pass`` may give a pass of one of ``executors`` (``pass_thread_counts``)."""
        return pass_thread_counts(self.cores, executors)

    @contextlib.contextmanager
    def one_pass(self, rank: int = 0) -> Iterator[int]:
        """Around one forward pass of executor ``rank``, in its thread; yields its threads."""
        with self._lock:
            self._running += 1
            threads = threads_per_executor(self.cores, self._running) if rank == 0 else 1
        try:
            self._set_threads(threads)
            yield threads
        finally:
            with self._lock:
                self._running -= 1
