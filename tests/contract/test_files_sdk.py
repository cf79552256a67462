"""The Files API through the official google-genai SDK over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types

from omnivec.errors import NotFound
from tests.support.server import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning")


def client(server: RunningServer, api_version: str | None = None, api_key: str = "unused") -> genai.Client:
    return genai.Client(
        api_key=api_key, http_options=types.HttpOptions(base_url=server.base_url, api_version=api_version)
    )


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve()


@pytest.mark.parametrize("api_version", [None, "v1beta"], ids=["v1", "v1beta"])
def test_upload_small_file_and_read_it_back(
    server: RunningServer, api_version: str | None, tmp_path: Path
) -> None:
    c = client(server, api_version)
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world")
    f = c.files.upload(file=path, config={"display_name": "Greeting"})
    assert f.name is not None and f.name.startswith("files/") and len(f.name) == len("files/") + 12
    assert (f.display_name, f.mime_type, f.size_bytes) == ("Greeting", "text/plain", 11)
    assert f.state == types.FileState.ACTIVE and f.source == types.FileSource.UPLOADED
    hex_digest = hashlib.sha256(b"hello world").hexdigest()
    assert f.sha256_hash == base64.b64encode(hex_digest.encode()).decode()
    assert f.create_time is not None and f.expiration_time is not None
    assert (f.expiration_time - f.create_time).total_seconds() == pytest.approx(48 * 3600)
    assert f.download_uri is None
    version = api_version or "v1"
    assert f.uri == f"{server.base_url}/{version}/files/{f.name.removeprefix('files/')}"

    got = c.files.get(name=f.name)
    assert got.name == f.name and got.sha256_hash == f.sha256_hash
    # The uri is GET-able as Google's curl docs do it (?key=).
    assert httpx.get(f"{f.uri}?key=unused").json()["name"] == f.name
    # Bytes of an uploaded file are served too (the SDK itself only downloads generated files).
    assert httpx.get(f"{server.base_url}/v1beta/{f.name}:download?alt=media").content == b"hello world"


def test_upload_above_8_mib_goes_in_chunks(server: RunningServer) -> None:
    data = os.urandom(8 * 1024 * 1024 + 12345)
    c = client(server)  # keep a reference: a dropped Client closes its connection pool
    f = c.files.upload(
        file=io.BytesIO(data), config={"mime_type": "application/octet-stream", "name": "big-one"}
    )
    assert f.name == "files/big-one" and f.size_bytes == len(data)
    assert f.sha256_hash == base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()
    response = httpx.get(f"{server.base_url}/v1/files/big-one:download?alt=media")
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "application/octet-stream"


def test_list_pages_get_and_delete(server: RunningServer) -> None:
    c = client(server)
    names = [
        c.files.upload(file=io.BytesIO(b"x" * i), config={"mime_type": "text/plain"}).name
        for i in range(1, 4)
    ]
    pager = c.files.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert sorted(f.name for f in pager) == sorted(names)  # type: ignore[type-var]
    c.files.delete(name=names[0])
    with pytest.raises(errors.ClientError) as info:
        c.files.get(name=names[0])
    assert info.value.code == 404 and info.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError):
        c.files.delete(name=names[0])
    assert len(list(c.files.list())) == 2


def test_empty_list_and_empty_file(server: RunningServer) -> None:
    c = client(server)
    assert list(c.files.list()) == []
    f = c.files.upload(file=io.BytesIO(b""), config={"mime_type": "text/plain"})
    assert f.size_bytes == 0


def test_client_names_are_validated_and_unique(server: RunningServer) -> None:
    c = client(server)
    c.files.upload(file=io.BytesIO(b"a"), config={"mime_type": "text/plain", "name": "my-file-1"})
    with pytest.raises(errors.ClientError) as info:
        c.files.upload(file=io.BytesIO(b"b"), config={"mime_type": "text/plain", "name": "my-file-1"})
    assert info.value.code == 409 and info.value.status == "ALREADY_EXISTS"
    for bad in ("-leading", "trailing-", "UPPER", "a" * 41, "batch-reserved"):
        with pytest.raises(errors.ClientError) as info:
            c.files.upload(file=io.BytesIO(b"b"), config={"mime_type": "text/plain", "name": bad})
        assert info.value.code == 400, bad


def test_generated_files_download_through_the_sdk(server: RunningServer) -> None:
    c = client(server)
    jsonl = b'{"key": "a", "request": {"content": {"parts": [{"text": "hello"}]}}}\n'
    source = c.files.upload(file=io.BytesIO(jsonl), config={"mime_type": "application/jsonl"})
    job = c.batches.create_embeddings(model="gemini-embedding-001", src={"file_name": source.name})
    assert job.name is not None
    for _ in range(500):
        job = c.batches.get(name=job.name)
        if job.done:
            break
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED and job.dest is not None
    output = c.files.get(name=job.dest.file_name)
    assert output.source == types.FileSource.GENERATED and output.download_uri is not None
    data = c.files.download(file=output)
    assert data.startswith(b'{"key":"a","response":{"embedding":{"values":[')
    assert httpx.get(output.download_uri).content == data


def test_list_pagination_over_http(server: RunningServer) -> None:
    store, files = server.container.stores.files, server.container.files
    for i in range(103):
        store.add(files.new_record("", f"bulk-{i:03d}", "", "text/plain", 1, "00" * 32, f"{i:032x}"))
    url = f"{server.base_url}/v1beta/files"
    first = httpx.get(url).json()
    assert len(first["files"]) == 10 and "nextPageToken" in first  # default page size
    capped = httpx.get(url, params={"pageSize": 1000}).json()
    assert len(capped["files"]) == 100  # the maximum
    rest = httpx.get(url, params={"pageSize": 1000, "pageToken": capped["nextPageToken"]}).json()
    assert len(rest["files"]) == 3 and "nextPageToken" not in rest
    names = [f["name"] for f in capped["files"] + rest["files"]]
    assert len(set(names)) == 103
    assert httpx.get(url, params={"pageToken": "not-a-token"}).status_code == 400
    assert httpx.get(url, params={"pageSize": "ten"}).status_code == 400


def test_a_file_deleted_while_it_is_read_is_not_found(server: RunningServer) -> None:
    """Its record was read, then the file went (a concurrent delete, the sweeper) before its
    bytes were opened: the answer is NOT_FOUND, as for any missing file, not 500. (Bytes lost
    while the record stays are a different fault: tests/reliability/test_small_things.py.)"""
    c = client(server)
    f = c.files.upload(file=io.BytesIO(b"hello"), config={"mime_type": "text/plain"})
    assert f.name is not None
    record = server.container.stores.files.get("", f.name.removeprefix("files/"))
    assert record is not None
    c.files.delete(name=f.name)  # between the record read above and the bytes opened below
    with pytest.raises(NotFound):
        server.container.files.open_bytes(record)
    download = httpx.get(f"{server.base_url}/v1beta/{f.name}:download?alt=media")
    assert download.status_code == 404 and download.json()["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize("api_version", ["v1", "v1beta"])
def test_javascript_sdk_download_of_a_file_object_over_http(server: RunningServer, api_version: str) -> None:
    """@google/genai's files.download({file}) strips only https:// uris (tFileName), so over
    http:// it requests files/<the File's whole uri>:download; that path serves the bytes."""
    c = client(server, api_version)
    f = c.files.upload(file=io.BytesIO(b"js bytes"), config={"mime_type": "text/plain"})
    assert f.uri is not None and f.uri.startswith("http://")
    r = httpx.get(f"{server.base_url}/{api_version}/files/{f.uri}:download", params={"alt": "media"})
    assert r.status_code == 200 and r.content == b"js bytes"
    elsewhere = f.uri.replace("/files/", "/other/")
    missing = httpx.get(f"{server.base_url}/{api_version}/files/{elsewhere}:download")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
