"""The dynamic batcher and the model runner: budgets, bucketing, priorities, back-pressure,
failure fan-out and shutdown."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from omnivec.errors import Internal, ResourceExhausted, Unavailable
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.batcher import BatchLimits, TokenBudgetBatcher, WorkItem
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.runtime.runner import ModelRunner
from omnivec.types import Priority


def limits(**kw: Any) -> BatchLimits:
    base = {"max_batch_tokens": 100, "max_batch_items": 8, "max_wait_s": 0.0, "max_queue_items": 64}
    base.update(kw)
    return BatchLimits(**base)


def item(cost: int, priority: Priority = Priority.ONLINE, sink: list[Any] | None = None) -> WorkItem:
    def resolve(value: Any, error: BaseException | None) -> None:
        if sink is not None:
            sink.append((value, error))

    return WorkItem(PreparedItem(cost, cost, cost), priority, resolve)


def test_batch_respects_token_budget_and_item_cap() -> None:
    batcher = TokenBudgetBatcher(limits(max_batch_tokens=100, max_batch_items=8))
    batcher.submit([item(10) for _ in range(20)])
    batch = batcher.next_batch()
    assert batch is not None
    assert len(batch) == 8  # item cap before the budget (8 * 10 = 80 <= 100)
    batcher2 = TokenBudgetBatcher(limits(max_batch_tokens=100, max_batch_items=50))
    batcher2.submit([item(30) for _ in range(5)])
    batch2 = batcher2.next_batch()
    assert batch2 is not None and len(batch2) == 3  # 3 * 30 = 90 <= 100 < 4 * 30


def test_oldest_item_always_taken_and_similar_lengths_grouped() -> None:
    batcher = TokenBudgetBatcher(limits(max_batch_tokens=40, max_batch_items=4))
    costs = [20, 1, 19, 2, 18, 3]
    batcher.submit([item(c) for c in costs])
    first = batcher.next_batch()
    assert first is not None
    assert first[0].prepared.cost == 20  # the head of the queue is never skipped
    # The head is joined by the item closest in length (19), not by the short ones.
    assert sorted(w.prepared.cost for w in first) == [19, 20]
    second = batcher.next_batch()
    assert second is not None and second[0].prepared.cost == 1


def test_online_items_go_before_batch_job_items() -> None:
    batcher = TokenBudgetBatcher(limits())
    batcher.submit([item(5, Priority.BATCH) for _ in range(3)])
    batcher.submit([item(5, Priority.ONLINE)])
    batch = batcher.next_batch()
    assert batch is not None
    assert [w.priority for w in batch] == [Priority.ONLINE]


def test_full_queue_refuses_whole_request_at_once() -> None:
    """Admission (before any CPU work) is the one place a request is refused for a full queue."""
    runner = ModelRunner(FakeBackend("full", 4), limits(max_queue_items=5))
    with runner.admit(4):
        with pytest.raises(ResourceExhausted), runner.admit(2):
            pass
        assert runner.admitted == 4  # nothing of the refused request was admitted
        with runner.admit(1):
            assert runner.admitted == 5
    assert runner.admitted == 0


def test_linger_waits_for_company() -> None:
    """A batch that is not full waits (up to max_wait) for more items: with a max_wait far longer
    than the test, the second item arrives while the first waits, and both leave together."""
    batcher = TokenBudgetBatcher(limits(max_wait_s=3600, max_batch_items=2))
    batcher.submit([item(1)])
    taken: list[list[WorkItem] | None] = []
    taker = threading.Thread(target=lambda: taken.append(batcher.next_batch()))
    taker.start()
    batcher.submit([item(1)])
    taker.join(timeout=60)
    assert len(taken) == 1 and taken[0] is not None and len(taken[0]) == 2


def test_close_hands_back_pending_and_refuses_new_work() -> None:
    batcher = TokenBudgetBatcher(limits())
    batcher.submit([item(1), item(2)])
    pending = batcher.close()
    assert len(pending) == 2
    assert batcher.next_batch() is None
    with pytest.raises(Unavailable):
        batcher.submit([item(1)])


class FailOnMarker(FakeBackend):
    """A backend whose forward pass raises when a batch contains the marker text; it exists to
    test the runner's failure fan-out, not any model."""

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = super().prepare(inputs, auto_truncate=auto_truncate)
        for p, inp in zip(prepared, inputs, strict=True):
            p.payload = (p.payload, inp.text())
        return prepared

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        if any(text == "boom" for _, text in (i.payload for i in items)):
            raise RuntimeError("device fell over")
        rows = [
            np.random.default_rng(seed).standard_normal(self.info.dimensions)
            for seed, _ in (i.payload for i in items)
        ]
        return np.stack(rows).astype(np.float32)


