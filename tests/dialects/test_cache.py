"""The embedding cache: same vectors as without it, hits and misses in /metrics, MRL after the
cache, the persistent tier across a restart, and the memory bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import httpx
import numpy as np

from omnivec.runtime.inputs import EncodedItem, ModelInput
from omnivec.services.embedding_cache import EmbeddingCache, cache_key
from omnivec.types import Modality, TokenIdsPart, Truncation
from tests.dialects.conftest import assert_same_vectors, gemini_vectors
from tests.support.server import RunningServer

TEXTS = ["one fish", "two fish", "red fish", "blue fish"]


def metric(server: RunningServer, name: str) -> float:
    for line in httpx.get(server.base_url + "/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "_total "):
            return float(line.split()[-1])
    raise AssertionError(name)


def test_hits_give_the_same_vectors(serve: Callable[..., RunningServer], fake_server: RunningServer) -> None:
    server = serve(models=["fake:64"], cache={"memory_mb": 1})
    model = server.container.runtime.model_ids()[0]
    first = gemini_vectors(server, model, TEXTS)
    assert metric(server, "omnivec_cache_misses") == 4 and metric(server, "omnivec_cache_hits") == 0
    again = gemini_vectors(server, model, [*TEXTS[:2], "green fish"])
    assert metric(server, "omnivec_cache_hits") == 2 and metric(server, "omnivec_cache_misses") == 5
    assert_same_vectors(again[:2], first[:2])
    # Uncached server, same model: the same vectors; the Matryoshka cut is applied after the cache.
    assert_same_vectors(first, gemini_vectors(fake_server, model, TEXTS))
    cut = gemini_vectors(server, model, TEXTS[:1], outputDimensionality=8)
    assert metric(server, "omnivec_cache_hits") == 3
    assert_same_vectors(cut, gemini_vectors(fake_server, model, TEXTS[:1], outputDimensionality=8))
    # The truncation setting is part of the key: the same text without autoTruncate is a miss.
    r = httpx.post(
        f"{server.base_url}/v1beta/models/{model}:embedContent",
        json={"content": {"parts": [{"text": TEXTS[0]}]}, "embedContentConfig": {"autoTruncate": False}},
    )
    assert r.status_code == 200 and metric(server, "omnivec_cache_misses") == 6


def test_persistent_tier_survives_a_restart(serve: Callable[..., RunningServer]) -> None:
    settings = {"models": ["fake:64"], "cache": {"memory_mb": 1, "persistent_mb": 1}}
    first = serve(**settings)
    model = first.container.runtime.model_ids()[0]
    vectors = gemini_vectors(first, model, TEXTS)
    first.stop()
    second = serve(**settings)
    assert_same_vectors(gemini_vectors(second, model, TEXTS), vectors)
    assert metric(second, "omnivec_cache_hits") == 4 and metric(second, "omnivec_cache_misses") == 0


def test_memory_bound_evicts_least_recently_used() -> None:
    def item(seed: int) -> EncodedItem:
        return EncodedItem(np.full(256, seed, dtype=np.float32), 3, {Modality.TEXT: 3}, False)

    cache = EmbeddingCache(max_bytes=3 * 1500)  # room for three 1 KiB vectors with overhead

    async def run() -> list[bool]:
        await cache.put_many([(bytes([i]), item(i)) for i in range(3)])
        await cache.get_many([bytes([0])])  # 0 is now the most recently used
        await cache.put_many([(bytes([3]), item(3))])  # evicts 1
        found = await cache.get_many([bytes([i]) for i in range(4)])
        return [f is not None for f in found]

    assert asyncio.run(run()) == [True, False, True, True]
    assert cache.stats().bytes <= cache.max_bytes


def test_key_covers_the_cut_side_and_token_ids() -> None:
    text = ModelInput(("a text that may be cut",))
    sides = (None, Truncation.END, Truncation.START)
    assert len({cache_key("m", replace(text, truncation=side), True) for side in sides}) == 3
    ids = ModelInput((TokenIdsPart((7, 8)),))
    assert cache_key("m", ids, True) == cache_key("m", ModelInput((TokenIdsPart((7, 8)),)), True)
    assert cache_key("m", ids, True) != cache_key("m", ModelInput((TokenIdsPart((7, 9)),)), True)
    assert cache_key("m", ids, True) not in {cache_key("m", ModelInput(("7 8",)), True), None}
