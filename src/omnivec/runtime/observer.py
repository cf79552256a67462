"""Timing hooks of the runtime, for metrics and benchmarks.

The runtime reports what happened (a prepare step, a batch on the device) to the observers it
was given; it knows nothing about Prometheus or any other sink. Observers are called from the
event loop (``on_prepare``) and from a model's executor thread (``on_batch``), so they must be
thread-safe and quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from omnivec.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One forward pass: its size, its cost, how long it took, how long its items had queued."""

    model_id: str
    items: int
    tokens: int
    padded_tokens: int
    forward_s: float
    queue_waits_s: tuple[float, ...]
    failed: bool


class RuntimeObserver(Protocol):
    def on_prepare(self, model_id: str, items: int, seconds: float) -> None: ...

    def on_batch(self, report: BatchReport) -> None: ...


def notify_prepare(observers: Sequence[RuntimeObserver], model_id: str, items: int, seconds: float) -> None:
    for observer in observers:
        try:
            observer.on_prepare(model_id, items, seconds)
        except Exception:  # a broken metrics sink must never fail an embedding
            log.exception("runtime observer failed")


def notify_batch(observers: Sequence[RuntimeObserver], report: BatchReport) -> None:
    for observer in observers:
        try:
            observer.on_batch(report)
        except Exception:  # a broken metrics sink must never fail an embedding
            log.exception("runtime observer failed")
