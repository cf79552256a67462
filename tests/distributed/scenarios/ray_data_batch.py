"""`omnivec batch run` on Ray Data: 20,000 Batch API requests give exactly one result per key,
equal to the single-process embedding path; the same again while a model actor's worker
process is killed mid-job; Parquet and folder inputs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from omnivec.bootstrap import embedding_service
from omnivec.settings import Settings
from omnivec.types import EmbedInput, EmbedOptions, Priority, TextPart
from tests.distributed.kit import ADDRESS, emit, run_cli

MODEL = "fake:64"
N = 20_000


def write_input(path: Path) -> dict[str, str]:
    texts = {f"k{i:05d}": f"request number {i} " + "word " * (i % 37) for i in range(N)}
    lines = [
        json.dumps({"key": k, "request": {"content": {"parts": [{"text": t}]}}}) for k, t in texts.items()
    ]
    # Two bad lines: their keys come back with an error, not a vector.
    lines.insert(
        5,
        json.dumps(
            {"key": "bad-model", "request": {"model": "models/nope", "content": {"parts": [{"text": "x"}]}}}
        ),
    )
    lines.insert(9, json.dumps({"key": "bad-empty", "request": {"content": {"parts": []}}}))
    path.write_text("\n".join(lines) + "\n")
    return texts


def reference(texts: dict[str, str]) -> dict[str, np.ndarray]:
    service = embedding_service(Settings(models=[MODEL]))
    service.runtime.start()
    keys = list(texts)

    async def all_vectors() -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            inputs = [EmbedInput((TextPart(texts[k]),), EmbedOptions()) for k in chunk]
            result = await service.embed("fake", inputs, priority=Priority.BATCH, field_prefix="")
            out.update(
                {k: np.asarray(e.values, dtype=np.float32) for k, e in zip(chunk, result, strict=True)}
            )
        return out

    try:
        return asyncio.run(all_vectors())
    finally:
        service.runtime.stop()


def read_output(path: Path) -> tuple[dict[str, list[np.ndarray]], dict[str, list[str]]]:
    vectors: dict[str, list[np.ndarray]] = {}
    errors: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if "response" in row:
            vectors.setdefault(row["key"], []).append(
                np.array(row["response"]["embedding"]["values"], np.float32)
            )
        else:
            errors.setdefault(row["key"], []).append(row["error"]["message"])
    return vectors, errors


def compare(out: Path, ref: dict[str, np.ndarray]) -> dict[str, object]:
    vectors, errors = read_output(out)
    return {
        "keys": len(vectors),
        "duplicates": sum(len(v) - 1 for v in vectors.values()) + sum(len(e) - 1 for e in errors.values()),
        "missing": len(set(ref) - set(vectors)),
        "max_diff": max(float(np.abs(vectors[k][0] - ref[k]).max()) for k in ref if k in vectors),
        "error_keys": sorted(errors),
    }


def batch_run(inputs: list[str], out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "omnivec", "batch", "run", *inputs, "--ray", ADDRESS, "--model", MODEL,
            "-o", str(out), "--actors", "2", "--actor-cpus", "0.5", *extra]  # fmt: skip


def worker_processes() -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if cmd.startswith("ray::") and "ForwardStage" in cmd:
            found.append(p)
    return found


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="omnivec-raydata-", dir=os.environ.get("SCENARIO_WORK")))
    src = work / "requests.jsonl"
    texts = write_input(src)
    ref = reference(texts)

    clean_out = work / "clean.jsonl"
    started = time.monotonic()
    clean = run_cli(batch_run([str(src)], clean_out)[3:], timeout_s=600)
    clean_s = time.monotonic() - started

    # Kill one model actor's process once results have started to come back.
    killed_out = work / "killed.jsonl"
    proc = subprocess.Popen(
        batch_run([str(src)], killed_out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    partial = killed_out.with_name(f".{killed_out.name}.partial")
    killed_pid = None
    deadline = time.monotonic() + 300
    while killed_pid is None and proc.poll() is None and time.monotonic() < deadline:
        workers = worker_processes()
        if workers and partial.exists() and partial.stat().st_size > 0:
            killed_pid = workers[0].pid
            os.kill(killed_pid, signal.SIGKILL)
        time.sleep(0.2)
    _, killed_err = proc.communicate(timeout=600)

    # Parquet in and out, keys from a column; a folder of files (one request per file).
    table = pa.table({"id": [f"p{i}" for i in range(300)], "body": [texts[f"k{i:05d}"] for i in range(300)]})
    pq.write_table(table, work / "in.parquet")
    pq_out = work / "out.parquet"
    pq_run = run_cli(
        batch_run([str(work / "in.parquet")], pq_out, "--column", "body", "--key-column", "id")[3:]
    )
    got = pq.read_table(pq_out).to_pydict() if pq_out.exists() else {"key": [], "vector": []}
    pq_diff = max(
        (
            float(np.abs(np.array(v, np.float32) - ref[f"k{int(k[1:]):05d}"]).max())
            for k, v in zip(got["key"], got["vector"], strict=True)
        ),
        default=1.0,
    )
    folder = work / "docs"
    folder.mkdir()
    for i in range(5):
        (folder / f"doc{i}.txt").write_text(texts[f"k{i:05d}"])
    folder_out = work / "docs.jsonl"
    folder_run = run_cli(batch_run([str(folder)], folder_out)[3:])
    folder_vectors, _ = read_output(folder_out) if folder_out.exists() else ({}, {})
    folder_diff = max(
        (float(np.abs(v[0] - ref[f"k{int(Path(k).stem[3:]):05d}"]).max()) for k, v in folder_vectors.items()),
        default=1.0,
    )

    emit(
        {
            "clean_rc": clean.returncode,
            "clean_err": clean.stderr[-2000:],
            "clean_s": clean_s,
            "clean": compare(clean_out, ref) if clean_out.exists() else None,
            "killed_pid": killed_pid,
            "killed_rc": proc.returncode,
            "killed_err": killed_err[-2000:],
            "killed": compare(killed_out, ref) if killed_out.exists() else None,
            "parquet_rc": pq_run.returncode,
            "parquet_err": pq_run.stderr[-2000:],
            "parquet_rows": len(got["key"]),
            "parquet_max_diff": pq_diff,
            "folder_rc": folder_run.returncode,
            "folder_keys": sorted(folder_vectors),
            "folder_max_diff": folder_diff,
        }
    )


if __name__ == "__main__":
    main()
