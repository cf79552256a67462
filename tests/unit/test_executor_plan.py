"""How many executors run a model, and whether they share its weights (``runtime.executors``)."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest

from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.executors import (
    CoreShare,
    ExecutorPlan,
    pass_thread_counts,
    plan_executors,
    threads_per_executor,
)
from omnivec.types import Modality, PromptStyle

SHAREABLE = BackendInfo(
    "m", 8, 16, frozenset({Modality.TEXT}), False, PromptStyle.NONE, True, "test", concurrent_forward=True
)
NOT_SHAREABLE = replace(SHAREABLE, concurrent_forward=False)


def test_the_server_on_a_multicore_cpu_runs_two_executors_over_one_model() -> None:
    plan = plan_executors(SHAREABLE, None, owns_process=True, torch_threads=None, cores=8)
    assert plan == ExecutorPlan(2, shared=True)


def test_the_library_explicit_threads_one_core_or_no_sharing_keep_one_executor() -> None:
    assert plan_executors(SHAREABLE, None, owns_process=False, torch_threads=None, cores=8).executors == 1
    assert plan_executors(SHAREABLE, None, owns_process=True, torch_threads=4, cores=8).executors == 1
    assert plan_executors(SHAREABLE, None, owns_process=True, torch_threads=None, cores=1).executors == 1
    assert plan_executors(NOT_SHAREABLE, None, owns_process=True, torch_threads=None, cores=8).executors == 1


def test_configured_executors_share_where_they_can_and_copy_where_they_cannot() -> None:
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


def test_the_first_executor_takes_every_core_alone_and_its_share_otherwise() -> None:
    calls: list[int] = []
    share = CoreShare(4, calls.append)
    with share.one_pass(0) as alone:
        assert alone == 4
    with share.one_pass(1) as second:
        assert second == 1  # the others never use more than one thread (one OpenMP pool in all)
        with share.one_pass(0) as first:
            assert first == 2
    with share.one_pass(0) as again:
        assert again == 4  # everyone finished: alone again
    assert calls == [4, 1, 2, 4]


def test_the_count_is_given_back_when_a_pass_fails() -> None:
    share = CoreShare(2, lambda n: None)
    with pytest.raises(RuntimeError), share.one_pass():
        raise RuntimeError("the model failed")
    with share.one_pass() as threads:
        assert threads == 2


def test_every_thread_count_core_sharing_can_give_a_pass_is_listed() -> None:
    # What a compiled engine is built for: a pass with a count not built would compile mid-request.
    for cores in (1, 2, 3, 8, 16):
        for executors in (1, 2, 3):
            listed = pass_thread_counts(cores, executors)
            share = CoreShare(cores, lambda n: None)
            seen: set[int] = set()
            # Every rank, with every number of passes running alongside it.
            for running in range(executors):
                with contextlib.ExitStack() as others:
                    for rank in range(1, running + 1):
                        seen.add(others.enter_context(share.one_pass(rank)))
                    with share.one_pass(0) as threads:
                        seen.add(threads)
            assert seen <= set(listed), (cores, executors, listed, seen)
            assert listed[0] == cores  # the first executor alone: the most frequent
    assert pass_thread_counts(2, 2) == (2, 1)
    assert pass_thread_counts(2, 1) == (2,)
