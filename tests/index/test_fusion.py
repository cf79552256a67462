"""Reciprocal rank fusion: the scores, and ties going to the dense ranking."""

from __future__ import annotations

import pytest

from omnivec.index.base import Hit
from omnivec.index.fusion import RRF_K, reciprocal_rank_fusion


def ranking(*ids: str) -> list[Hit]:
    return [Hit(id=i, score=1.0 - n / 10, text=i, payload={"n": n}) for n, i in enumerate(ids)]


def test_scores_are_summed_reciprocal_ranks() -> None:
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), ranking("c", "d")], limit=10)
    scores = {h.id: h.score for h in fused}
    assert scores["c"] == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert scores["a"] == pytest.approx(1 / (RRF_K + 1))
    assert scores["d"] == pytest.approx(1 / (RRF_K + 2))
    assert [h.id for h in fused] == ["c", "a", "b", "d"]


def test_ties_go_to_the_first_ranking() -> None:
    # x: dense 1st, lexical 2nd; y: dense 2nd, lexical 1st -> equal RRF scores
    assert [h.id for h in reciprocal_rank_fusion([ranking("x", "y"), ranking("y", "x")], limit=2)] == [
        "x",
        "y",
    ]
    assert [h.id for h in reciprocal_rank_fusion([ranking("y", "x"), ranking("x", "y")], limit=2)] == [
        "y",
        "x",
    ]


def test_limit_and_payloads() -> None:
    fused = reciprocal_rank_fusion([ranking("a", "b", "c"), []], limit=2)
    assert [(h.id, h.text, dict(h.payload)) for h in fused] == [("a", "a", {"n": 0}), ("b", "b", {"n": 1})]
    assert reciprocal_rank_fusion([[], []], limit=5) == []
