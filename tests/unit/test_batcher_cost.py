"""The token-cost batching rule, the idle signal, and replicas sharing one queue."""

from __future__ import annotations

import asyncio
import threading

import pytest

from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.batcher import BatchLimits, TokenBudgetBatcher, WorkItem, worth_adding
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.runtime.runner import ModelRunner
from omnivec.types import Priority


def _limits(**overrides: float) -> BatchLimits:
    values: dict = {
        "max_batch_tokens": 4096,
        "max_batch_items": 128,
        "max_wait_s": 0.0,
        "max_queue_items": 10_000,
        "pass_overhead_tokens": 64,
    }
    values.update(overrides)
    return BatchLimits(**values)


def _submit(batcher: TokenBudgetBatcher, costs: list[int]) -> None:
    batcher.submit(
        [WorkItem(PreparedItem(c, c, i), Priority.ONLINE, lambda v, e: None) for i, c in enumerate(costs)]
    )


def _drain(batcher: TokenBudgetBatcher) -> list[list[int]]:
    batches = []
    while batcher.depth:
        batch = batcher.next_batch()
        assert batch
        batches.append([w.prepared.cost for w in batch])
    return batches


def test_worth_adding_compares_marginal_cost_with_the_batch_average() -> None:
    # A batch of one 10-token item padded to 10 with a 64-token overhead costs 7.4 per real token;
    # a 12-token newcomer adds 12 + 2 padded tokens for 12 real ones: worth it.
    assert worth_adding(real=10, padded=10, cost=12, grown_padded=24, overhead=64)
    # A full batch of 100 ten-token items costs about 1.06 per real token; a 200-token newcomer
    # would pad all 101 rows to 200 tokens: not worth it.
    assert not worth_adding(real=1000, padded=1000, cost=200, grown_padded=101 * 200, overhead=64)


def test_mixed_lengths_split_into_tight_batches() -> None:
    batcher = TokenBudgetBatcher(_limits())
    costs = [10] * 60 + [200] * 10 + [11] * 40
    _submit(batcher, costs)
    batches = _drain(batcher)
    assert sorted(c for b in batches for c in b) == sorted(costs)
    # The long items never share a batch with the short ones.
    assert all(max(b) / min(b) < 1.5 for b in batches)
    padded = sum(max(b) * len(b) for b in batches)
    assert padded <= 1.05 * sum(costs)


def test_budget_and_item_limits_hold() -> None:
    batcher = TokenBudgetBatcher(
        _limits(max_batch_tokens=512, max_batch_items=16, pass_overhead_tokens=10_000)
    )
    _submit(batcher, [30] * 100)
    for batch in _drain(batcher):
        assert len(batch) <= 16
        assert max(batch) * len(batch) <= 512


def test_oldest_item_is_always_in_the_next_batch() -> None:
    batcher = TokenBudgetBatcher(_limits())
    _submit(batcher, [250] + [10] * 300)
    first = batcher.next_batch()
    assert first is not None
    assert first[0].prepared.cost == 250


def test_next_batch_reports_idle_after_the_timeout() -> None:
    batcher = TokenBudgetBatcher(_limits())
    assert batcher.next_batch(idle_timeout=0.01) == []
    _submit(batcher, [5])
    assert batcher.next_batch(idle_timeout=0.01)
    batcher.close()
    assert batcher.next_batch(idle_timeout=0.01) is None


async def test_runner_calls_on_idle_once_after_work() -> None:
    idle = threading.Event()
    calls: list[int] = []

    def on_idle() -> None:
        calls.append(1)
        idle.set()

    backend = FakeBackend(dimensions=8)
    runner = ModelRunner(backend, _limits(), on_idle=on_idle, idle_s=0.05)
    runner.start()
    try:
        prepared = backend.prepare([ModelInput(("hello",))], auto_truncate=True)
        await runner.run(prepared, Priority.ONLINE)
        assert await asyncio.to_thread(idle.wait, 5.0)
        await asyncio.sleep(0.2)
        assert calls == [1]  # idle is reported once per quiet spell, not every timeout
    finally:
        runner.stop()


class _CountingBackend(FakeBackend):
    def __init__(self) -> None:
        super().__init__(dimensions=8, delay_ms=5.0)
        self.batches = 0

    def forward(self, items):  # type: ignore[no-untyped-def]
        self.batches += 1
        return super().forward(items)


@pytest.mark.parametrize("replicas", [1, 3])
async def test_replicas_share_one_queue_and_every_future_resolves(replicas: int) -> None:
    backends = [_CountingBackend() for _ in range(replicas)]
    runner = ModelRunner(backends[0], _limits(max_batch_items=2), replicas=backends[1:])
    runner.start()
    try:
        prepared = backends[0].prepare([ModelInput((f"text {i}",)) for i in range(40)], auto_truncate=True)
        vectors = await asyncio.gather(*(runner.run([p], Priority.ONLINE) for p in prepared))
    finally:
        runner.stop()
    assert len(vectors) == 40
    assert runner.stats.items == 40
    assert sum(b.batches for b in backends) == runner.stats.batches
    if replicas > 1:
        assert sum(1 for b in backends if b.batches) > 1
