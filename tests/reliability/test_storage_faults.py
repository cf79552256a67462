"""The data directory under faults: a SIGKILL in the middle of uploads and batch creation, a
read-only directory, a full disk. Nothing acknowledged is lost, nothing is corrupted, and every
refusal says what is wrong."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from .harness import SubprocessServer, google_error

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and mounts")


def upload(client: httpx.Client, data: bytes, name: str = "upload.bin") -> httpx.Response:
    return client.post(
        "/upload/v1beta/files",
        headers={"X-Goog-Upload-Protocol": "multipart"},
        files={
            "metadata": (None, orjson.dumps({"file": {"display_name": name}}), "application/json"),
            "file": (name, data, "application/octet-stream"),
        },
    )


def create_batch(client: httpx.Client, items: int, text_chars: int = 20) -> httpx.Response:
    requests = [
        {
            "request": {"content": {"parts": [{"text": f"item {i} " + "x" * text_chars}]}},
            "metadata": {"key": str(i)},
        }
        for i in range(items)
    ]
    body = {"batch": {"display_name": "crash", "input_config": {"requests": {"requests": requests}}}}
    return client.post("/v1beta/models/fake:asyncBatchEmbedContent", json=body)


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
def test_sigkill_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["--model", "fake:16:5", "--data-dir", str(data)]
    files: dict[str, bytes] = {}  # acknowledged uploads: name -> sha256 of what was sent
    jobs: list[str] = []
    stop = threading.Event()

    def uploader(seed: int, url: str) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                payload = rng.randbytes(rng.randint(1, 400_000))
                try:
                    r = upload(client, payload)
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    files[r.json()["file"]["name"]] = hashlib.sha256(payload).digest()

    def batcher(url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                try:
                    r = create_batch(client, 200)
                except httpx.TransportError:
                    return
                if r.status_code == 200:
                    jobs.append(r.json()["name"])

    with SubprocessServer(args) as server:
        threads = [threading.Thread(target=uploader, args=(i, server.url)) for i in range(3)]
        threads.append(threading.Thread(target=batcher, args=(server.url,)))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while (len(files) < 5 or len(jobs) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # SIGKILL, in the middle of writes
        stop.set()
        for t in threads:
            t.join(15)
    assert len(files) >= 5 and len(jobs) >= 2, (len(files), len(jobs))
    assert integrity(data / "omnivec.db") == "ok"

    with SubprocessServer(args) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        for name, digest in files.items():
            r = client.get(f"/v1beta/{name}:download", params={"alt": "media"})
            assert r.status_code == 200, (name, r.text[:200])
            assert hashlib.sha256(r.content).digest() == digest, name
        for job in jobs:
            deadline = time.monotonic() + 60
            while (
                state := client.get(f"/v1beta/{job}").json()["metadata"]["state"]
            ) != "BATCH_STATE_SUCCEEDED":
                assert state in ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"), state
                assert time.monotonic() < deadline, f"{job} never finished after the restart"
                time.sleep(0.1)
        assert upload(client, b"after the crash").status_code == 200
        server.terminate()
    assert integrity(data / "omnivec.db") == "ok"


# --- a read-only and a full data directory ------------------------------------------------------


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@contextlib.contextmanager
def mounted(*args: str, target: Path) -> Iterator[None]:
    target.mkdir(parents=True, exist_ok=True)
    if not _mount(*args, str(target)):
        pytest.skip("mounting needs root and the permission to mount here")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def serve_command(data_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "omnivec",
        "serve",
        "--model",
        "fake:8",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
    ]


def test_read_only_data_dir_is_refused_at_start(tmp_path: Path) -> None:
    """A read-only data directory stops the server at start with the reason, instead of failing
    every upload and batch later (or worse, half-writing)."""
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    read_only = tmp_path / "read-only"
    with mounted("--bind", "-o", "ro", str(source), target=read_only):
        result = subprocess.run(
            serve_command(read_only / "data"),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "is not writable (Read-only file system)" in result.stderr
    assert "--data-dir" in result.stderr and "Traceback" not in result.stderr


def limit_file_size() -> None:
    """For the server process: no file may grow past 1 MiB (writes past it fail with EFBIG,
    which Python gets as an error because it ignores SIGXFSZ)."""
    # Soft limit only: lifting it again (from outside, with prlimit) needs no privilege.
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))


def full_disk_checks(
    server: SubprocessServer, data: Path, db_refusal: tuple[int, str], free_space: Callable[[], None]
) -> None:
    """While full: clear refusals, reads still work. Once space is freed: writes work again,
    without a restart. Afterwards: the database is intact and no partial blob is left.

    ``db_refusal`` is what a database write that hits the limit gets: a full disk is "full" to
    SQLite, a file-size limit (EFBIG) only an I/O error."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        small = upload(client, b"small and fine")
        assert small.status_code == 200
        too_big = upload(client, os.urandom(3 << 20))
        assert too_big.status_code == 429, too_big.text
        error = google_error(too_big.json())
        assert error["status"] == "RESOURCE_EXHAUSTED" and "storage is full" in error["message"]
        assert too_big.headers["x-goog-upload-status"] == "final"
        big_job = create_batch(client, 600, text_chars=4000)  # ~2.4 MB of requests to store
        assert big_job.status_code == db_refusal[0], big_job.text
        assert db_refusal[1] in google_error(big_job.json())["message"]
        name = small.json()["file"]["name"]
        assert client.get(f"/v1beta/{name}").status_code == 200  # reads go on
        assert client.get("/healthz").status_code == 200

        free_space()
        assert upload(client, b"fine again").status_code == 200
        assert create_batch(client, 3).status_code == 200
        assert create_batch(client, 600, text_chars=4000).status_code == 200
    server.terminate()
    assert integrity(data / "omnivec.db") == "ok"
    staging = data / "blobs" / "staging"
    assert not staging.exists() or not [p for p in staging.iterdir() if ".tmp" in p.name]


@pytest.mark.slow
def test_full_disk_by_file_size_limit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with SubprocessServer(
        ["--model", "fake:8", "--data-dir", str(data)], preexec_fn=limit_file_size
    ) as server:

        def lift_limit() -> None:
            resource.prlimit(
                server.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            )

        full_disk_checks(server, data, (503, "storage failed (I/O error)"), lift_limit)


@pytest.mark.slow
def test_full_disk_on_a_tiny_tmpfs(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    with mounted("-t", "tmpfs", "-o", "size=2m", "tmpfs", target=disk):
        data = disk / "data"
        with SubprocessServer(["--model", "fake:8", "--data-dir", str(data)]) as server:

            def grow_disk() -> None:
                subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)

            full_disk_checks(server, data, (429, "storage is full"), grow_disk)
