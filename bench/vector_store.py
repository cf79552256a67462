"""Query latency and recall of the default vector store (Qdrant Edge) on 100k chunks.

    python -m bench.vector_store [--points 100000] [--queries 200] [--dims 384]

Builds a store of random-but-clustered unit vectors (``--clusters`` Gaussian clusters, the shape
real embeddings have) with a short synthetic text and a metadata field per chunk, through the
same adapter the server uses (``omnivec.index.edge.EdgeVectorStore``). Measures the upsert time,
the index build (``optimize``), then for held-out queries from the same distribution: p50/p95
latency of DENSE, filtered DENSE (10% selectivity), LEXICAL and HYBRID searches of 10 results,
each against brute-force numpy on the same vectors (recall@10, and numpy's own p50). Latency
includes the adapter's Python overhead, which is what the server pays. Results go to
bench/results/vector_store.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from omnivec.index.base import Compare, Point, SearchMode
from omnivec.index.edge import EdgeVectorStore

RESULTS = Path(__file__).resolve().parent / "results"
COLLECTION = "bench"
CATEGORIES = 10  # the filtered query keeps one category: 10% of the points
K = 10


def clustered_vectors(
    rng: np.random.Generator, n: int, dims: int, centres: np.ndarray, spread: float
) -> np.ndarray:
    labels = rng.integers(0, len(centres), n)
    vectors = centres[labels] + rng.standard_normal((n, dims)).astype(np.float32) * spread
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def synthetic_texts(rng: np.random.Generator, n: int, vocabulary: list[str], words: int) -> list[str]:
    # Zipf-like word frequencies, as in real text, so BM25's IDF has something to weigh.
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()
    picks = rng.choice(len(vocabulary), size=(n, words), p=weights)
    return [" ".join(vocabulary[i] for i in row) for row in picks]


def pseudo_words(rng: np.random.Generator, count: int) -> list[str]:
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.integers(2, 4)
        words.add("".join(rng.choice(list(consonants)) + rng.choice(list(vowels)) for _ in range(syllables)))
    return sorted(words)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(seconds, q)) * 1000, 3)


def brute_force_top_k(vectors: np.ndarray, query: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    scores = vectors @ query
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument(
        "--spread", type=float, default=0.06, help="per-dimension noise around a cluster centre"
    )
    parser.add_argument("--batch", type=int, default=1000, help="points per upsert")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "vector_store")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    centres = rng.standard_normal((args.clusters, args.dims)).astype(np.float32) / np.sqrt(args.dims)
    vectors = clustered_vectors(rng, args.points, args.dims, centres, args.spread)
    queries = clustered_vectors(rng, args.queries, args.dims, centres, args.spread)
    vocabulary = pseudo_words(rng, 5000)
    texts = synthetic_texts(rng, args.points, vocabulary, words=24)
    query_texts = synthetic_texts(rng, args.queries, vocabulary, words=4)
    categories = rng.integers(0, CATEGORIES, args.points)
    ids = [str(uuid.UUID(int=i + 1)) for i in range(args.points)]
    index_of = {point_id: i for i, point_id in enumerate(ids)}

    root = Path(tempfile.mkdtemp(prefix="omnivec-bench-vectors-"))
    report: dict[str, Any] = {
        "points": args.points,
        "dims": args.dims,
        "clusters": args.clusters,
        "queries": args.queries,
        "k": K,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
        },
    }
    try:
        store = EdgeVectorStore(root)
        store.create_collection(COLLECTION, args.dims)

        def upsert_all() -> None:
            for start in range(0, args.points, args.batch):
                batch = [
                    Point(
                        ids[i],
                        vectors[i],
                        texts[i],
                        {"document": f"doc-{i // 20}", "metadata": {"category": f"c{categories[i]}"}},
                    )
                    for i in range(start, min(start + args.batch, args.points))
                ]
                store.upsert(COLLECTION, batch)

        report["upsert_s"], _ = timed(upsert_all)
        print(f"upserted {args.points} points in {report['upsert_s']:.1f} s", flush=True)

        def dense(query: np.ndarray, where: Compare | None = None) -> list[int]:
            hits = store.search(
                COLLECTION, vector=query, text=None, mode=SearchMode.DENSE, limit=K, where=where
            )
            return [index_of[h.id] for h in hits]

        # before the index build: exact search over unindexed segments (a few queries)
        unindexed = [timed(lambda q=q: dense(q))[0] for q in queries[:10]]
        report["dense_unindexed_p50_ms"] = percentile_ms(unindexed, 50)

        report["optimize_s"], _ = timed(lambda: store.optimize(COLLECTION))
        print(f"index built in {report['optimize_s']:.1f} s", flush=True)

        for q in queries[:5]:  # warm the page cache and the search threads
            dense(q)

        numpy_s, edge_s, recalls = [], [], []
        for q in queries:
            seconds, exact = timed(lambda q=q: brute_force_top_k(vectors, q))
            numpy_s.append(seconds)
            seconds, found = timed(lambda q=q: dense(q))
            edge_s.append(seconds)
            recalls.append(len(set(found) & set(exact.tolist())) / K)
        report["dense"] = {
            "p50_ms": percentile_ms(edge_s, 50),
            "p95_ms": percentile_ms(edge_s, 95),
            "recall_at_10": round(float(np.mean(recalls)), 4),
        }
        report["numpy_brute_force"] = {
            "p50_ms": percentile_ms(numpy_s, 50),
            "p95_ms": percentile_ms(numpy_s, 95),
        }

        filtered_s, filtered_recalls = [], []
        for n, q in enumerate(queries):
            category = n % CATEGORIES
            exact = brute_force_top_k(vectors, q, mask=categories == category)
            seconds, found = timed(lambda q=q, c=category: dense(q, Compare("category", "=", f"c{c}")))
            filtered_s.append(seconds)
            filtered_recalls.append(len(set(found) & set(exact.tolist())) / K)
        report["dense_filtered_10pct"] = {
            "p50_ms": percentile_ms(filtered_s, 50),
            "p95_ms": percentile_ms(filtered_s, 95),
            "recall_at_10": round(float(np.mean(filtered_recalls)), 4),
        }

        for mode in (SearchMode.LEXICAL, SearchMode.HYBRID):
            mode_s = [
                timed(lambda q=q, t=t, m=mode: store.search(COLLECTION, vector=q, text=t, mode=m, limit=K))[0]
                for q, t in zip(queries, query_texts, strict=True)
            ]
            report[mode.value.lower()] = {
                "p50_ms": percentile_ms(mode_s, 50),
                "p95_ms": percentile_ms(mode_s, 95),
            }

        # blocks actually allocated: Edge preallocates sparse files whose apparent size means little
        used = sum(f.stat().st_blocks * 512 for f in root.rglob("*") if f.is_file())
        report["disk_mb"] = round(used / 2**20, 1)
        store.close()
        report["reopen_s"], reopened = timed(lambda: EdgeVectorStore(root))
        count_s, count = timed(lambda: reopened.count(COLLECTION))
        report["reopen_s"] = round(report["reopen_s"] + count_s, 3)
        assert count == args.points
        reopened.close()
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    report["upsert_s"] = round(report["upsert_s"], 2)
    report["optimize_s"] = round(report["optimize_s"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))


def markdown(r: dict[str, Any]) -> str:
    rows = [
        ("DENSE (HNSW)", r["dense"]["p50_ms"], r["dense"]["p95_ms"], r["dense"]["recall_at_10"]),
        (
            "DENSE, filter keeps 10%",
            r["dense_filtered_10pct"]["p50_ms"],
            r["dense_filtered_10pct"]["p95_ms"],
            r["dense_filtered_10pct"]["recall_at_10"],
        ),
        ("LEXICAL (BM25)", r["lexical"]["p50_ms"], r["lexical"]["p95_ms"], "-"),
        ("HYBRID (dense + BM25, RRF)", r["hybrid"]["p50_ms"], r["hybrid"]["p95_ms"], "-"),
        (
            "numpy brute force (exact)",
            r["numpy_brute_force"]["p50_ms"],
            r["numpy_brute_force"]["p95_ms"],
            1.0,
        ),
        ("DENSE before the index build", r["dense_unindexed_p50_ms"], "-", "-"),
    ]
    m = r["machine"]
    lines = [
        f"# Vector store: Qdrant Edge, {r['points']:,} chunks x {r['dims']} dims ({r['clusters']} clusters)",
        "",
        f"{m['cpus']} CPUs, load average at start {m['load_average'][0]:.1f}; "
        f"{r['queries']} queries, top {r['k']}.",
        "",
        "| Search | p50 ms | p95 ms | recall@10 |",
        "|---|---|---|---|",
        *[f"| {name} | {p50} | {p95} | {recall} |" for name, p50, p95, recall in rows],
        "",
        f"Upsert {r['upsert_s']} s (BM25 vectors computed on the way), index build (`optimize`) "
        f"{r['optimize_s']} s, reopen {r['reopen_s']} s, {r['disk_mb']} MB on disk, "
        f"peak RSS {r['peak_rss_mb']} MB.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
