"""The Batch API against online requests over HTTP, on one server and the same texts.

    python -m bench.batch_vs_online_http [--texts 3000] [--rounds 2]

Online: 4 clients, each sending ``batchEmbedContents`` with 100 texts and waiting for the answer
before sending the next, until every text is embedded. Batch: one ``asyncBatchEmbedContent`` job
of inline requests holding the same texts, from creation until it is done (polled every 0.2 s).
Rounds alternate online and batch; the ratio is the batch job's throughput over online's. The
main benchmark's Batch API row uses its small corpus (300 texts), where a job's fixed costs and
its last, part-filled forward passes weigh; this one shows a job of a realistic size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from omnivec.benchmark.corpus import build_corpus

MODEL = "models/gemini-embedding-001"
JSON = {"content-type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _requests_body(texts: list[str]) -> bytes:
    return orjson.dumps({"requests": [{"model": MODEL, "content": {"parts": [{"text": t}]}} for t in texts]})


async def _online(client: httpx.AsyncClient, texts: list[str], clients: int = 4) -> float:
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for i in range(0, len(texts), 100):
        queue.put_nowait(texts[i : i + 100])

    async def one_client() -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            response = await client.post(
                f"{MODEL}:batchEmbedContents", content=_requests_body(batch), headers=JSON
            )
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return time.perf_counter() - started


async def _batch(client: httpx.AsyncClient, texts: list[str]) -> float:
    requests = [{"request": {"content": {"parts": [{"text": t}]}}} for t in texts]
    body = orjson.dumps({"batch": {"inputConfig": {"requests": {"requests": requests}}}})
    started = time.perf_counter()
    op = (await client.post(f"{MODEL}:asyncBatchEmbedContent", content=body, headers=JSON)).json()
    while not op.get("done"):
        await asyncio.sleep(0.2)
        op = (await client.get(op["name"])).json()
    elapsed = time.perf_counter() - started
    if op["metadata"]["state"] != "BATCH_STATE_SUCCEEDED":
        raise SystemExit(f"the batch job ended {op['metadata']['state']}")
    return elapsed


async def _measure(base: str, texts: list[str], rounds: int) -> list[dict[str, float]]:
    results = []
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        for _ in range(600):
            try:
                if (await client.get("models")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        await _online(client, texts[:100])  # warm-up
        for _ in range(rounds):
            online = await _online(client, texts)
            batch = await _batch(client, texts)
            results.append({"online_s": online, "batch_s": batch, "ratio": online / batch})
            print(
                f"{len(texts)} texts: online {online:.1f} s, batch {batch:.1f} s, ratio {online / batch:.2f}"
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/batch_vs_online_http.json"))
    args = parser.parse_args()
    corpus = list(build_corpus(300, 0).texts)
    texts = (corpus * (args.texts // len(corpus) + 1))[: args.texts]
    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [sys.executable, "-m", "omnivec", "serve", "--port", str(port), "--data-dir", data_dir],
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            results = asyncio.run(_measure(f"http://127.0.0.1:{port}/v1beta/", texts, args.rounds))
        finally:
            server.terminate()
            server.wait(timeout=60)
    args.out.write_text(json.dumps({"texts": args.texts, "rounds": results}, indent=2))


if __name__ == "__main__":
    main()
