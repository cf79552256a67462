"""Giving memory back to the operating system once a model goes idle, and keeping a burst of
requests from growing the heap in the first place.

A forward pass allocates activations of up to a batch's padded size and frees them again; glibc
keeps freed memory in its heaps for reuse, so without this the resident size of an idle server
stays at the high-water mark of its largest batch. ``malloc_trim`` returns the free pages.

Under a burst, every thread that allocates (request handlers' worker threads, the tokenizer's,
torch's) may get a glibc arena of its own, up to eight per core, each keeping its own free
memory; ``tune_allocator`` caps them. (The mmap threshold is left to glibc: fixing it low makes
every large activation a fresh mapping, and the page faults cost forward-pass time.)
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
