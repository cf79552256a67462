"""Giving memory back to the operating system once a model goes idle, and keeping a burst of
requests from growing the heap in the first place.

A forward pass allocates activations of up to a batch's padded size and frees them again; glibc
keeps freed memory in its heaps for reuse, so without this the resident size of an idle server
stays at the high-water mark of its largest batch. ``malloc_trim`` returns the free pages.

Under a burst, two glibc defaults make it worse: every thread that allocates (request handlers'
worker threads, the tokenizer's, torch's) may get an arena of its own (up to eight per core),
each keeping its own free memory; and the threshold above which an allocation gets its own
mapping (returned to the system the moment it is freed) rises with every large block freed, so
activations and response buffers end up in those heaps. ``tune_allocator`` caps the arenas
and fixes the threshold.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
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


# mallopt parameters (malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Allocations at or above this get their own mapping: activations, token and vector arrays,
# response buffers. Small enough for a batch's tensors, large enough to keep small objects cheap.
MMAP_THRESHOLD_BYTES = 256 * 1024
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


def tune_allocator(arena_max: int = ARENA_MAX, mmap_threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Cap glibc's arenas and fix its mmap threshold, for the serving process. Returns whether
    the allocator took the settings (False where it is not glibc)."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, arena_max)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))


def release_free_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
