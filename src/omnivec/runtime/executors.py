"""How many executor threads run a model's forward passes, and how many torch threads each.

On a CPU, one forward pass using every core is not the fastest way to use them: the cores meet
at a barrier after every operation, and a core briefly taken by the server's other threads
(HTTP, JSON, tokenising) holds up all of them. Two executors, each running its own pass on half
the cores over the same weights, keep the cores busy: measured with MiniLM on 2 cores, 2 x 1
thread gave 1.18x the in-process throughput of 1 x 2 threads, and 1.1 to 1.4x over HTTP, for
0.7 ms more on a single short text (``bench/results/executors.md``).

A process that owns its cores (``omnivec serve`` and the other commands) gets that by default;
torch's thread count is process-wide, so the library, living in someone else's process, leaves
it alone unless configured.
"""

from __future__ import annotations

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
