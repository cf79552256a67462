"""Kill a real ``omnivec serve`` with SIGKILL in the middle of a 2,000-item batch job, start it
again on the same data directory, and check the job finishes with every key exactly once and
the same output as a clean run (the fake backend's vectors are deterministic)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

ITEMS = 2000


class Server:
    def __init__(self, data_dir: Path, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "OMNIVEC_BATCHES__CHUNK_ITEMS": "32",
            "OMNIVEC_BATCHES__POLL_INTERVAL_S": "0.1",
        }
        command = [
            sys.executable, "-m", "omnivec", "serve", "--model", "fake:64:5", "--port", str(self.port),
            "--data-dir", str(data_dir), "--max-batch-items", "8", "--log-level", "WARNING",
        ]  # fmt: skip
        self._log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not become ready")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()


def upload(base: str, data: bytes) -> str:
    start = httpx.post(
        f"{base}/upload/v1beta/files",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(len(data)),
            "X-Goog-Upload-Header-Content-Type": "application/jsonl",
        },
        json={"file": {"display_name": "crash input"}},
    )
    done = httpx.post(
        start.headers["x-goog-upload-url"],
        content=data,
        headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
    )
    return str(done.json()["file"]["name"])


def submit(base: str, file_name: str) -> str:
    body = {"batch": {"inputConfig": {"fileName": file_name}}}
    response = httpx.post(f"{base}/v1beta/models/gemini-embedding-001:asyncBatchEmbedContent", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["name"])


def metadata(base: str, name: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{base}/v1beta/{name}").json()["metadata"]  # type: ignore[no-any-return]


def wait_for_success(base: str, name: str, timeout: float = 60) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = metadata(base, name)
        if meta["state"] != "BATCH_STATE_RUNNING" and meta["state"] != "BATCH_STATE_PENDING":
            assert meta["state"] == "BATCH_STATE_SUCCEEDED", meta
            return meta
        time.sleep(0.1)
    raise AssertionError(f"{name} did not finish")


def output_lines(base: str, meta: dict) -> list[bytes]:  # type: ignore[type-arg]
    data = httpx.get(f"{base}/v1beta/{meta['output']['responsesFile']}:download?alt=media").content
    return data.splitlines()


def test_sigkill_mid_job_then_restart_finishes_exactly_once(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    lines = [
        {"key": f"key-{i:04d}", "request": {"content": {"parts": [{"text": f"item {i}"}]}}}
        for i in range(ITEMS)
    ]
    jsonl = "".join(json.dumps(line) + "\n" for line in lines).encode()

    first = Server(data_dir, log)
    try:
        file_name = upload(first.base, jsonl)
        job = submit(first.base, file_name)
        deadline = time.monotonic() + 60
        with httpx.Client() as poll:  # one kept-alive connection: polling must not lag the job
            while True:
                meta = poll.get(f"{first.base}/v1beta/{job}").json()["metadata"]
                if (done_before := int(meta["batchStats"]["successfulRequestCount"])) >= 200:
                    break
                assert time.monotonic() < deadline, "the job made no progress"
        first.kill()
    finally:
        first.stop()
    assert done_before < ITEMS, "the job finished before the kill; slow the fake model down"

    second = Server(data_dir, log)
    try:
        resumed = metadata(second.base, job)
        assert int(resumed["batchStats"]["successfulRequestCount"]) >= 200  # committed progress survived
        meta = wait_for_success(second.base, job)
        assert meta["batchStats"]["successfulRequestCount"] == str(ITEMS)
        assert meta["batchStats"]["failedRequestCount"] == "0"
        crashed = output_lines(second.base, meta)
        keys = [json.loads(line)["key"] for line in crashed]
        assert len(keys) == ITEMS and len(set(keys)) == ITEMS
        assert keys == [f"key-{i:04d}" for i in range(ITEMS)]

        clean = output_lines(second.base, wait_for_success(second.base, submit(second.base, file_name)))
        assert crashed == clean
    finally:
        second.stop()
    assert "Traceback" not in log.read_text()
