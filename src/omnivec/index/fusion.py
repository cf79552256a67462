"""Reciprocal rank fusion of a dense and a lexical ranking, done here rather than in the engine
so that both adapters fuse identically and ties break the same documented way.

Score of a point: the sum over the rankings it appears in of ``1 / (k + rank)`` (rank from 1,
``k = 60`` as in Cormack et al. 2009, the usual default). With two rankings, "first in one,
second in the other" ties exactly with the reverse; such ties (common: a query word that also
appears in the dense runner-up) go to the point ranked higher by the *first* ranking given, the
dense one, because a dense match carries the meaning of the whole query.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from omnivec.index.base import Hit

RRF_K = 60
# Each side of a hybrid query brings this many candidates per result asked for (at least 50),
# so a point ranked modestly by both sides can still win.
CANDIDATES_PER_RESULT = 4
MIN_CANDIDATES = 50


def hybrid_candidates(limit: int) -> int:
    return max(MIN_CANDIDATES, limit * CANDIDATES_PER_RESULT)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hit]], limit: int, k: int = RRF_K) -> list[Hit]:
    """The fused top ``limit``, best first; each hit's ``score`` is its RRF score."""
    scores: dict[str, float] = {}
    ranks: dict[str, list[float]] = {}
    hits: dict[str, Hit] = {}
    for which, ranking in enumerate(rankings):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(hit.id, [math.inf] * len(rankings))[which] = rank
            hits.setdefault(hit.id, hit)
    order = sorted(scores, key=lambda point: (-scores[point], ranks[point]))
    return [dataclasses.replace(hits[point], score=scores[point]) for point in order[:limit]]
