"""Embedding cache throughput on a corpus with 50 % repeats, and int8 retrieval recall.

    python -m bench.cache_and_int8 [--texts 512] [--batch 32]

Cache: the bundled MiniLM served twice in this process (cache off, then ``cache.memory_mb=64``),
the same stream of ``batchEmbedContents`` calls against each: ``--texts`` stdlib paragraphs
where every text is sent twice, in a shuffled order (half the inputs are repeats). Throughput is
texts per second over the whole stream.

int8: the same paragraphs as a corpus, the first sentence of 100 of them as queries, embedded
through Cohere's ``/v2/embed`` with ``embedding_types=["float", "int8"]``. Recall@10 is the
share of each query's float top-10 that the int8 top-10 (dot products of the int8 vectors)
also holds. Results go to bench/results/cache_and_int8.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from tests.support.server import start_server

from omnivec.benchmark.corpus import stdlib_paragraphs
from omnivec.bootstrap import build
from omnivec.settings import Settings

RESULTS = Path(__file__).parent / "results"


def throughput(base_url: str, model: str, stream: list[str], batch: int) -> float:
    with httpx.Client(base_url=base_url, timeout=300) as client:
        started = time.perf_counter()
        for i in range(0, len(stream), batch):
            body = {"requests": [{"content": {"parts": [{"text": t}]}} for t in stream[i : i + batch]]}
            client.post(f"/v1beta/models/{model}:batchEmbedContents", json=body).raise_for_status()
        return len(stream) / (time.perf_counter() - started)


def cohere_embed(
    base_url: str, model: str, texts: list[str], input_type: str
) -> tuple[np.ndarray, np.ndarray]:
    floats, ints = [], []
    with httpx.Client(base_url=base_url, timeout=300) as client:
        for i in range(0, len(texts), 96):
            body = {
                "model": model,
                "texts": texts[i : i + 96],
                "input_type": input_type,
                "embedding_types": ["float", "int8"],
            }
            r = client.post("/v2/embed", json=body)
            r.raise_for_status()
            floats.extend(r.json()["embeddings"]["float"])
            ints.extend(r.json()["embeddings"]["int8"])
    return np.array(floats, dtype=np.float32), np.array(ints, dtype=np.float32)


def recall_at_10(base_url: str, model: str, corpus: list[str]) -> float:
    queries = [p.split(". ")[0] for p in corpus[:100]]
    doc_f, doc_i = cohere_embed(base_url, model, corpus, "search_document")
    q_f, q_i = cohere_embed(base_url, model, queries, "search_query")
    top_f = np.argsort(-(q_f @ doc_f.T), axis=1)[:, :10]
    top_i = np.argsort(-(q_i @ doc_i.T), axis=1)[:, :10]
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(top_f, top_i, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    paragraphs = [p for p in stdlib_paragraphs() if 40 <= len(p) <= 600][: args.texts]
    stream = paragraphs + paragraphs
    random.Random(0).shuffle(stream)
    results: dict[str, object] = {
        "texts": len(stream),
        "distinct": len(paragraphs),
        "cpu_count": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for label, cache in (("cache_off", {}), ("cache_on", {"memory_mb": 64})):
            settings = Settings(models=["default"], data_dir=Path(tmp) / label, cache=cache)
            server = start_server(build(settings))
            try:
                model = server.container.runtime.model_ids()[0]
                throughput(server.base_url, model, paragraphs[:64], args.batch)  # warm-up (distinct texts)
                results[f"{label}_texts_per_s"] = round(
                    throughput(server.base_url, model, stream, args.batch), 1
                )
                if label == "cache_off":
                    results["int8_recall_at_10"] = round(recall_at_10(server.base_url, model, paragraphs), 4)
            finally:
                server.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cache_and_int8.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| measure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in results.items())]
    (RESULTS / "cache_and_int8.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
