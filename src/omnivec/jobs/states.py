"""The batch-job state machine: which moves are legal.

    PENDING ──> RUNNING ──> SUCCEEDED | FAILED | CANCELLED | EXPIRED
       └──────────────────> CANCELLED | EXPIRED | FAILED

Terminal states never change again. Every state change goes through ``transition`` (here) and
a compare-and-set in the store, so two actors (the worker, a cancel request, the expiry sweep)
can never both move a job.
"""

from __future__ import annotations

from datetime import datetime

from omnivec.errors import FailedPrecondition
from omnivec.storage.interfaces import BatchStore
from omnivec.storage.records import BatchJob, ItemError
from omnivec.types import BatchState

_S = BatchState
TRANSITIONS: dict[BatchState, frozenset[BatchState]] = {
    _S.PENDING: frozenset({_S.RUNNING, _S.CANCELLED, _S.EXPIRED, _S.FAILED}),
    _S.RUNNING: frozenset({_S.SUCCEEDED, _S.FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.SUCCEEDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.EXPIRED: frozenset(),
}


class IllegalTransition(FailedPrecondition):
    def __init__(self, job_id: str, current: BatchState, target: BatchState) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
        what = f"Batch batches/{job_id} is {current} and cannot become {target}"
        super().__init__(f"{what}; from {current} it may go to {allowed}.")
        self.current = current
        self.target = target


def check(job_id: str, current: BatchState, target: BatchState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(job_id, current, target)


def transition(
    store: BatchStore,
    job: BatchJob,
    target: BatchState,
    now: datetime,
    *,
    error: ItemError | None = None,
    output_file: str | None = None,
) -> BatchJob | None:
    """Move ``job`` (as last read) to ``target``. Raises IllegalTransition for a move the
    machine forbids; returns None when the job changed meanwhile (someone else moved it first)
    or is gone. Blocking: call it off the event loop."""
    check(job.job_id, job.state, target)
    return store.transition(job.job_id, job.state, target, now, error=error, output_file=output_file)
