"""A cost-based dynamic batcher: token budget, max items, max wait, bounded queue.

Thread-safe: request handlers ``submit`` from the event loop, the model's executor thread takes
batches with ``next_batch``. Online work always goes before batch-job work, so a running job
delays an online request by at most one forward pass.

Batches are length-bucketed: the oldest waiting item is always taken (no starvation), and it is
joined by the items closest to it in length, so little of the budget goes to padding. A forward
pass costs a fixed overhead (the weights streamed through the caches, the kernels launched) plus
its padded tokens, and padding is computed only to be thrown away; so a batch takes the next item
only while that item costs no more per real token than the batch so far (``worth_adding``). Short
batches grow quickly to amortise the overhead; grown batches refuse ragged newcomers, which then
form tighter batches of their own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omnivec.errors import Unavailable
from omnivec.runtime.inputs import PreparedItem
from omnivec.types import Priority

# How many queued items the bucketing looks at, per max_batch_items.
_WINDOW_FACTOR = 4


@dataclass(slots=True)
class WorkItem:
    prepared: PreparedItem
    priority: Priority
    # Called exactly once from the executor thread with (vector, None) or (None, error).
    resolve: Callable[[Any, BaseException | None], None]
    is_cancelled: Callable[[], bool] = field(default=lambda: False)
    enqueued_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    max_batch_tokens: int
    max_batch_items: int
    max_wait_s: float
    max_queue_items: int
    # The fixed cost of one forward pass, in tokens' worth of compute (see BatchingSettings).
    pass_overhead_tokens: int = 64


class TokenBudgetBatcher:
    def __init__(self, limits: BatchLimits) -> None:
        self.limits = limits
        self._lanes: dict[Priority, deque[WorkItem]] = {p: deque() for p in Priority}
        self._lock = threading.Lock()
        # Executors lingering for more items before a pass (``max_wait_s``).
        self._more = threading.Condition(self._lock)
        # Idle executors by rank: work wakes the lowest idle rank, so a light load always lands on
        # the first executor (warm caches; on a CPU the only one whose passes use several threads,
        # see ``runtime.executors``). A condition's notify would wake the one idle longest, and the
        # executors would take turns.
        self._idle: list[tuple[int, threading.Condition]] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def depth(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def submit(self, items: list[WorkItem]) -> None:
        """Queue a request's items. Room for them was reserved at admission (``ModelRunner.admit``,
        before any CPU work), which bounds the queue; only a closed batcher refuses here."""
        with self._lock:
            if self._closed:
                raise Unavailable("The server is shutting down; retry on another instance.")
            for item in items:
                self._lanes[item.priority].append(item)
            self._more.notify_all()
            self._wake_one()

    def next_batch(self, idle_timeout: float | None = None, *, rank: int = 0) -> list[WorkItem] | None:
        """Block until a batch is ready; ``None`` once closed and drained; an empty list when
        ``idle_timeout`` seconds pass with nothing queued. ``rank``: the calling executor's; the
        lowest idle rank is woken first."""
        with self._lock:
            while True:
                while not self._closed and self.depth == 0:
                    if not self._sleep(idle_timeout, rank) and self.depth == 0 and not self._closed:
                        return []
                if self._closed and self.depth == 0:
                    return None
                self._linger()
                if self.depth == 0:
                    # While it lingered (the lock released), another executor took everything.
                    continue
                lane = self._lanes[min(p for p in Priority if self._lanes[p])]
                batch = self._take(lane)
                if batch:
                    if self.depth:
                        # A submit wakes one executor; the rest of its items are work for the next.
                        self._wake_one()
                    return batch

    def close(self) -> list[WorkItem]:
        """Stop accepting work and hand back everything still queued (for the caller to fail)."""
        with self._lock:
            self._closed = True
            pending = [item for lane in self._lanes.values() for item in lane]
            for lane in self._lanes.values():
                lane.clear()
            self._more.notify_all()
            for _, sleeper in self._idle:
                sleeper.notify()
            return pending

    # --- internals (called with the lock held) -----------------------------------------------
    def _sleep(self, timeout: float | None, rank: int) -> bool:
        """Wait idle until woken (True) or ``timeout`` passes (False)."""
        entry = (rank, threading.Condition(self._lock))
        self._idle.append(entry)
        try:
            return entry[1].wait(timeout)
        finally:
            if entry in self._idle:  # still there unless ``_wake_one`` took it
                self._idle.remove(entry)

    def _wake_one(self) -> None:
        """Wake the idle executor of the lowest rank. It stops counting as idle at once, so the
        next wake-up, before it has run, goes to another."""
        if self._idle:
            entry = min(self._idle, key=lambda idle: idle[0])
            self._idle.remove(entry)
            entry[1].notify()

    def _linger(self) -> None:
        """Wait up to max_wait for more items while the next batch is not yet full."""
        deadline = time.monotonic() + self.limits.max_wait_s
        while not self._closed and self.depth:  # another executor may take everything meanwhile
            lane = self._lanes[min(p for p in Priority if self._lanes[p])]
            tokens = sum(item.prepared.cost for item in lane)
            if tokens >= self.limits.max_batch_tokens or len(lane) >= self.limits.max_batch_items:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._more.wait(remaining)

    def _take(self, lane: deque[WorkItem]) -> list[WorkItem]:
        # Drop items whose requester has gone away: no point computing them.
        while lane and lane[0].is_cancelled():
            lane.popleft()
        if not lane:
            return []
        window_size = min(len(lane), self.limits.max_batch_items * _WINDOW_FACTOR)
        window = [lane[i] for i in range(window_size)]
        order = sorted(range(window_size), key=lambda i: window[i].prepared.cost)
        costs = [max(1, window[i].prepared.cost) for i in order]
        h = order.index(0)
        lo = hi = h
        real = costs[h]
        budget, max_items = self.limits.max_batch_tokens, self.limits.max_batch_items
        # Grow the range around the head in length order, always choosing the neighbour that
        # adds the least padding, while the padded batch stays within the budget and the
        # newcomer is worth its padding.
        while hi - lo + 1 < max_items:
            size = hi - lo + 1
            left_ok = lo > 0 and costs[hi] * (size + 1) <= budget
            right_ok = hi + 1 < window_size and costs[hi + 1] * (size + 1) <= budget
            if not (left_ok or right_ok):
                break
            left_waste = costs[hi] - costs[lo - 1] if left_ok else None
            right_waste = (costs[hi + 1] - costs[hi]) * size if right_ok else None
            go_left = right_waste is None or (left_waste is not None and left_waste <= right_waste)
            newcomer = costs[lo - 1] if go_left else costs[hi + 1]
            grown_padded = (size + 1) * (costs[hi] if go_left else costs[hi + 1])
            if not worth_adding(
                real, size * costs[hi], newcomer, grown_padded, self.limits.pass_overhead_tokens
            ):
                break
            if go_left:
                lo -= 1
            else:
                hi += 1
            real += newcomer
        chosen = {order[i] for i in range(lo, hi + 1)}
        batch = [window[i] for i in sorted(chosen)]
        keep = [item for i, item in enumerate(window) if i not in chosen and not item.is_cancelled()]
        for _ in range(window_size):
            lane.popleft()
        lane.extendleft(reversed(keep))
        return batch


def worth_adding(real: int, padded: int, cost: int, grown_padded: int, overhead: int) -> bool:
    """Whether an item of ``cost`` tokens joins a batch of ``real`` tokens padded to ``padded``
    (``grown_padded`` with it): yes while the padded tokens it adds, per real token it brings, are
    no more than the batch's own cost per real token, counting the pass's fixed ``overhead``."""
    return (grown_padded - padded) * real <= cost * (overhead + padded)
