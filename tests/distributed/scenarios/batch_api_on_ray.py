"""The Batch API against `omnivec serve --ray`, whose jobs run as Ray Data pipelines, driven by
the official SDK, one server for the whole scenario:

1. inline and file jobs on the bundled MiniLM give the single-process server's results (keys,
   order, vectors, errors, batchStats), and batchStats advance while the job runs;
2. a running job is cancelled: it ends CANCELLED, its pipeline stops, its counts stop moving;
3. the server is SIGKILLed mid-job and started again on its data directory: the job resumes
   and ends with exactly one result per request, equal to the single-process server's.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import httpx
import numpy as np
import psutil
from google.genai import types

from tests.distributed.kit import ADDRESS, Server, emit

CHUNK = 100
ENV = {"OMNIVEC_RAY__BATCH_CHUNK_ITEMS": str(CHUNK), "OMNIVEC_BATCHES__POLL_INTERVAL_S": "0.2"}
RAY_ARGS = ["--model", "default", "--model", "fake=fake:64", "--ray", ADDRESS,
            "--replicas", "1", "--replica-cpus", "0.25"]  # fmt: skip
LOCAL_ARGS = ["--model", "default", "--model", "fake=fake:64"]
PARITY_N = 240
KILL_N = 600
CANCEL_N = 2000


def texts(n: int, tag: str) -> list[str]:
    return [f"{tag} request {i}: " + "a few words about embeddings " * (i % 7) for i in range(n)]


def stats(server: Server, name: str) -> dict[str, Any]:
    body = httpx.get(f"{server.base_url}/v1beta/{name}", timeout=30).json()
    raw = body["metadata"]["batchStats"]
    return {
        "state": body["metadata"]["state"],
        **{k: int(v) for k, v in raw.items() if k.endswith("Count")},
    }


def done_count(s: dict[str, Any]) -> int:
    return int(s.get("successfulRequestCount", 0)) + int(s.get("failedRequestCount", 0))


def wait_done(server: Server, name: str, timeout_s: float = 600) -> tuple[types.BatchJob, list[int]]:
    """The finished job, and the done counts seen while it ran."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = server.client().batches.get(name=name)
        s = stats(server, name)
        seen.append(done_count(s))
        if job.done:
            return job, seen
        time.sleep(0.3)
    raise RuntimeError(f"{name} did not finish in {timeout_s}s: {stats(server, name)}")


def inline_job(server: Server, model: str, contents: list[str], config: dict[str, Any]) -> str:
    job = server.client().batches.create_embeddings(
        model=model,
        src={"inlined_requests": {"contents": contents, "config": config}},  # type: ignore[typeddict-item]
    )
    assert job.name is not None
    return job.name


def inline_vectors(job: types.BatchJob) -> list[list[float] | None]:
    assert job.dest is not None and job.dest.inlined_embed_content_responses is not None
    out: list[list[float] | None] = []
    for r in job.dest.inlined_embed_content_responses:
        out.append(r.response.embedding.values if r.response and r.response.embedding else None)
    return out


def cosines(a: list[list[float] | None], b: list[list[float] | None]) -> list[float]:
    out = []
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            out.append(1.0 if x is None and y is None else -1.0)
            continue
        u, v = np.array(x, np.float64), np.array(y, np.float64)
        out.append(float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v))))
    return out


def file_job(server: Server) -> tuple[list[dict[str, Any]], dict[str, Any], list[int]]:
    lines: list[dict[str, Any]] = [
        {
            "key": f"doc-{i}",
            "request": {"content": {"parts": [{"text": t}]}, "task_type": "RETRIEVAL_DOCUMENT"},
        }
        for i, t in enumerate(texts(150, "file"))
    ]
    lines[3] = {"key": "empty", "request": {"content": {"parts": []}}}
    lines[7] = {
        "key": "too-long",
        "request": {"content": {"parts": [{"text": "word " * 2000}]}, "autoTruncate": False},
    }
    lines[11]["request"]["outputDimensionality"] = 64
    lines[12]["metadata"] = {"source": "shelf 12"}
    data = ("\n".join(json.dumps(line) for line in lines) + "\n").encode()
    c = server.client()
    source = c.files.upload(file=io.BytesIO(data), config={"mime_type": "jsonl"})
    job = c.batches.create_embeddings(model="gemini-embedding-001", src={"file_name": source.name})  # type: ignore[typeddict-item]
    assert job.name is not None
    done, seen = wait_done(server, job.name)
    assert done.dest is not None and done.dest.file_name is not None
    output = c.files.download(file=c.files.get(name=done.dest.file_name))
    return [json.loads(line) for line in output.decode().splitlines()], stats(server, job.name), seen


