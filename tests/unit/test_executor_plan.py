"""How many executors run a model, and whether they share its weights (``runtime.executors``)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.executors import CoreShare, ExecutorPlan, plan_executors, threads_per_executor
from omnivec.types import Modality, PromptStyle

SHAREABLE = BackendInfo(
    "m", 8, 16, frozenset({Modality.TEXT}), False, PromptStyle.NONE, True, "test", concurrent_forward=True
)
NOT_SHAREABLE = replace(SHAREABLE, concurrent_forward=False)


def test_one_executor_unless_more_are_configured() -> None:
    assert plan_executors(SHAREABLE, None) == ExecutorPlan(1, shared=False)
    assert plan_executors(NOT_SHAREABLE, None) == ExecutorPlan(1, shared=False)
    assert plan_executors(SHAREABLE, 1) == ExecutorPlan(1, shared=False)


def test_configured_executors_share_where_they_can_and_copy_where_they_cannot() -> None:
    assert plan_executors(SHAREABLE, 3) == ExecutorPlan(3, shared=True)
    assert plan_executors(NOT_SHAREABLE, 3) == ExecutorPlan(3, shared=False)


def test_threads_are_split_but_never_below_one() -> None:
    assert threads_per_executor(2, 2) == 1
    assert threads_per_executor(3, 2) == 1
    assert threads_per_executor(1, 4) == 1


def test_a_pass_alone_takes_every_core_and_passes_at_once_split_them() -> None:
    calls: list[tuple[str, int]] = []
    share = CoreShare(4, lambda n: calls.append((threading.current_thread().name, n)))
    with share.one_pass() as first:
        assert first == 4
        with share.one_pass() as second:
            assert second == 2
            with share.one_pass() as third:
                assert third == 1
    with share.one_pass() as again:
        assert again == 4  # everyone finished: alone again
    assert [n for _, n in calls] == [4, 2, 1, 4]


def test_the_count_is_given_back_when_a_pass_fails() -> None:
    share = CoreShare(2, lambda n: None)
    with pytest.raises(RuntimeError), share.one_pass():
        raise RuntimeError("the model failed")
    with share.one_pass() as threads:
        assert threads == 2
