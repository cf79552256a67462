"""File Search stores through the official google-genai SDK over real HTTP: stores, uploads,
imports, operations, documents, media, and tenancy between two API keys."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.support.server import RunningServer

pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning"),
    pytest.mark.timeout(120),
]


def client(server: RunningServer, api_version: str | None = None, api_key: str = "unused") -> genai.Client:
    return genai.Client(
        api_key=api_key, http_options=types.HttpOptions(base_url=server.base_url, api_version=api_version)
    )


def wait(c: genai.Client, op: Any) -> Any:
    for _ in range(600):
        if op.done:
            return op
        time.sleep(0.05)
        op = c.operations.get(op)
    raise AssertionError(f"operation {op.name} did not finish")


@pytest.fixture
def server(serve: Callable[..., RunningServer]) -> RunningServer:
    return serve()


@pytest.mark.parametrize("api_version", [None, "v1beta"], ids=["v1", "v1beta"])
def test_create_list_get_delete_stores(server: RunningServer, api_version: str | None) -> None:
    c = client(server, api_version)
    made = c.file_search_stores.create(
        config={"display_name": "My Store", "embedding_model": "models/gemini-embedding-001"}
    )
    assert made.name is not None and made.name.startswith("fileSearchStores/my-store-")
    store_id = made.name.removeprefix("fileSearchStores/")
    assert len(store_id) <= 40 and len(store_id) == len("my-store-") + 12
    # The name it was created with; its vectors come from the model the alias points at.
    assert made.display_name == "My Store" and made.embedding_model == "models/gemini-embedding-001"
    record = server.container.stores.search_stores.get_store(None, store_id)  # type: ignore[union-attr]
    assert record is not None and record.model == "fake"
    assert made.create_time is not None and made.active_documents_count is None

    default = c.file_search_stores.create()  # no display name, the server's default model
    assert default.embedding_model == "models/fake" and default.display_name is None

    got = c.file_search_stores.get(name=made.name)
    assert got.name == made.name and got.display_name == "My Store"
    names = [s.name for s in c.file_search_stores.list(config={"page_size": 1})]
    assert names == [made.name, default.name]  # oldest first, over two pages

    c.file_search_stores.delete(name=made.name)  # empty: no force needed
    with pytest.raises(errors.ClientError) as info:
        c.file_search_stores.get(name=made.name)
    assert info.value.code == 404 and info.value.status == "NOT_FOUND"
    with pytest.raises(errors.ClientError) as info:
        c.file_search_stores.create(config={"embedding_model": "models/no-such-model"})
    assert info.value.code == 400


def test_upload_with_metadata_and_chunking_then_documents(server: RunningServer) -> None:
    c = client(server)
    store = c.file_search_stores.create(config={"display_name": "Docs"})
    assert store.name is not None
    words = " ".join(f"word{i}" for i in range(450))
    op = c.file_search_stores.upload_to_file_search_store(
        file_search_store_name=store.name,
        file=io.BytesIO(words.encode()),
        config={
            "mime_type": "text/plain",
            "display_name": "Numbers",
            "custom_metadata": [
                {"key": "author", "string_value": "Robert Graves"},
                {"key": "year", "numeric_value": 1934},
                {"key": "tags", "string_list_value": {"values": ["a", "b"]}},
            ],
            "chunking_config": {
                "white_space_config": {"max_tokens_per_chunk": 200, "max_overlap_tokens": 20}
            },
        },
    )
    assert op.name is not None and "/upload/operations/" in op.name
    op = wait(c, op)
    assert op.error is None and op.response is not None
    assert op.response.document_name is not None and op.response.document_name.startswith(
        f"{store.name}/documents/numbers-"
    )
    assert op.response.parent == store.name

    doc = c.file_search_stores.documents.get(name=op.response.document_name)
    assert doc.state == types.DocumentState.STATE_ACTIVE and doc.display_name == "Numbers"
    assert doc.size_bytes == len(words) and doc.mime_type == "text/plain"
    meta = {m.key: m for m in doc.custom_metadata or []}
    assert meta["author"].string_value == "Robert Graves" and meta["year"].numeric_value == 1934
    assert meta["tags"].string_list_value is not None and meta["tags"].string_list_value.values == ["a", "b"]

    # 450 words in windows of 200 sharing 20: starts at 0, 180, 360.
    stored = server.container.stores.search_stores
    assert stored is not None
    record = stored.get_document(None, store.name.split("/")[1], doc.name.split("/")[-1])  # type: ignore[union-attr]
    assert record is not None and record.chunk_count == 3

    # Import a Files API file into the same store.
    f = c.files.upload(
        file=io.BytesIO(b"An imported note about gardens."), config={"mime_type": "text/plain"}
    )
    imported = c.file_search_stores.import_file(
        file_search_store_name=store.name,
        file_name=f.name,  # type: ignore[arg-type]
        config={
            "custom_metadata": [{"key": "a", "string_value": "b"}],
            "chunking_config": {"white_space_config": {"max_tokens_per_chunk": 100}},
        },
    )
    assert imported.name is not None and imported.name.startswith(f"{store.name}/operations/")
    imported = wait(c, imported)
    assert imported.response is not None and imported.response.document_name is not None

    listed = list(c.file_search_stores.documents.list(parent=store.name, config={"page_size": 1}))
    assert [d.name for d in listed] == [doc.name, imported.response.document_name]  # oldest first
    got = c.file_search_stores.get(name=store.name)
    assert got.active_documents_count == 2 and got.size_bytes == len(words) + 31

    # The store's source bytes are served as media.
    media = c.file_search_stores.download_media(media_id=f"{store.name}/media/{doc.name.split('/')[-1]}")  # type: ignore[union-attr]
    assert media == words.encode()

    # A document with chunks needs force; a store with documents needs force.
    with pytest.raises(errors.ClientError) as info:
        c.file_search_stores.documents.delete(name=doc.name)  # type: ignore[arg-type]
    assert info.value.code == 400 and info.value.status == "FAILED_PRECONDITION"
    c.file_search_stores.documents.delete(name=doc.name, config={"force": True})  # type: ignore[arg-type]
    with pytest.raises(errors.ClientError) as info:
        c.file_search_stores.documents.get(name=doc.name)  # type: ignore[arg-type]
    assert info.value.code == 404
    with pytest.raises(errors.ClientError) as info:
        c.file_search_stores.delete(name=store.name)
    assert info.value.code == 400 and info.value.status == "FAILED_PRECONDITION"
    c.file_search_stores.delete(name=store.name, config={"force": True})
    assert list(c.file_search_stores.list()) == []


def test_operations_answer_under_both_names_and_versions(server: RunningServer) -> None:
    c = client(server)
    store = c.file_search_stores.create(config={"display_name": "ops"})
    op = wait(
        c,
        c.file_search_stores.upload_to_file_search_store(
            file_search_store_name=store.name,  # type: ignore[arg-type]
            file=io.BytesIO(b"some text"),
            config={"mime_type": "text/plain"},
        ),
    )
    for version in ("v1", "v1beta"):
        body = httpx.get(f"{server.base_url}/{version}/{op.name}").json()
        assert body["done"] is True and body["response"]["@type"].endswith("UploadToFileSearchStoreResponse")
        assert body["response"]["sizeBytes"] == "9"
    # The same id under the other operation form is another (missing) operation.
    other = op.name.replace("/upload/operations/", "/operations/")
    assert httpx.get(f"{server.base_url}/v1beta/{other}").status_code == 404


def test_two_keys_see_only_their_own(serve: Callable[..., RunningServer]) -> None:
    server = serve(api_keys=["key-a", "key-b"])
    a, b = client(server, api_key="key-a"), client(server, api_key="key-b")
    store = a.file_search_stores.create(config={"display_name": "mine"})
    op = wait(
        a,
        a.file_search_stores.upload_to_file_search_store(
            file_search_store_name=store.name,  # type: ignore[arg-type]
            file=io.BytesIO(b"private words"),
            config={"mime_type": "text/plain"},
        ),
    )
    doc_name = op.response.document_name
    assert list(b.file_search_stores.list()) == []
    missing = httpx.get(
        f"{server.base_url}/v1beta/fileSearchStores/nothing-here", headers={"x-goog-api-key": "key-b"}
    )
    for call in (
        lambda: b.file_search_stores.get(name=store.name),  # type: ignore[arg-type]
        lambda: b.file_search_stores.delete(name=store.name, config={"force": True}),  # type: ignore[arg-type]
        lambda: b.file_search_stores.documents.get(name=doc_name),
        lambda: b.file_search_stores.documents.list(parent=store.name),  # type: ignore[arg-type]
        lambda: b.operations.get(op),
        lambda: b.file_search_stores.upload_to_file_search_store(
            file_search_store_name=store.name,
            file=io.BytesIO(b"x"),
            config={"mime_type": "text/plain"},  # type: ignore[arg-type]
        ),
    ):
        with pytest.raises(errors.ClientError) as info:
            call()
        assert info.value.code == 404 and info.value.status == "NOT_FOUND"
    other = httpx.get(f"{server.base_url}/v1beta/{store.name}", headers={"x-goog-api-key": "key-b"})
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["status"] == missing.json()["error"]["status"]
    query = httpx.post(
        f"{server.base_url}/v1beta/{store.name}:query",
        json={"query": "private"},
        headers={"x-goog-api-key": "key-b"},
    )
    assert query.status_code == 404
    # A file of one key cannot be imported by the other.
    f = a.files.upload(file=io.BytesIO(b"abc"), config={"mime_type": "text/plain"})
    theirs = b.file_search_stores.create(config={"display_name": "theirs"})
    with pytest.raises(errors.ClientError) as info:
        b.file_search_stores.import_file(file_search_store_name=theirs.name, file_name=f.name)  # type: ignore[arg-type]
    assert info.value.code == 404
    assert a.file_search_stores.get(name=store.name).active_documents_count == 1  # type: ignore[arg-type]


def test_the_same_api_on_qdrant_client(serve: Callable[..., RunningServer]) -> None:
    """``--vector-store memory``: qdrant-client's in-process mode, the adapter a Qdrant server uses."""
    server = serve(vector_store="memory")
    c = client(server)
    store = c.file_search_stores.create(config={"display_name": "on qdrant-client"})
    op = wait(
        c,
        c.file_search_stores.upload_to_file_search_store(
            file_search_store_name=store.name,  # type: ignore[arg-type]
            file=io.BytesIO(b"Lighthouses guide ships past the rocks at night."),
            config={"mime_type": "text/plain", "custom_metadata": [{"key": "year", "numeric_value": 1900}]},
        ),
    )
    assert op.error is None
    body = {"query": "lighthouses", "searchMode": "LEXICAL", "metadataFilter": "year < 2000"}
    hits = httpx.post(f"{server.base_url}/v1beta/{store.name}:query", json=body).json()["relevantChunks"]
    assert [h["document"]["name"] for h in hits] == [op.response.document_name]
    c.file_search_stores.delete(name=store.name, config={"force": True})  # type: ignore[arg-type]
