"""Measure omnivec on Ray against the single process, on the same cores.

Run it inside a cluster (``bench/ray_scaling.sh`` starts one in a namespace of its own):
per-request overhead of the Ray path, cold start, how throughput grows with replicas (the fake
model on fractional CPUs, so the router and the API process are what is measured), and Ray Data
``batch run`` against the Batch API worker. Writes JSON to ``--out`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

EMBED = "/v1beta/models/{model}:embedContent"
BATCH = "/v1beta/models/{model}:batchEmbedContents"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, args: list[str], work: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = tempfile.mkdtemp(dir=work)
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omnivec", "serve", "--port", str(self.port), "--data-dir", data, *args],
            stdout=subprocess.DEVNULL,
            stderr=open(Path(data) / "log", "wb"),  # noqa: SIM115
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError((Path(data) / "log").read_text()[-2000:])
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.cold_start_s = time.monotonic() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def latency(server: Server, model: str, n: int) -> dict[str, float]:
    body = {"content": {"parts": [{"text": "How far is the moon from the earth?"}]}}
    samples = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for _ in range(5):
            http.post(EMBED.format(model=model), json=body)
        for _ in range(n):
            t = time.perf_counter()
            http.post(EMBED.format(model=model), json=body).raise_for_status()
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": statistics.median(samples), "p90_ms": samples[int(0.9 * len(samples))]}


def throughput(server: Server, model: str, seconds: float, clients: int = 8, per_request: int = 16) -> float:
    body = {
        "requests": [
            {"content": {"parts": [{"text": f"sentence {j} of a load test"}]}} for j in range(per_request)
        ]
    }
    done = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while time.monotonic() < stop:
                if http.post(BATCH.format(model=model), json=body).status_code == 200:
                    with lock:
                        done[0] += per_request

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0] / seconds


def jsonl(path: Path, n: int) -> None:
    lines = (
        json.dumps(
            {
                "key": f"k{i}",
                "request": {"content": {"parts": [{"text": f"request {i} " + "word " * (i % 40)}]}},
            }
        )
        for i in range(n)
    )
    path.write_text("\n".join(lines) + "\n")


def timed(cmd: list[str]) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "omnivec", *cmd], check=True, capture_output=True, timeout=1800)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default=os.environ.get("RAY_ADDRESS", "127.0.0.1:6379"))
    parser.add_argument("--out", default="bench/results/ray-scaling.json")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--latency-n", type=int, default=100)
    parser.add_argument("--batch-n", type=int, default=20_000)
    parser.add_argument("--replicas", default="1,2,4")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="omnivec-ray-bench-"))
    ray = ["--ray", args.address]
    result: dict[str, Any] = {"cpus": os.cpu_count()}

    # Per-request overhead and cold start, MiniLM, one replica with a whole CPU.
    for name, extra in (("single", []), ("ray", [*ray, "--replicas", "1", "--replica-cpus", "1"])):
        s = Server(["--model", "default", *extra], work)
        try:
            result[f"minilm_{name}_cold_start_s"] = s.cold_start_s
            result[f"minilm_{name}_latency"] = latency(s, "all-MiniLM-L6-v2", args.latency_n)
            result[f"minilm_{name}_items_per_s"] = throughput(s, "all-MiniLM-L6-v2", args.seconds)
        finally:
            s.stop()

    # Router overhead: the fake model costs next to nothing, so this is Serve plus the API process.
    s = Server(["--model", "fake:64"], work)
    try:
        result["fake_single_items_per_s"] = throughput(s, "fake", args.seconds)
    finally:
        s.stop()
    for replicas in (int(r) for r in args.replicas.split(",")):
        s = Server(["--model", "fake:64", *ray, "--replicas", str(replicas), "--replica-cpus", "0.25"], work)
        try:
            result[f"fake_ray_{replicas}_cold_start_s"] = s.cold_start_s
            result[f"fake_ray_{replicas}_items_per_s"] = throughput(s, "fake", args.seconds)
        finally:
            s.stop()

    # Offline: Ray Data against the Batch API worker, the same requests.
    src = work / "requests.jsonl"
    jsonl(src, args.batch_n)
    result["batch_requests"] = args.batch_n
    result["batch_api_worker_s"] = timed(
        [
            "batch",
            "submit",
            str(src),
            "--wait",
            "--model",
            "fake:64",
            "--use",
            "fake",
            "--data-dir",
            str(work / "d"),
        ]
    )
    result["ray_data_s"] = timed(
        ["batch", "run", str(src), *ray, "--model", "fake:64", "-o", str(work / "o.jsonl"), "--quiet"]
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for key, value in result.items():
        print(f"{key:34} {value}")


if __name__ == "__main__":
    main()
