"""Giving memory back to the operating system once a model goes idle.

A forward pass allocates activations of up to a batch's padded size and frees them again; glibc
keeps freed memory in its heaps for reuse, so without this the resident size of an idle server
stays at the high-water mark of its largest batch. ``malloc_trim`` returns the free pages.
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


def release_free_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
