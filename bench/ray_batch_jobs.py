"""Batch API jobs on Ray Data (``serve --ray``) against the single-process Batch API worker,
on the same cores and the same requests.

Run it inside a cluster (``bench/ray_batch_jobs.sh`` starts one in a namespace of its own).
Each server gets one inline job of ``--n`` requests; the time is from creation until the job
is SUCCEEDED (polled every 100 ms). Writes JSON to ``--out`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from bench.ray_scaling import Server

CREATE = "/v1beta/models/{model}:asyncBatchEmbedContent"


def job_seconds(server: Server, model: str, n: int) -> float:
    requests = [
        {"request": {"content": {"parts": [{"text": f"request {i} " + "word " * (i % 40)}]}}}
        for i in range(n)
    ]
    body = {"batch": {"inputConfig": {"requests": {"requests": requests}}}}
    started = time.monotonic()
    created = httpx.post(server.url + CREATE.format(model=model), json=body, timeout=300)
    created.raise_for_status()
    name = created.json()["name"]
    while True:
        op = httpx.get(f"{server.url}/v1beta/{name}", timeout=60).json()
        if op.get("done"):
            if op["metadata"]["state"] != "BATCH_STATE_SUCCEEDED":
                raise RuntimeError(f"{name} ended {op['metadata']['state']}")
            return time.monotonic() - started
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", "127.0.0.1:6379"))
    parser.add_argument("--out", default="bench/results/ray-batch-jobs.json")
    parser.add_argument("--n", type=int, default=5000, help="requests per fake-model job")
    parser.add_argument("--minilm-n", type=int, default=1000, help="requests per MiniLM job")
    parser.add_argument("--chunk", type=int, default=1000, help="items per Ray Data run (a committed chunk)")
    args = parser.parse_args()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"omnivec-ray-jobs-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    os.environ["OMNIVEC_RAY__BATCH_CHUNK_ITEMS"] = str(args.chunk)
    os.environ["OMNIVEC_BATCHES__POLL_INTERVAL_S"] = "0.1"
    result: dict[str, Any] = {"cpus": os.cpu_count(), "chunk_items": args.chunk}
    ray = ["--ray", args.address, "--replicas", "1", "--replica-cpus", "0.5"]
    for model, spec, n in (("fake", "fake:64", args.n), ("all-MiniLM-L6-v2", "default", args.minilm_n)):
        if n <= 0:
            continue
        for name, extra in (("worker", []), ("ray_data", ray)):
            s = Server(["--model", spec, *extra], work)
            try:
                seconds = job_seconds(s, model, n)
            finally:
                s.stop()
            result[f"{model}_{name}_s"] = round(seconds, 1)
            result[f"{model}_{name}_items_per_s"] = round(n / seconds, 1)
        result[f"{model}_requests"] = n
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:34} {value}")


if __name__ == "__main__":
    main()
