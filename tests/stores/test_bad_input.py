"""Bad input to File Search stores: Google-format 4xx, or a document in STATE_FAILED with a
reason; never a 5xx, never a document stuck in STATE_PENDING."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from omnivec.bootstrap import build
from omnivec.settings import Settings
from tests.support.server import RunningServer, start_server

pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning"),
    pytest.mark.timeout(120),
]


def client(server: RunningServer) -> genai.Client:
    return genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the module: every test makes its own store."""
    running = start_server(
        build(Settings(models=["fake:32"], data_dir=tmp_path_factory.mktemp("bad") / "data"))
    )
    yield running
    running.stop()


@pytest.fixture
def store(server: RunningServer) -> str:
    c = client(server)  # keep a reference: a dropped Client closes its connection pool
    made = c.file_search_stores.create(config={"display_name": "bad input"})
    assert made.name is not None
    return made.name


def settle(c: genai.Client, op: Any) -> Any:
    for _ in range(600):
        if op.done:
            return op
        time.sleep(0.05)
        op = c.operations.get(op)
    raise AssertionError("the document stayed PENDING")


def upload(c: genai.Client, store: str, data: bytes, **config: Any) -> Any:
    return c.file_search_stores.upload_to_file_search_store(
        file_search_store_name=store, file=io.BytesIO(data), config={"mime_type": "text/plain", **config}
    )


def assert_400(call: Callable[[], object], status: str = "INVALID_ARGUMENT", text: str = "") -> None:
    with pytest.raises(errors.ClientError) as info:
        call()
    assert info.value.code == 400 and info.value.status == status, info.value
    assert text in (info.value.message or "")


@pytest.mark.parametrize(
    ("chunking", "text"),
    [
        ({"white_space_config": {"max_tokens_per_chunk": 513}}, "between 1 and 512"),
        ({"white_space_config": {"max_tokens_per_chunk": 0}}, "between 1 and 512"),
        ({"white_space_config": {"max_tokens_per_chunk": 100, "max_overlap_tokens": 100}}, "less than"),
        ({"white_space_config": {"max_tokens_per_chunk": 100, "max_overlap_tokens": -1}}, "negative"),
    ],
)
def test_bad_chunking_configs(server: RunningServer, store: str, chunking: dict[str, Any], text: str) -> None:
    c = client(server)
    assert_400(lambda: upload(c, store, b"words", chunking_config=chunking), text=text)
    f = c.files.upload(file=io.BytesIO(b"words"), config={"mime_type": "text/plain"})
    assert_400(
        lambda: c.file_search_stores.import_file(
            file_search_store_name=store,
            file_name=f.name,
            config={"chunking_config": chunking},  # type: ignore[arg-type]
        ),
        text=text,
    )


