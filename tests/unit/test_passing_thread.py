"""Load-time model passes run on a thread that ends with them (``in_passing_thread``)."""

from __future__ import annotations

import threading

import pytest

from omnivec.runtime.backends.device import in_passing_thread


def test_the_work_runs_on_a_thread_of_its_own_that_has_ended() -> None:
    seen: list[threading.Thread] = []

    def work() -> int:
        seen.append(threading.current_thread())
        return 42

    assert in_passing_thread(work) == 42
    [thread] = seen
    assert thread is not threading.current_thread()
    assert not thread.is_alive()


def test_its_error_reaches_the_caller() -> None:
    def work() -> None:
        raise ValueError("the probe failed")

    with pytest.raises(ValueError, match="the probe failed"):
        in_passing_thread(work)
