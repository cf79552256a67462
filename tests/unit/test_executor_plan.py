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


def test_a_server_on_a_multicore_cpu_runs_two_executors_over_one_model() -> None:
    plan = plan_executors(SHAREABLE, None, owns_process=True, torch_threads=None, cores=8)
    assert plan == ExecutorPlan(2, shared=True)
    assert threads_per_executor(8, plan.executors) == 4


def test_the_library_and_explicit_threads_keep_one_executor() -> None:
    assert plan_executors(SHAREABLE, None, owns_process=False, torch_threads=None, cores=8).executors == 1
    assert plan_executors(SHAREABLE, None, owns_process=True, torch_threads=4, cores=8).executors == 1


def test_one_core_or_a_model_that_cannot_share_keeps_one_executor() -> None:
    assert plan_executors(SHAREABLE, None, owns_process=True, torch_threads=None, cores=1).executors == 1
    assert plan_executors(NOT_SHAREABLE, None, owns_process=True, torch_threads=None, cores=8).executors == 1


def test_configured_replicas_share_where_they_can_and_copy_where_they_cannot() -> None:
    assert plan_executors(SHAREABLE, 3, owns_process=False, torch_threads=None, cores=8) == ExecutorPlan(
        3, True
    )
    assert plan_executors(NOT_SHAREABLE, 3, owns_process=True, torch_threads=None, cores=8) == ExecutorPlan(
        3, False
    )
    assert plan_executors(SHAREABLE, 1, owns_process=True, torch_threads=None, cores=8) == ExecutorPlan(
        1, False
    )


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
