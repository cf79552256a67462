"""The upload protocols over raw HTTP: resumable edge cases, single-request forms, limits, expiry."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from omnivec.storage.records import utc_now
from tests.support.server import RunningServer

KEY = "k-upload"


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(api_keys=[KEY], files={"max_file_bytes": 1000, "max_total_bytes": 1500})


def start(
    server: RunningServer, size: int | None = 10, body: object | None = None, **headers: str
) -> httpx.Response:
    h = {
        "x-goog-api-key": KEY,
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Type": "text/plain",
        "Content-Type": "application/json",
        **headers,
    }
    if size is not None:
        h["X-Goog-Upload-Header-Content-Length"] = str(size)
    return httpx.post(
        f"{server.base_url}/upload/v1beta/files", headers=h, json=body or {"file": {"display_name": "t"}}
    )


def chunk(url: str, data: bytes, offset: int | None, command: str = "upload") -> httpx.Response:
    headers = {"X-Goog-Upload-Command": command}  # no API key: the upload id is the credential
    if offset is not None:
        headers["X-Goog-Upload-Offset"] = str(offset)
    return httpx.post(url, content=data, headers=headers)


def test_start_answers_with_a_lowercase_absolute_upload_url(server: RunningServer) -> None:
    r = start(server)
    assert r.status_code == 200 and r.content == b""
    assert r.headers["x-goog-upload-status"] == "active"
    url = r.headers["x-goog-upload-url"]
    assert url.startswith(f"{server.base_url}/upload/v1beta/files?upload_id=")
    assert r.headers["x-goog-upload-chunk-granularity"] == str(8 * 1024 * 1024)
    raw_names = [name for name, _ in r.headers.raw]
    assert b"x-goog-upload-url" in raw_names


def test_public_url_and_forwarded_headers_shape_the_upload_url(serve: Callable[..., RunningServer]) -> None:
    proxied = serve()
    r = start(proxied, **{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "embed.example.org"})
    assert r.headers["x-goog-upload-url"].startswith("https://embed.example.org/upload/v1beta/files?")
    public = serve(public_url="https://omnivec.example.com/")
    assert start(public).headers["x-goog-upload-url"].startswith("https://omnivec.example.com/upload/v1beta/")


def test_resume_after_an_interruption_with_query(server: RunningServer) -> None:
    url = start(server, size=10).headers["x-goog-upload-url"]
    first = chunk(url, b"01234", 0)
    assert first.status_code == 200 and first.headers["x-goog-upload-status"] == "active"
    assert first.headers["x-goog-upload-size-received"] == "5"
    # The client lost track (dropped connection): it asks where to go on.
    q = chunk(url, b"", None, "query")
    assert q.status_code == 200 and q.headers["x-goog-upload-size-received"] == "5"
    done = chunk(url, b"56789", 5, "upload, finalize")
    assert done.status_code == 200 and done.headers["x-goog-upload-status"] == "final"
    name = done.json()["file"]["name"]
    got = httpx.get(f"{server.base_url}/v1beta/{name}:download?alt=media", headers={"x-goog-api-key": KEY})
    assert got.content == b"0123456789"


def test_a_dropped_connection_mid_chunk_loses_only_that_chunk(server: RunningServer) -> None:
    url = start(server, size=10).headers["x-goog-upload-url"]
    chunk(url, b"0123", 0)
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as s:
        s.sendall(
            f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "X-Goog-Upload-Command: upload\r\nX-Goog-Upload-Offset: 4\r\nContent-Length: 6\r\n\r\nxx".encode()
        )  # two of the six promised bytes, then the connection drops
    # Whenever the server notices the drop, the partial chunk never counts.
    assert chunk(url, b"", None, "query").headers["x-goog-upload-size-received"] == "4"
    done = chunk(url, b"456789", 4, "upload, finalize")
    assert done.status_code == 200, done.text
    name = done.json()["file"]["name"]
    got = httpx.get(f"{server.base_url}/v1beta/{name}:download?alt=media", headers={"x-goog-api-key": KEY})
    assert got.content == b"0123456789"


def test_wrong_offset_is_refused_and_the_session_survives(server: RunningServer) -> None:
    url = start(server, size=10).headers["x-goog-upload-url"]
    chunk(url, b"01234", 0)
    r = chunk(url, b"xxxxx", 3)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert r.headers["x-goog-upload-status"] == "active"
    assert "5 bytes have been received" in r.json()["error"]["message"]
    done = chunk(url, b"56789", 5, "upload, finalize")
    assert done.status_code == 200 and done.json()["file"]["sizeBytes"] == "10"


def test_size_mismatch_ends_the_session(server: RunningServer) -> None:
    url = start(server, size=10).headers["x-goog-upload-url"]
    short = chunk(url, b"01234", 0, "upload, finalize")
    assert short.status_code == 400 and short.headers["x-goog-upload-status"] == "final"
    assert "declared 10" in short.json()["error"]["message"]
    gone = chunk(url, b"", None, "query")
    assert gone.status_code == 404 and gone.headers["x-goog-upload-status"] == "final"

    url = start(server, size=4).headers["x-goog-upload-url"]
    long = chunk(url, b"0123456789", 0, "upload, finalize")
    assert long.status_code == 400 and long.headers["x-goog-upload-status"] == "final"


def test_unknown_upload_id(server: RunningServer) -> None:
    for upload_id in ("nope", ""):
        r = chunk(
            f"{server.base_url}/upload/v1beta/files?upload_id={upload_id}", b"abc", 0, "upload, finalize"
        )
        assert r.status_code == 404 and r.headers["x-goog-upload-status"] == "final"
        assert r.json()["error"]["status"] == "NOT_FOUND"


def test_cancel_and_unknown_commands(server: RunningServer) -> None:
    url = start(server).headers["x-goog-upload-url"]
    bad = chunk(url, b"", 0, "explode")
    assert bad.status_code == 400 and bad.headers["x-goog-upload-status"] == "active"
    assert chunk(url, b"", None, "cancel").headers["x-goog-upload-status"] == "cancelled"
    assert chunk(url, b"abc", 0).status_code == 404


def test_expired_upload_session(server: RunningServer) -> None:
    url = start(server).headers["x-goog-upload-url"]
    server.container.files.clock = lambda: utc_now() + timedelta(days=2)
    r = chunk(url, b"0123456789", 0, "upload, finalize")
    assert r.status_code == 404 and r.headers["x-goog-upload-status"] == "final"


def test_expired_files_are_gone_and_swept(server: RunningServer) -> None:
    url = start(server).headers["x-goog-upload-url"]
    name = chunk(url, b"0123456789", 0, "upload, finalize").json()["file"]["name"]
    record = server.container.stores.files.get("", name.removeprefix("files/"))
    owner_files = [f for f in server.container.stores.files.list_files(_owner(server), 0, 10)]
    assert record is None and len(owner_files) == 1  # files belong to the key's owner, not ""
    server.container.files.clock = lambda: utc_now() + timedelta(hours=49)
    auth = {"x-goog-api-key": KEY}
    assert httpx.get(f"{server.base_url}/v1beta/{name}", headers=auth).status_code == 404
    assert "files" not in httpx.get(f"{server.base_url}/v1beta/files", headers=auth).json()
    removed = asyncio.run(server.container.files.sweep())
    assert removed >= 1
    assert server.container.stores.files.list_files(_owner(server), 0, 10) == []
    assert server.container.stores.blobs.size(owner_files[0].blob_id) is None


def test_size_limits_are_clear_400s(server: RunningServer) -> None:
    too_big = start(server, size=1001)
    assert too_big.status_code == 400 and "1000 bytes" in too_big.json()["error"]["message"]
    url = start(server, size=None).headers["x-goog-upload-url"]  # size unknown up front
    r = chunk(url, b"x" * 1001, 0, "upload, finalize")
    assert r.status_code == 400 and r.headers["x-goog-upload-status"] == "final"
    url = start(server, size=900).headers["x-goog-upload-url"]
    assert chunk(url, b"x" * 900, 0, "upload, finalize").status_code == 200
    over_quota = start(server, size=700)
    assert over_quota.status_code == 400 and "1500 bytes" in over_quota.json()["error"]["message"]


def test_start_needs_a_key_but_chunks_do_not(server: RunningServer) -> None:
    r = httpx.post(
        f"{server.base_url}/upload/v1beta/files",
        headers={"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"},
    )
    assert r.status_code == 403


def test_camel_case_start_body_and_metadata_size(server: RunningServer) -> None:
    body = {"file": {"displayName": "camel", "mimeType": "application/jsonl", "sizeBytes": "3"}}
    r = start(server, size=None, body=body, **{"X-Goog-Upload-Header-Content-Type": ""})
    done = chunk(r.headers["x-goog-upload-url"], b"abc", 0, "upload, finalize").json()["file"]
    assert (done["displayName"], done["mimeType"], done["sizeBytes"]) == ("camel", "application/jsonl", "3")


def test_multipart_related_upload(server: RunningServer) -> None:
    boundary = "b0undary"
    meta = json.dumps({"file": {"display_name": "multi", "name": "files/multi-part"}})
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n"
            f"--{boundary}\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        + b"\x89PNG-bytes"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = httpx.post(
        f"{server.base_url}/upload/v1beta/files?uploadType=multipart",
        headers={"x-goog-api-key": KEY, "Content-Type": f"multipart/related; boundary={boundary}"},
        content=body,
    )
    assert r.status_code == 200, r.text
    file = r.json()["file"]
    assert (file["name"], file["displayName"], file["mimeType"], file["sizeBytes"]) == (
        "files/multi-part", "multi", "image/png", "10",
    )  # fmt: skip


def test_media_upload(server: RunningServer) -> None:
    r = httpx.post(
        f"{server.base_url}/upload/v1beta/files?uploadType=media",
        headers={"x-goog-api-key": KEY, "Content-Type": "application/pdf"},
        content=b"%PDF-1.4",
    )
    assert r.status_code == 200 and r.headers["x-goog-upload-status"] == "final"
    assert r.json()["file"]["mimeType"] == "application/pdf"


def test_no_protocol_is_a_400(server: RunningServer) -> None:
    r = httpx.post(f"{server.base_url}/upload/v1beta/files", headers={"x-goog-api-key": KEY}, content=b"x")
    assert r.status_code == 400 and r.headers["x-goog-upload-status"] == "final"


def _owner(server: RunningServer) -> str:
    from omnivec.api.auth import KeyRing

    owner = KeyRing([KEY]).owner_of(KEY)
    assert owner is not None
    return owner
