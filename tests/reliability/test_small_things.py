"""The inline batch limit is explicit and says what to do; a file whose bytes are missing under
the database gives a clear error (download, file_data, batch input) and is removed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from .corpus import EMBED
from .harness import ThreadServer, google_error, thread_settings

CREATE = "/v1beta/models/fake:asyncBatchEmbedContent"


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    with ThreadServer(thread_settings(batches={"max_inline_requests": 50})) as running:
        yield running


def inline(n: int) -> dict[str, object]:
    requests = [{"request": {"content": {"parts": [{"text": f"t{i}"}]}}} for i in range(n)]
    return {"batch": {"input_config": {"requests": {"requests": requests}}}}


def test_the_inline_batch_limit_is_explicit(server: ThreadServer) -> None:
    assert httpx.post(server.url + CREATE, json=inline(50)).status_code == 200
    r = httpx.post(server.url + CREATE, json=inline(51))
    assert r.status_code == 400
    message = google_error(r.json())["message"]
    assert "an inline batch may hold at most 50 requests (got 51)" in message
    assert "inputConfig.fileName" in message


def upload(client: httpx.Client, data: bytes, mime: str) -> str:
    r = client.post(
        "/upload/v1beta/files",
        headers={"X-Goog-Upload-Protocol": "multipart"},
        files={
            "metadata": (None, orjson.dumps({"file": {}}), "application/json"),
            "file": ("f", data, mime),
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["file"]["name"])


def lose_bytes(server: ThreadServer) -> None:
    complete = server.container.settings.data_dir / "blobs" / "complete"
    for blob in complete.iterdir():
        blob.unlink()


@pytest.mark.parametrize("use", ["download", "file_data", "batch_input"])
def test_a_file_whose_bytes_are_missing_gives_a_clear_error_and_is_removed(
    server: ThreadServer, use: str
) -> None:
    from tests.media import samples

    with httpx.Client(base_url=server.url, timeout=30) as client:
        line = b'{"key": "a", "request": {"content": {"parts": [{"text": "x"}]}}}\n'
        name = upload(client, line if use == "batch_input" else samples.png(), "application/octet-stream")
        lose_bytes(server)
        if use == "download":
            r = client.get(f"/v1beta/{name}:download", params={"alt": "media"})
        elif use == "file_data":
            part = {"fileData": {"fileUri": name, "mimeType": "image/png"}}
            r = client.post(
                EMBED.replace("gemini-embedding-001", "fake"), json={"content": {"parts": [part]}}
            )
        else:
            body = {"batch": {"input_config": {"file_name": name}}}
            r = client.post(CREATE, json=body)
        assert r.status_code == 400, r.text
        error = google_error(r.json())
        assert error["status"] == "FAILED_PRECONDITION"
        assert f"The bytes of {name} are missing" in error["message"]
        assert client.get(f"/v1beta/{name}").status_code == 404