async def test_backend_failure_fails_only_its_batch() -> None:
    backend = FailOnMarker("failing", 8)
    runner = ModelRunner(backend, limits(max_batch_items=1))
    runner.start()
    try:
        good, bad = [ModelInput(("fine",))], [ModelInput(("boom",))]
        results = await asyncio.gather(
            runner.run(backend.prepare(good, auto_truncate=True), Priority.ONLINE),
            runner.run(backend.prepare(bad, auto_truncate=True), Priority.ONLINE),
            return_exceptions=True,
        )
        assert isinstance(results[0], list) and results[0][0].shape == (8,)
        assert isinstance(results[1], Internal)
        assert "device fell over" not in results[1].message  # no internals leak
        # The runner survives and keeps serving.
        again = await runner.run(backend.prepare(good, auto_truncate=True), Priority.ONLINE)
        np.testing.assert_allclose(again[0], results[0][0])
    finally:
        runner.stop()


async def test_stop_resolves_every_queued_item() -> None:
    backend = FakeBackend("slow", 4, delay_ms=200)
    runner = ModelRunner(backend, limits(max_batch_items=1))
    runner.start()
    inputs = [ModelInput((f"text {i}",)) for i in range(5)]
    tasks = [
        asyncio.create_task(runner.run(backend.prepare([x], auto_truncate=True), Priority.ONLINE))
        for x in inputs
    ]
    await asyncio.sleep(0.05)
    await asyncio.to_thread(runner.stop)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=5)
    assert len(results) == 5
    outcomes = {type(r).__name__ for r in results}
    assert outcomes <= {"list", "Unavailable"}
    assert "Unavailable" in outcomes  # queued work was failed, not dropped


async def test_runner_counts_padding_and_tokens() -> None:
    backend = FakeBackend("stats", 4)
    runner = ModelRunner(backend, limits(max_wait_s=0.05))
    runner.start()
    try:
        inputs = [ModelInput(("a",)), ModelInput(("a b c d e",))]
        await runner.run(backend.prepare(inputs, auto_truncate=True), Priority.ONLINE)
    finally:
        runner.stop()
    # The fake backend counts words + 2: 3 and 7 tokens, one batch padded to the longer.
    assert (runner.stats.batches, runner.stats.items) == (1, 2)
    assert runner.stats.tokens == 3 + 7
    assert runner.stats.padded_tokens == 2 * 7


def test_one_submit_wakes_every_idle_executor_it_has_work_for() -> None:
    """A request's items arrive in one submit; an executor that takes a batch of them and leaves
    more behind wakes the next idle executor, so a second copy never sleeps beside work."""
    batcher = TokenBudgetBatcher(limits(max_batch_items=2))
    taken: dict[str, int] = {}
    ready = threading.Barrier(3)
    both_busy = threading.Barrier(2, timeout=5)

    def executor(name: str) -> None:
        ready.wait()
        batch = batcher.next_batch()  # blocks: nothing is queued yet
        assert batch
        taken[name] = len(batch)
        both_busy.wait()  # only passes if the other executor got a batch too

    threads = [threading.Thread(target=executor, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    ready.wait()
    _wait_until(lambda: len(batcher._idle) == 2)  # both are waiting inside next_batch
    batcher.submit([item(4) for _ in range(4)])
    for t in threads:
        t.join(10)
    assert taken == {"a": 2, "b": 2}


def test_work_wakes_the_first_idle_executor() -> None:
    """A light load always lands on executor 0, whichever went idle last."""
    batcher = TokenBudgetBatcher(limits())
    got: list[int] = []

    def executor(rank: int) -> None:
        batch = batcher.next_batch(idle_timeout=10.0, rank=rank)
        if batch:
            got.append(rank)

    def idle_executors() -> int:
        with batcher._lock:
            return len(batcher._idle)

    def wait_until_idle(count: int) -> None:
        deadline = time.monotonic() + 5
        while idle_executors() < count and time.monotonic() < deadline:
            time.sleep(0.005)

    first_idle = threading.Thread(target=executor, args=(1,))
    first_idle.start()
    wait_until_idle(1)
    last_idle = threading.Thread(target=executor, args=(0,))
    last_idle.start()
    wait_until_idle(2)
    batcher.submit([item(4)])
    last_idle.join(5)
    batcher.close()  # lets the other one go
    first_idle.join(5)
    assert got == [0]


def test_an_executor_lingering_when_another_takes_everything_waits_again() -> None:
    # The first executor lingers for company (the lock released); a submit that fills a batch
    # wakes it and the idle second one, and the second may take it all first. The first must
    # go back to waiting, not fail on an empty queue (that ended its thread).
    batcher = TokenBudgetBatcher(limits(max_batch_items=4, max_wait_s=5.0))
    taken: list[int] = []
    failures: list[BaseException] = []

    def executor(rank: int) -> None:
        try:
            while (batch := batcher.next_batch(rank=rank)) is not None:
                taken.append(len(batch))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=executor, args=(rank,)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    rounds = 40
    for k in range(rounds):
        _wait_until(lambda: len(batcher._idle) == 2)  # both idle
        batcher.submit([item(1)])  # wakes the first, which lingers for company
        _wait_until(lambda: len(batcher._more._waiters) == 1)  # type: ignore[attr-defined]
        batcher.submit([item(1) for _ in range(3)])  # a full batch: whoever is first takes it
        _wait_until(lambda k=k: sum(taken) == 4 * (k + 1) or bool(failures))
        assert not failures, failures
    batcher.close()
    for thread in threads:
        thread.join(5)
    assert not failures and sum(taken) == 4 * rounds


def _wait_until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.0005)
