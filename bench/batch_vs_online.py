"""Batch API throughput against online throughput on the same texts and the same engine.

    python -m bench.batch_vs_online [--texts 2000] [--model default] [--chunk-items 64 256]

Online: every text is one ``embed`` call, 64 in flight at once (what concurrent clients do).
Batch: one inline job holding the same texts, timed from creation to SUCCEEDED, through the
real worker with its SQLite store (commits fsynced) in a scratch data directory. The ratio is
batch texts per second over online texts per second; results go to
bench/results/batch_vs_online.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from omnivec.bootstrap import build
from omnivec.services.batches import BatchRequest
from omnivec.settings import Settings
from omnivec.types import EmbedInput, EmbedOptions, TextPart

OWNER = "bench"
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
]


def texts(n: int, seed: int = 7) -> list[str]:
    """Sentences of 5 to 60 words: the ragged lengths of real documents."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60))) for _ in range(n)]


def inputs(corpus: list[str]) -> list[EmbedInput]:
    return [EmbedInput((TextPart(t),), EmbedOptions()) for t in corpus]


async def online(container: Any, model: str, corpus: list[str]) -> float:
    slots = asyncio.Semaphore(64)

    async def one(item: EmbedInput) -> None:
        async with slots:
            await container.embeddings.embed(model, [item])

    started = time.perf_counter()
    await asyncio.gather(*(one(x) for x in inputs(corpus)))
    return len(corpus) / (time.perf_counter() - started)


async def batch(container: Any, model: str, corpus: list[str]) -> float:
    requests = [BatchRequest(input=x) for x in inputs(corpus)]
    started = time.perf_counter()
    job = await container.batches.create(OWNER, model, requests)
    while not (job := await container.batches.get(OWNER, job.job_id)).state.is_terminal:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    assert job.succeeded == len(corpus), job
    return len(corpus) / elapsed


async def measure(model: str, corpus: list[str], chunk_items: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="omnivec-bench-") as scratch:
        settings = Settings(
            models=[model],
            data_dir=Path(scratch),
            batches={"chunk_items": chunk_items, "poll_interval_s": 0.05},
        )
        container = build(settings)
        await container.start()
        try:
            name = container.catalogue.list()[0].name
            await online(container, name, corpus[:64])  # warm up
            online_rate = await online(container, name, corpus)
            batch_rate = await batch(container, name, corpus)
        finally:
            await container.stop()
    return {
        "chunk_items": chunk_items,
        "online_per_s": round(online_rate, 1),
        "batch_per_s": round(batch_rate, 1),
        "ratio": round(batch_rate / online_rate, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--model", default="default")
    parser.add_argument("--chunk-items", type=int, nargs="+", default=[64, 256])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "batch_vs_online.json"
    )
    args = parser.parse_args()
    corpus = texts(args.texts)
    rows = [asyncio.run(measure(args.model, corpus, chunk)) for chunk in args.chunk_items]
    report = {
        "model": args.model,
        "texts": args.texts,
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    for row in rows:
        online_rate, batch_rate = row["online_per_s"], row["batch_per_s"]
        print(
            f"chunk_items={row['chunk_items']}: online {online_rate}/s, batch {batch_rate}/s, "
            f"ratio {row['ratio']}"
        )


if __name__ == "__main__":
    main()