def test_bad_custom_metadata(server: RunningServer, store: str) -> None:
    c = client(server)
    many = [{"key": f"k{i}", "string_value": "v"} for i in range(21)]
    assert_400(lambda: upload(c, store, b"words", custom_metadata=many), text="at most 20")
    url = f"{server.base_url}/v1beta/{store}:importFile"
    f = c.files.upload(file=io.BytesIO(b"words"), config={"mime_type": "text/plain"})
    for bad in (
        [{"key": "year", "numericValue": "nineteen"}],
        [{"key": "year", "numericValue": True}],
        [{"key": "name", "stringValue": 5}],
        [{"key": "tags", "stringListValue": {"values": [1, 2]}}],
        [{"key": "both", "stringValue": "a", "numericValue": 1}],
        [{"key": "none"}],
        [{"key": "", "stringValue": "a"}],
        [{"key": "dup", "stringValue": "a"}, {"key": "dup", "stringValue": "b"}],
        [{"key": "x", "stringValue": "a" * 5000}],
        {"key": "not-a-list"},
        ["not-an-object"],
    ):
        response = httpx.post(url, json={"fileName": f.name, "customMetadata": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert c.file_search_stores.get(name=store).pending_documents_count is None


@pytest.mark.parametrize(
    ("data", "mime", "reason"),
    [
        (b"PK\x03\x04 zip bytes", "application/zip", "not supported"),
        (b"%PDF-1.7\n this is not really a pdf", "application/pdf", "corrupt"),
        (b"not utf-8 \xc3\x28 \xfa", "text/plain", "not UTF-8"),
        (b"   \n\t  ", "text/plain", "no text"),
    ],
    ids=["zip", "corrupt-pdf", "not-utf8", "empty"],
)
def test_unreadable_documents_fail_with_a_reason(
    server: RunningServer, store: str, data: bytes, mime: str, reason: str
) -> None:
    c = client(server)
    op = settle(c, upload(c, store, data, mime_type=mime, display_name="bad"))
    assert op.error is not None and reason in op.error["message"], op.error
    doc_name = op.name.replace("/upload/operations/", "/documents/")
    doc = c.file_search_stores.documents.get(name=doc_name)
    assert doc.state == types.DocumentState.STATE_FAILED
    assert c.file_search_stores.get(name=store).failed_documents_count == 1
    c.file_search_stores.documents.delete(name=doc_name)  # no chunks: no force needed


@pytest.mark.parametrize(
    "expression",
    [
        "author = ",
        "(" * 200 + 'a = "b"' + ")" * 200,
        'a = "' + "x" * 100_000 + '"',
        "a = 1 AND AND b = 2",
        'a ~ "b"',
        '"unterminated',
        "a = 1 " + "OR a = 1 " * 2000,
    ],
    ids=["dangling", "deep", "huge", "double-and", "bad-operator", "unterminated", "wide"],
)
def test_hostile_filters_are_400s(server: RunningServer, store: str, expression: str) -> None:
    response = httpx.post(
        f"{server.base_url}/v1beta/{store}:query", json={"query": "x", "metadataFilter": expression}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "resultsCount": 0},
        {"query": "x", "resultsCount": 1000},
        {"query": "x", "searchMode": "FUZZY"},
        {"query": "x", "content": {"parts": [{"text": "y"}]}},
        {"content": {"parts": []}},
        {"query": 5},
        {"query": "x", "fileSearchStoreNames": ["fileSearchStores/other"]},
    ],
)
def test_bad_queries_are_400s(server: RunningServer, store: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{server.base_url}/v1beta/{store}:query", json=body)
    assert response.status_code == 400, (body, response.text)
    assert set(response.json()["error"]) >= {"code", "message", "status"}


def test_unknown_names_are_404s(server: RunningServer, store: str) -> None:
    base = f"{server.base_url}/v1beta"
    for method, path in [
        ("GET", "fileSearchStores/missing-store"),
        ("GET", "fileSearchStores/UPPER_CASE"),
        ("DELETE", "fileSearchStores/missing-store"),
        ("GET", f"{store}/documents/missing"),
        ("DELETE", f"{store}/documents/missing?force=true"),
        ("GET", f"{store}/operations/missing"),
        ("GET", f"{store}/upload/operations/missing"),
        ("GET", "fileSearchStores/missing-store/documents"),
        ("GET", f"{store}/media/missing?alt=media"),
        ("POST", "fileSearchStores/missing-store:query"),
    ]:
        response = httpx.request(method, f"{base}/{path}", json={"query": "x"} if method == "POST" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["status"] == "NOT_FOUND"
    assert httpx.delete(f"{base}/{store}?force=maybe").status_code == 400
    response = httpx.post(f"{base}/{store}:importFile", json={"fileName": "files/missing"})
    assert response.status_code == 404
    response = httpx.post(f"{base}/{store}:importFile", json={})
    assert response.status_code == 400
    response = httpx.post(f"{base}/{store}:importFile", content=b"{not json")
    assert response.status_code == 400
    response = httpx.get(f"{base}/fileSearchStores", params={"pageToken": "garbage"})
    assert response.status_code == 400


def test_size_limit_and_shared_quota(serve: Callable[..., RunningServer]) -> None:
    server = serve(search_stores={"max_document_bytes": 1000}, files={"max_total_bytes": 3000})
    c = client(server)
    store = c.file_search_stores.create(config={"display_name": "limits"}).name
    assert store is not None
    assert_400(lambda: upload(c, store, b"x" * 1001), text="1000 bytes")
    f = c.files.upload(file=io.BytesIO(b"y" * 1001), config={"mime_type": "text/plain"})
    assert_400(lambda: c.file_search_stores.import_file(file_search_store_name=store, file_name=f.name))  # type: ignore[arg-type]
    c.files.delete(name=f.name)  # type: ignore[arg-type]
    for _ in range(3):
        settle(c, upload(c, store, b"word " * 180))  # 900 bytes each: 2700 of the 3000
    # Documents and files share the quota: a 400-byte file no longer fits.
    assert_400(
        lambda: c.files.upload(file=io.BytesIO(b"z" * 400), config={"mime_type": "text/plain"}), text="exceed"
    )
    assert_400(lambda: upload(c, store, b"w" * 400), text="exceed")


def test_a_store_whose_model_is_gone_answers_400(serve: Callable[..., RunningServer]) -> None:
    first = serve(models=["old=fake:16"])
    c = client(first)
    store = c.file_search_stores.create(config={"display_name": "old model"}).name
    assert store is not None
    settle(c, upload(c, store, b"some words"))
    first.stop()
    second = serve(models=["new=fake:16"])
    c = client(second)
    assert c.file_search_stores.get(name=store).active_documents_count == 1
    response = httpx.post(f"{second.base_url}/v1beta/{store}:query", json={"query": "words"})
    assert response.status_code == 400 and "no longer serves" in response.json()["error"]["message"]
    assert_400(lambda: upload(c, store, b"more words"), status="FAILED_PRECONDITION", text="no longer serves")
