"""What omnivec tells the native libraries under it through the environment: the one place it
writes the environment (settings read it), so every such setting is visible here.
"""

from __future__ import annotations

import os

# PyTorch (through ideep) and oneDNN each cache compiled CPU matrix kernels, one per input shape,
# 1024 by default, and never give an entry's memory back. fp32 passes on x86 go to MKL and are
# not cached; bf16 passes are, and length-bucketed batches bring new shapes all the time: a
# MiniLM bf16 server grew from 560 to 1,250 MB over a minute of load, still rising (with 64
# entries each it stayed near 720 MB, bench/results/executors.md). Both read their capacity
# from the environment at their first kernel, so it is set before any pass.
_KERNEL_CACHE_VARIABLES = ("LRU_CACHE_CAPACITY", "ONEDNN_PRIMITIVE_CACHE_CAPACITY")


def limit_kernel_caches(entries: int) -> None:
    """Bound both kernel caches to ``entries`` (at least 1: ideep cannot run without one).
    Too late, and harmless, where this process has already run a bf16 pass."""
    for name in _KERNEL_CACHE_VARIABLES:
        os.environ[name] = str(max(1, entries))
