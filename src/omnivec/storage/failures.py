"""What a full, read-only or failing disk means to a client.

Storage code runs its disk work inside ``storage_errors()``; the operating system's and SQLite's
errors become domain errors with a clear message (google.rpc's own mapping: an exhausted file
system is RESOURCE_EXHAUSTED), instead of an anonymous INTERNAL. The details go to the log.
Nothing is acknowledged that was not stored: the callers' transactions and renames make a
failed write leave no trace.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from omnivec.errors import OmnivecError, ResourceExhausted, Unavailable
from omnivec.logging import get_logger

log = get_logger(__name__)

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
# SQLite reports its file-system troubles as text (the extended codes are not exposed before 3.11).
_SQLITE_FULL = ("database or disk is full",)
_SQLITE_NOT_WRITABLE = ("readonly database", "unable to open database file")
_SQLITE_IO = ("disk i/o error",)


class StorageFull(ResourceExhausted):
    def __init__(self) -> None:
        super().__init__(
            "The server's storage is full; nothing was stored. Retry later, once space has been freed.",
            retry_after_s=60.0,
        )


class StorageNotWritable(Unavailable):
    def __init__(self) -> None:
        super().__init__("The server's storage is read-only; nothing was stored. Please retry later.")


class StorageFailed(Unavailable):
    def __init__(self) -> None:
        super().__init__("The server's storage failed (I/O error); nothing was stored. Please retry later.")


def translate(exc: BaseException) -> OmnivecError | None:
    """The domain error for a storage failure, or None for anything else."""
    if isinstance(exc, OSError):
        if exc.errno in _FULL:
            return StorageFull()
        if exc.errno in _NOT_WRITABLE:
            return StorageNotWritable()
        if exc.errno == errno.EIO:
            return StorageFailed()
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if any(s in text for s in _SQLITE_FULL):
            return StorageFull()
        if any(s in text for s in _SQLITE_NOT_WRITABLE):
            return StorageNotWritable()
        if any(s in text for s in _SQLITE_IO):
            return StorageFailed()
    return None


@contextmanager
def storage_errors() -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        domain = translate(exc)
        if domain is None:
            raise
        log.error("storage failure: %s", exc)
        raise domain from exc
