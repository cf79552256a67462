"""One budget for the bytes the server holds on requests' behalf.

A small request can make the server hold far more than its own size: a ``file_data`` part names
a stored file of tens of megabytes, a decoded image or PDF page is width x height x 3 bytes. So
every such holding is taken from one budget *before* the bytes are read or decoded, and given
back when the request is over; when the budget is spent the request gets 429 at once, never a
queue of requests each holding their bytes. Request bodies (the HTTP middleware), stored files
read for an embedding, and decoded media all draw on the same budget.

Holdings are tied to a request through a scope (a context variable, so threads started with
``asyncio.to_thread`` inside it charge the same scope): ``with budget.scope(): ...`` and, inside,
``budget.charge(n)``. Everything charged in the scope is given back when it ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from omnivec.errors import ResourceExhausted


@dataclass(slots=True)
class _Scope:
    held: int = 0
    budget: MemoryBudget | None = field(default=None, repr=False)


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("omnivec_memory_scope", default=None)


class MemoryBudget:
    """``capacity`` bytes in all; None means unlimited (the library, tests of other things)."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._lock = threading.Lock()

    def try_take(self, size: int) -> bool:
        with self._lock:
            if self.capacity is not None and self.in_use + size > self.capacity:
                return False
            self.in_use += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.in_use = max(0, self.in_use - size)

    def take(self, size: int) -> None:
        """``try_take`` or 429."""
        if not self.try_take(size):
            raise self.exhausted()

    def exhausted(self) -> ResourceExhausted:
        return ResourceExhausted(
            "The server is holding as much request data as it may; retry after a short wait.",
            retry_after_s=1.0,
        )

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Everything ``charge``d inside is given back at the end. Nested scopes charge the
        outermost one (an embed call inside a request already in a scope)."""
        if _SCOPE.get() is not None:
            yield
            return
        current = _Scope(budget=self)
        token = _SCOPE.set(current)
        try:
            yield
        finally:
            _SCOPE.reset(token)
            self.give(current.held)

    def charge(self, size: int) -> None:
        """Take ``size`` bytes for the current request (429 when the budget is spent). Outside a
        scope nothing is held past this call, so the check alone is made."""
        self.take(size)
        current = _SCOPE.get()
        if current is not None and current.budget is self:
            current.held += size
        else:
            self.give(size)
