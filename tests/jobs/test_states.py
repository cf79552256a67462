"""The batch-job state machine."""

from __future__ import annotations

import pytest

from omnivec.errors import FailedPrecondition
from omnivec.jobs.states import TRANSITIONS, IllegalTransition, check, transition
from omnivec.storage.memory import MemoryBatchStore
from omnivec.types import BatchState
from tests.storage.test_contract import T0, a_job, items

S = BatchState


def test_every_state_has_an_entry_and_terminal_states_are_final() -> None:
    assert set(TRANSITIONS) == set(BatchState)
    for state in BatchState:
        assert (TRANSITIONS[state] == frozenset()) == state.is_terminal


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.RUNNING),
        (S.PENDING, S.CANCELLED),
        (S.PENDING, S.EXPIRED),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.FAILED),
        (S.RUNNING, S.CANCELLED),
        (S.RUNNING, S.EXPIRED),
    ],
)
def test_legal_moves(current: BatchState, target: BatchState) -> None:
    check("j", current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.PENDING, S.SUCCEEDED),
        (S.RUNNING, S.PENDING),
        (S.RUNNING, S.RUNNING),
        (S.SUCCEEDED, S.CANCELLED),
        (S.CANCELLED, S.RUNNING),
        (S.EXPIRED, S.SUCCEEDED),
        (S.FAILED, S.PENDING),
    ],
)
def test_illegal_moves_are_refused_clearly(current: BatchState, target: BatchState) -> None:
    with pytest.raises(IllegalTransition) as info:
        check("j", current, target)
    assert isinstance(info.value, FailedPrecondition)
    assert f"is {current.value} and cannot become {target.value}" in info.value.message


def test_transition_goes_through_the_store_with_compare_and_set() -> None:
    store = MemoryBatchStore()
    job = store.create(a_job(), items(1))
    running = transition(store, job, S.RUNNING, T0)
    assert running is not None and running.state is S.RUNNING
    # Acting on a stale read: the store refuses (someone else moved the job first).
    assert transition(store, job, S.CANCELLED, T0) is None
    done = transition(store, running, S.SUCCEEDED, T0)
    assert done is not None
    with pytest.raises(IllegalTransition):
        transition(store, done, S.CANCELLED, T0)
