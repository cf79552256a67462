"""`omnivec serve --ray` with two replicas of the bundled MiniLM against the single-process
server: the same vectors through the official SDK, readiness and per-replica metrics."""

from __future__ import annotations

import os
import tempfile

import httpx
import numpy as np
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


def main() -> None:
    # A replica that cannot load its model: the server refuses to start, with the model's error.
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
            tempfile.mkdtemp(dir=os.environ.get("SCENARIO_WORK")),
        ]
    )
    on_ray = Server(["--model", "default", "--ray", ADDRESS, "--replicas", "2", "--replica-cpus", "0.5"])
    local = Server(["--model", "default"])
    try:
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
        replica_lines = [
            line for line in metrics.splitlines() if line.startswith("omnivec_replica_queue_depth{")
        ]
        emit(
            {
                "plain": plain,
                "query": query,
                "shapes": shapes,
                "errors": errors,
                "readyz": [readyz.status_code, readyz.json()],
                "replica_lines": replica_lines,
                "broken": [
                    broken.returncode,
                    broken.stderr.strip().splitlines()[-1:],
                    "Traceback" in broken.stderr,
                ],
            }
        )
    finally:
        on_ray.stop()
        local.stop()


if __name__ == "__main__":
    main()
