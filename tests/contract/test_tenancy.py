"""Two API keys are two tenants: neither sees the other's files or batches, even by name; and
``file_data`` parts resolve only against the caller's own files, never by fetching."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.support.server import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning")

A, B = "key-of-a", "key-of-b"


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve(api_keys=[A, B])


def client(server: RunningServer, key: str) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=server.base_url))


def test_files_and_batches_are_private_to_their_key(server: RunningServer) -> None:
    a, b = client(server, A), client(server, B)
    jsonl = b'{"key": "1", "request": {"content": {"parts": [{"text": "t"}]}}}\n'
    f = a.files.upload(
        file=io.BytesIO(jsonl), config={"mime_type": "application/jsonl", "name": "shared-name"}
    )
    job = a.batches.create_embeddings(model="gemini-embedding-001", src={"file_name": f.name})  # type: ignore[typeddict-item]
    assert f.name is not None and job.name is not None

    for call in (
        lambda: b.files.get(name=f.name),
        lambda: b.files.delete(name=f.name),
        lambda: b.batches.get(name=job.name),
        lambda: b.batches.cancel(name=job.name),
        lambda: b.batches.delete(name=job.name),
        lambda: b.batches.create_embeddings(model="gemini-embedding-001", src={"file_name": f.name}),  # type: ignore[typeddict-item]
    ):
        with pytest.raises(errors.ClientError) as info:
            call()
        assert info.value.code == 404  # exactly like a name that does not exist
    headers_b = {"x-goog-api-key": B}
    assert (
        httpx.get(f"{server.base_url}/v1beta/{f.name}:download?alt=media", headers=headers_b).status_code
        == 404
    )
    assert list(b.files.list()) == [] and list(b.batches.list()) == []

    # B may use the same file name for its own file: names are per key.
    own = b.files.upload(file=io.BytesIO(b"b's"), config={"mime_type": "text/plain", "name": "shared-name"})
    assert own.size_bytes == 3
    assert a.files.get(name=f.name).size_bytes == len(jsonl)
    assert [x.name for x in a.batches.list()] == [job.name]
    for _ in range(300):
        if a.batches.get(name=job.name).done:
            break
        time.sleep(0.02)
    done = a.batches.get(name=job.name)
    assert done.dest is not None and done.dest.file_name is not None
    with pytest.raises(errors.ClientError):
        b.files.get(name=done.dest.file_name)


def embed_file_uri(server: RunningServer, key: str, uri: str) -> httpx.Response:
    body = {"content": {"parts": [{"file_data": {"file_uri": uri, "mime_type": "text/plain"}}]}}
    return httpx.post(
        f"{server.base_url}/v1beta/models/gemini-embedding-001:embedContent",
        json=body,
        headers={"x-goog-api-key": key},
    )


def test_file_uris_resolve_only_locally_and_only_for_the_owner(server: RunningServer) -> None:
    a = client(server, A)
    f = a.files.upload(file=io.BytesIO(b"hello"), config={"mime_type": "text/plain"})
    assert f.name is not None and f.uri is not None
    file_id = f.name.removeprefix("files/")
    for uri in (f.name, f.uri, f"https://generativelanguage.googleapis.com/v1beta/files/{file_id}"):
        mine = embed_file_uri(server, A, uri)
        # The file is found; whether its bytes embed depends on the model and media support.
        assert mine.status_code in (200, 400), (uri, mine.text)
        assert "not a file of this server" not in mine.text and "does not exist" not in mine.text
        theirs = embed_file_uri(server, B, uri)
        assert theirs.status_code == 404 and "does not exist" in theirs.json()["error"]["message"]
    for uri in (
        "https://example.com/cat.png",
        "file:///etc/passwd",
        "/etc/passwd",
        "gs://bucket/x",
        "files/../x",
    ):
        r = embed_file_uri(server, A, uri)
        assert r.status_code == 400 and "not a file of this server" in r.json()["error"]["message"], uri
