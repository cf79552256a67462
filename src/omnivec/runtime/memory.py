"""Giving memory back to the operating system once a model goes idle, and keeping a burst of
requests from growing the heap in the first place.

A forward pass allocates activations of up to a batch's padded size and frees them again; glibc
keeps freed memory in its heaps for reuse, so without this the resident size of an idle server
stays at the high-water mark of its largest batch. ``malloc_trim`` returns the free pages.

Under a burst, every thread that allocates (request handlers' worker threads, the tokenizer's,
torch's) may get a glibc arena of its own, up to eight per core, each keeping its own free
memory; ``tune_allocator`` caps them. (The mmap threshold is left to glibc: fixing it low makes
every large activation a fresh mapping, and the page faults cost forward-pass time.)

A long burst is many forward passes back to back, never idle: activations of ever different
shapes fragment the heap, and glibc keeps the freed holes resident, so the process grew by
about 70 % over a burst of 64 requests of 100 texts while its live memory hardly changed.
``HeapTrimmer`` bounds that: after a forward pass, when the process has grown more than a slack
above where it last settled, the free pages go back at once. A pass's own working set stays
under the slack (with 1024-token passes), so steady load seldom trims (each trim makes the
next pass fault its pages in again).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        return None
    return trim


# mallopt parameter (malloc.h).
_M_ARENA_MAX = -8
ARENA_MAX = 2


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        mallopt: Callable[[int, int], int] = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc
        return None
    return mallopt


def tune_allocator(arena_max: int = ARENA_MAX) -> bool:
    """Cap glibc's arenas for the serving process. Returns whether the allocator took the
    setting (False where it is not glibc)."""
    mallopt = _mallopt()
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, arena_max))


def release_free_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident set size (Linux), or None where /proc is not there."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


# Growth above the settled size that forward passes may leave before the heap is trimmed. Small
# on purpose: the burst's peak is the settled size plus this plus a pass's working set, and the
# target is a fifth of a loaded server (about 120 MiB for MiniLM). Measured on a burst of 64 x 100
# texts: 96 MiB gave +31 %, 24 MiB with 2048-token passes +19 %, at no measurable CPU cost
# (bench/results/burst_memory.md).
TRIM_SLACK_BYTES = 24 << 20


class HeapTrimmer:
    """Trims the heap when the process has grown ``slack`` bytes above its settled size.

    The settled size is the resident size after the last trim, so memory that stays live (a
    full queue, a second model) raises it instead of being trimmed for again and again.
    Called from model threads; a lost race between two of them costs one extra trim.
    """

    def __init__(
        self,
        slack: int = TRIM_SLACK_BYTES,
        *,
        rss: Callable[[], int | None] = resident_bytes,
        trim: Callable[[], None] = release_free_memory,
    ) -> None:
        self.slack = slack
        self.trims = 0
        self._rss = rss
        self._trim = trim
        self._settled: int | None = None

    def after_pass(self) -> None:
        rss = self._rss()
        if rss is None:
            return
        if self._settled is None:
            self._settled = rss
        elif rss > self._settled + self.slack:
            self.release()

    def release(self) -> None:
        """Trim now (after a pass that grew too much, or once the model is idle)."""
        self._trim()
        self.trims += 1
        self._settled = self._rss()
