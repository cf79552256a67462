"""Storage the quota cannot be dodged around, and a data directory that stays bounded: unfinished
uploads count against the quota and are limited per key; a full disk at start still serves
online embedding; space of deleted jobs goes back to the file system; what a crash left half
written is removed at start."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from omnivec.bootstrap import build
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.settings import Settings
from omnivec.storage.local import open_local

from .corpus import EMBED, VALID
from .harness import SubprocessServer, ThreadServer, google_error, thread_settings
from .test_storage_faults import mounted, upload

KIB = 1024


def start_upload(client: httpx.Client, declared: int | None) -> httpx.Response:
    headers = {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"}
    if declared is not None:
        headers["X-Goog-Upload-Header-Content-Length"] = str(declared)
    return client.post("/upload/v1beta/files", headers=headers, content=orjson.dumps({"file": {}}))


@pytest.fixture
def quota_server() -> Iterator[ThreadServer]:
    settings = thread_settings(files={"max_total_bytes": 1000 * KIB, "max_open_uploads": 3})
    with ThreadServer(settings) as server:
        yield server


def test_unfinished_uploads_count_against_the_quota_from_the_start_call(quota_server: ThreadServer) -> None:
    with httpx.Client(base_url=quota_server.url, timeout=30) as client:
        assert start_upload(client, 600 * KIB).status_code == 200
        second = start_upload(client, 600 * KIB)
        assert second.status_code == 400, second.text
        assert "declared by unfinished uploads" in google_error(second.json())["message"]
        # A one-request upload cannot take the room the open session declared either.
        refused = upload(client, os.urandom(500 * KIB))
        assert refused.status_code == 400, refused.text


def test_open_uploads_per_key_are_limited(quota_server: ThreadServer) -> None:
    with httpx.Client(base_url=quota_server.url, timeout=30) as client:
        for _ in range(3):
            assert start_upload(client, None).status_code == 200
        fourth = start_upload(client, None)
        assert fourth.status_code == 429, fourth.text
        error = google_error(fourth.json())
        assert (
            error["status"] == "RESOURCE_EXHAUSTED" and "3 unfinished resumable uploads" in error["message"]
        )


def test_a_full_disk_at_start_still_serves_online_embedding(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    with mounted("-t", "tmpfs", "-o", "size=4m", "tmpfs", target=disk):
        data = disk / "data"
        data.mkdir()
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        with SubprocessServer(["--model", "fake:8", "--data-dir", str(data)]) as server:
            assert "is full" in server.log
            with httpx.Client(base_url=server.url, timeout=30) as client:
                embedded = client.post(EMBED.replace("gemini-embedding-001", "fake"), content=VALID)
                assert embedded.status_code == 200, embedded.text
                refused = upload(client, b"no room for this")
                assert refused.status_code == 429, refused.text
                assert "storage is full" in google_error(refused.json())["message"]
                filler.unlink()
                assert upload(client, b"room again").status_code == 200


def sizes(db: Path) -> tuple[int, int, int]:
    wal = db.with_name(db.name + "-wal")
    with sqlite3.connect(db) as conn:
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
    return db.stat().st_size, (wal.stat().st_size if wal.exists() else 0), free


@pytest.fixture
def make_container(tmp_path: Path) -> Callable[..., object]:
    def make() -> object:
        settings = Settings(
            models=["fake:64"],
            data_dir=tmp_path / "data",
            batches={"poll_interval_s": 0.05, "chunk_items": 256},
        )
        return build(settings, [FakeBackend("fake", 64)], open_local(tmp_path / "data"))

    return make


async def test_space_of_deleted_jobs_goes_back_to_the_file_system(
    make_container: Callable[..., object], tmp_path: Path
) -> None:
    import asyncio

    from omnivec.services.batches import BatchRequest
    from omnivec.types import EmbedInput, EmbedOptions, TextPart

    c = make_container()
    await c.start()  # type: ignore[attr-defined]
    try:
        requests = [
            BatchRequest(input=EmbedInput((TextPart(f"item {i} " + "x" * 200),), EmbedOptions()))
            for i in range(3000)
        ]
        job = await c.batches.create("a", "fake", requests)  # type: ignore[attr-defined]
        while not (await c.batches.get("a", job.job_id)).state.is_terminal:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        db = tmp_path / "data" / "omnivec.db"
        await c.sweeper.sweep_once()  # type: ignore[attr-defined]
        before, _, _ = sizes(db)
        await c.batches.delete("a", job.job_id)  # type: ignore[attr-defined]
        await c.sweeper.sweep_once()  # type: ignore[attr-defined]
        after, wal, free = sizes(db)
        assert free == 0 and wal == 0
        assert after < before / 4, (before, after)
    finally:
        await c.stop()  # type: ignore[attr-defined]


async def test_what_a_crash_left_half_written_is_removed_at_start(
    make_container: Callable[..., object], tmp_path: Path
) -> None:
    import asyncio

    staging = tmp_path / "data" / "blobs" / "staging"
    staging.mkdir(parents=True)
    temporary = staging / ("a" * 32 + ".tmp0badf00d")
    temporary.write_bytes(b"half an output file")
    upload_in_progress = staging / ("b" * 32)
    upload_in_progress.write_bytes(b"a resumable upload's bytes so far")
    c = make_container()
    await c.start()  # type: ignore[attr-defined]
    try:
        for _ in range(200):
            if not temporary.exists():
                break
            await asyncio.sleep(0.05)
        assert not temporary.exists()
        assert upload_in_progress.exists()
    finally:
        await c.stop()  # type: ignore[attr-defined]
