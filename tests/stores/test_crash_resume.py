"""Kill a real ``omnivec serve`` with SIGKILL while it ingests a few hundred documents into a
File Search store, start it again on the same data directory, and check that every document
ends ACTIVE exactly once with exactly its chunks: none lost, none duplicated."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.jobs.test_crash_resume import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]

DOCUMENTS = 200
WORDS = 40  # in chunks of 10 words: 4 chunks per document
CHUNKS = 4


def upload(base: str, store: str, i: int, client: httpx.Client) -> None:
    data = " ".join(f"doc{i} word{j}" for j in range(WORDS // 2)).encode()
    start = client.post(
        f"{base}/upload/v1beta/{store}:uploadToFileSearchStore",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(len(data)),
            "X-Goog-Upload-Header-Content-Type": "text/plain",
        },
        json={
            "displayName": f"doc {i}",
            "customMetadata": [{"key": "n", "numeric_value": i}],
            "chunkingConfig": {"white_space_config": {"max_tokens_per_chunk": 10, "max_overlap_tokens": 0}},
        },
    )
    assert start.status_code == 200, start.text
    done = client.post(
        start.headers["x-goog-upload-url"],
        content=data,
        headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
    )
    assert done.status_code == 200, done.text


def counts(base: str, store: str) -> tuple[int, int, int]:
    body = httpx.get(f"{base}/v1beta/{store}").json()
    return tuple(
        int(body.get(k, 0)) for k in ("activeDocumentsCount", "pendingDocumentsCount", "failedDocumentsCount")
    )  # type: ignore[return-value]


def test_sigkill_mid_ingestion_then_restart_ends_each_document_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "server.log"
    # Two embedding steps per document, each one slow model pass: the kill lands mid-document.
    monkeypatch.setenv("OMNIVEC_SEARCH_STORES__CHUNKS_PER_STEP", "2")
    monkeypatch.setenv("OMNIVEC_SEARCH_STORES__POLL_INTERVAL_S", "0.1")
    first = Server(data_dir, log)  # fake:64 with 5 ms per model pass
    try:
        store = httpx.post(
            f"{first.base}/v1beta/fileSearchStores", json={"displayName": "crash"}, timeout=120
        ).json()["name"]
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: upload(first.base, store, i, client), range(DOCUMENTS)))
        _, pending, failed = counts(first.base, store)
        assert pending > 0, "every document was ingested before the kill; slow the fake model down"
        first.kill()
    finally:
        first.stop()
    assert failed == 0

    second = Server(data_dir, log)
    try:
        deadline = time.monotonic() + 180
        while (now := counts(second.base, store))[1] > 0:
            assert time.monotonic() < deadline, f"documents stayed PENDING: {now}"
            time.sleep(0.2)
        assert now == (DOCUMENTS, 0, 0)
        names: list[str] = []
        token = ""
        while True:
            page = httpx.get(
                f"{second.base}/v1beta/{store}/documents", params={"pageSize": 20, "pageToken": token}
            ).json()
            names += [d["displayName"] for d in page["documents"] if d["state"] == "STATE_ACTIVE"]
            token = page.get("nextPageToken", "")
            if not token:
                break
        assert sorted(names) == sorted(f"doc {i}" for i in range(DOCUMENTS))  # each exactly once
    finally:
        second.stop()
    assert "Traceback" not in log.read_text()

    # Every document has exactly its chunks in the vector store: none lost, none twice.
    from omnivec.index.base import Compare
    from omnivec.index.registry import open_vector_store

    vectors = open_vector_store(None, data_dir)
    try:
        collection = "store-" + store.removeprefix("fileSearchStores/")
        assert vectors.count(collection) == DOCUMENTS * CHUNKS
        for i in range(0, DOCUMENTS, 7):
            assert vectors.count(collection, Compare("n", "=", float(i))) == CHUNKS, i
    finally:
        vectors.close()
