"""`omnivec serve --ray` on a two-node cluster, one server for the whole scenario:

1. a model whose replicas cannot load it: `serve` refuses to start with the model's error;
2. two replicas of the bundled MiniLM against the single-process server: the same vectors
   through the official SDK, the same caller errors, readiness and per-replica metrics;
3. replica actors killed while clients stream requests: every request is answered 200, or 503
   UNAVAILABLE with RetryInfo; none hangs, none is a 500; the deployment replaces them.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import httpx
import numpy as np
import ray
from google.genai import types

from tests.distributed.kit import ADDRESS, Server, emit, free_port, run_cli

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Ray Serve runs model replicas across nodes.",
    "Embeddings map text into a vector space.",
    "Ein kleiner Satz auf Deutsch.",
    "short",
    "A much longer passage " * 40,
]


def vectors(server: Server, **config: object) -> np.ndarray:
    result = server.client().models.embed_content(
        model="gemini-embedding-001",
        contents=TEXTS,
        config=types.EmbedContentConfig(**config) if config else None,
    )
    return np.array([e.values for e in result.embeddings or []], dtype=np.float64)


def cosines(a: np.ndarray, b: np.ndarray) -> list[float]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return [float(x) for x in (a * b).sum(axis=1)]


URL = "/v1beta/models/gemini-embedding-001:batchEmbedContents"
STREAM_S = 20.0


def body(i: int) -> dict[str, object]:
    texts = [f"request {i} sentence {j}: " + "ray serve replicas " * 20 for j in range(8)]
    return {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}


def replica_actors() -> list[str]:
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(n["name"] for n in names if n["name"].startswith("SERVE_REPLICA::omnivec-"))


def live_replicas(server: Server) -> int:
    metrics = httpx.get(server.base_url + "/metrics", timeout=10).text
    return sum(line.startswith("omnivec_replica_queue_depth{") for line in metrics.splitlines())


def parity(on_ray: Server, local: Server) -> dict[str, Any]:
    plain = cosines(vectors(on_ray), vectors(local))
    query = cosines(
        vectors(on_ray, task_type="RETRIEVAL_QUERY", output_dimensionality=128),
        vectors(local, task_type="RETRIEVAL_QUERY", output_dimensionality=128),
    )
    shapes = [len(vectors(on_ray, output_dimensionality=128)[0])]
    # An input over the limit with autoTruncate off is the caller's error on either path.
    too_long = {
        "content": {"parts": [{"text": "word " * 2000}]},
        "embedContentConfig": {"autoTruncate": False},
    }
    url = "/v1beta/models/gemini-embedding-001:embedContent"
    errors = [httpx.post(s.base_url + url, json=too_long, timeout=60).json() for s in (on_ray, local)]
    readyz = httpx.get(on_ray.base_url + "/readyz", timeout=10)
    metrics = httpx.get(on_ray.base_url + "/metrics", timeout=10).text
    replica_lines = [line for line in metrics.splitlines() if line.startswith("omnivec_replica_queue_depth{")]
    return {
        "plain": plain,
        "query": query,
        "shapes": shapes,
        "errors": errors,
        "readyz": [readyz.status_code, readyz.json()],
        "replica_lines": replica_lines,
    }


def kill_under_load(server: Server) -> dict[str, Any]:
    ray.init(address=ADDRESS, namespace="omnivec-test", log_to_driver=False)
    outcomes: Counter[str] = Counter()
    bad: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + STREAM_S

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.base_url, timeout=120) as http:
            i = 0
            while time.monotonic() < stop:
                r = http.post(URL, json=body(worker * 10_000 + i))
                i += 1
                with lock:
                    if r.status_code == 200 and len(r.json()["embeddings"]) == 8:
                        outcomes["ok"] += 1
                    elif (
                        r.status_code == 503
                        and r.json()["error"]["status"] == "UNAVAILABLE"
                        and any(
                            d.get("@type", "").endswith("RetryInfo")
                            for d in r.json()["error"].get("details", [])
                        )
                    ):
                        outcomes["unavailable_retry"] += 1
                    else:
                        bad.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    killed = []
    for pause in (4.0, 7.0):
        time.sleep(pause)
        names = replica_actors()
        if names:
            ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
            killed.append(names[0])
    for t in threads:
        t.join(180)
    hung = sum(t.is_alive() for t in threads)
    deadline = time.monotonic() + 120
    while live_replicas(server) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    after = httpx.post(server.base_url + URL, json=body(-1), timeout=60)
    return {
        "outcomes": dict(outcomes),
        "bad": bad[:5],
        "killed": killed,
        "hung": hung,
        "replicas_after": live_replicas(server),
        "status_after": after.status_code,
    }


def main() -> None:
    work = os.environ.get("SCENARIO_WORK")
    broken = run_cli(
        [
            "serve",
            "--ray",
            ADDRESS,
            "--model",
            "broken=/no/such/model",
            "--offline",
            "--port",
            str(free_port()),
            "--data-dir",
            tempfile.mkdtemp(dir=work),
        ]
    )
    result: dict[str, Any] = {
        "broken": [broken.returncode, broken.stderr.strip().splitlines()[-1:], "Traceback" in broken.stderr]
    }
    on_ray = Server(["--model", "default", "--ray", ADDRESS, "--replicas", "2", "--replica-cpus", "0.5"])
    try:
        local = Server(["--model", "default"])
        try:
            result["parity"] = parity(on_ray, local)
        finally:
            local.stop()
        result["kill"] = kill_under_load(on_ray)
    finally:
        on_ray.stop()
    emit(result)


if __name__ == "__main__":
    main()