def parity(on_ray: Server, local: Server) -> dict[str, Any]:
    contents = texts(PARITY_N, "inline")
    config = {"task_type": "RETRIEVAL_QUERY", "output_dimensionality": 128}
    ray_name = inline_job(on_ray, "gemini-embedding-001", contents, config)
    local_name = inline_job(local, "gemini-embedding-001", contents, config)
    ray_job, ray_seen = wait_done(on_ray, ray_name)
    local_job, _ = wait_done(local, local_name)
    ray_rows, ray_file_stats, file_seen = file_job(on_ray)
    local_rows, local_file_stats, _ = file_job(local)

    def row_vector(row: dict[str, Any]) -> list[float] | None:
        return row["response"]["embedding"]["values"] if "response" in row else None

    return {
        "inline_states": [str(ray_job.state), str(local_job.state)],
        "inline_cos": cosines(inline_vectors(ray_job), inline_vectors(local_job)),
        "inline_dims": sorted({len(v) for v in inline_vectors(ray_job) if v is not None}),
        "inline_seen": ray_seen,
        "inline_stats": [stats(on_ray, ray_name), stats(local, local_name)],
        "file_keys": [[r.get("key") for r in ray_rows], [r.get("key") for r in local_rows]],
        "file_cos": cosines([row_vector(r) for r in ray_rows], [row_vector(r) for r in local_rows]),
        "file_errors": [
            [r["error"] for r in ray_rows if "error" in r],
            [r["error"] for r in local_rows if "error" in r],
        ],
        "file_metadata": [[r.get("metadata") for r in ray_rows], [r.get("metadata") for r in local_rows]],
        "file_token_counts": [
            [r["response"].get("tokenCount") for r in ray_rows if "response" in r],
            [r["response"].get("tokenCount") for r in local_rows if "response" in r],
        ],
        "file_stats": [ray_file_stats, local_file_stats],
        "file_seen": file_seen,
    }


def pipeline_processes() -> int:
    """Live worker processes of a pipeline's model actors (Ray names them after the stage)."""
    count = 0
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if cmd.startswith("ray::") and ("ForwardStage" in cmd or "RequestStage" in cmd):
            count += 1
    return count


def wait_progress(server: Server, name: str, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = stats(server, name)
        if done_count(s) > 0:
            return s
        time.sleep(0.2)
    raise RuntimeError(f"{name} made no progress in {timeout_s}s: {stats(server, name)}")


def cancel(on_ray: Server) -> dict[str, Any]:
    name = inline_job(on_ray, "fake", texts(CANCEL_N, "cancel"), {})
    before = wait_progress(on_ray, name)
    on_ray.client().batches.cancel(name=name)
    job, _ = wait_done(on_ray, name, timeout_s=120)
    at_end = stats(on_ray, name)
    # The pipeline's actors go with the cancelled run.
    deadline = time.monotonic() + 60
    while pipeline_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    alive = pipeline_processes()
    time.sleep(3)
    return {
        "state": str(job.state),
        "before": before,
        "at_end": at_end,
        "later": stats(on_ray, name),
        "pipeline_processes": alive,
    }


def killed_and_restarted(on_ray: Server, local: Server) -> tuple[dict[str, Any], Server]:
    contents = texts(KILL_N, "kill")
    name = inline_job(on_ray, "fake", contents, {})
    local_name = inline_job(local, "fake", contents, {})
    at_kill = wait_progress(on_ray, name)
    on_ray.proc.kill()  # SIGKILL: no shutdown, no last commit
    on_ray.proc.wait(30)
    restarted = Server(RAY_ARGS, data_dir=on_ray.data_dir, env=ENV)
    job, _ = wait_done(restarted, name)
    local_job, _ = wait_done(local, local_name)
    got, want = inline_vectors(job), inline_vectors(local_job)
    diffs = [
        float(np.abs(np.array(a, np.float32) - np.array(b, np.float32)).max())
        for a, b in zip(got, want, strict=True)
        if a is not None and b is not None
    ]
    return {
        "at_kill": at_kill,
        "state": str(job.state),
        "final": stats(restarted, name),
        "results": len(got),
        "vectors": sum(v is not None for v in got),
        "max_diff": max(diffs, default=1.0),
        "resumed_logged": "resuming " + name in restarted.log.read_text(),
    }, restarted


def main() -> None:
    on_ray = Server(RAY_ARGS, env=ENV)
    result: dict[str, Any] = {}
    try:
        local = Server(LOCAL_ARGS, env={"OMNIVEC_BATCHES__POLL_INTERVAL_S": "0.2"})
        try:
            result["parity"] = parity(on_ray, local)
            result["cancel"] = cancel(on_ray)
            result["restart"], on_ray = killed_and_restarted(on_ray, local)
        finally:
            local.stop()
    finally:
        on_ray.stop()
    emit(result)


if __name__ == "__main__":
    main()
