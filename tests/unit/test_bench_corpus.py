"""The benchmark corpus and the ceiling's batching."""

from __future__ import annotations

from omnivec.benchmark.corpus import build_corpus
from omnivec.benchmark.reference import token_budget_batches
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.inputs import PreparedItem


def test_corpus_is_deterministic_prose_of_the_requested_size() -> None:
    a = build_corpus(200, 20, 30, seed=1)
    b = build_corpus(200, 20, 30, seed=1)
    c = build_corpus(200, 20, 30, seed=2)
    assert a == b and a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
    assert (len(a.texts), len(a.long_texts), len(a.short_texts)) == (200, 20, 30)
    assert len(set(a.texts)) > 150
    for text in a.texts:
        assert text[0].isupper() and ">>>" not in text
    lengths = sorted(len(t.split()) for t in a.texts)
    assert lengths[0] >= 8 and lengths[-1] > 4 * lengths[len(lengths) // 2]  # a real spread of lengths
    assert all(145 <= len(t.split()) <= 170 for t in a.long_texts)
    assert all(4 <= len(t.split()) <= 14 for t in a.short_texts)


def test_ceiling_batches_are_sorted_and_within_the_server_limits() -> None:
    limits = BatchLimits(512, 16, 0.0, 1000, pass_overhead_tokens=64)
    costs = [7, 300, 12, 12, 40, 41, 39, 250, 9, *range(5, 60)]
    batches = token_budget_batches([PreparedItem(c, c, None) for c in costs], limits)
    flat = [i.cost for b in batches for i in b]
    assert flat == sorted(costs)
    for batch in batches:
        assert len(batch) <= 16
        assert max(i.cost for i in batch) * len(batch) <= 512 or len(batch) == 1
