"""Edge's index build (``optimize``) next to live traffic: HNSW-indexed search stays right,
writes and searches go on while it runs, and dropping a collection waits for it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from omnivec.index.base import Compare, Point, SearchMode
from omnivec.index.edge import EdgeVectorStore
from tests.index.test_contract import pid

DIMS = 16
POINTS = 3000


def _filled(tmp_path: Path) -> tuple[EdgeVectorStore, np.ndarray]:
    # a 1 KB threshold: every segment gets an HNSW index, so the indexed path is what is tested
    store = EdgeVectorStore(tmp_path, indexing_threshold_kb=1)
    store.create_collection("s", DIMS)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((POINTS, DIMS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.upsert(
        "s",
        [
            Point(pid(str(i)), v, f"word{i % 100}", {"metadata": {"group": f"g{i % 10}"}})
            for i, v in enumerate(vectors)
        ],
    )
    return store, vectors


def test_indexed_search_finds_the_exact_neighbours(tmp_path: Path) -> None:
    store, vectors = _filled(tmp_path)
    store.optimize("s")
    # the premise: the points are in HNSW-indexed segments now, not searched exhaustively
    assert store._shards["s"].shard.info().indexed_vectors_count >= POINTS
    query = vectors[7]
    hits = store.search("s", vector=query, text=None, mode=SearchMode.DENSE, limit=10)
    exact = np.argsort(-(vectors @ query))[:10]
    assert hits[0].id == pid("7")
    assert len({h.id for h in hits} & {pid(str(i)) for i in exact}) >= 9  # approximate, but close
    filtered = store.search(
        "s", vector=query, text=None, mode=SearchMode.DENSE, limit=10, where=Compare("group", "=", "g3")
    )
    assert len(filtered) == 10
    assert all(h.payload["metadata"]["group"] == "g3" for h in filtered)
    store.close()


def test_traffic_goes_on_during_the_build_and_drop_waits_for_it(tmp_path: Path) -> None:
    store, _ = _filled(tmp_path)
    failures: list[BaseException] = []

    def build() -> None:
        try:
            store.optimize("s")
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)

    builder = threading.Thread(target=build)
    builder.start()
    rng = np.random.default_rng(1)
    for i in range(20):
        store.upsert("s", [Point(pid(f"new{i}"), rng.standard_normal(DIMS), "fresh", {})])
        assert store.search(
            "s", vector=rng.standard_normal(DIMS), text="fresh", mode=SearchMode.HYBRID, limit=3
        )
    store.drop_collection("s")  # while the build may still run: it waits, then removes
    builder.join(timeout=120)
    assert not builder.is_alive()
    assert not failures or all("does not exist" in str(f) for f in failures)
    assert not store.has_collection("s")
    assert [p.name for p in tmp_path.iterdir()] == []
    store.close()
