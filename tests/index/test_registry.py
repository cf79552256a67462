"""Vector stores by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnivec.errors import Unavailable
from omnivec.index.edge import EdgeVectorStore
from omnivec.index.qdrant_server import COLLECTION_PREFIX, QdrantClientVectorStore
from omnivec.index.registry import InvalidVectorStoreUrl, StoreUrl, known_schemes, open_vector_store


def test_every_scheme_is_declared() -> None:
    assert known_schemes() == ["edge", "memory", "qdrant+http", "qdrant+https", "qdrant+local"]


@pytest.mark.parametrize("url", [None, "edge", "EDGE"])
def test_the_default_is_edge_under_the_data_dir(tmp_path: Path, url: str | None) -> None:
    store = open_vector_store(url, tmp_path)
    assert isinstance(store, EdgeVectorStore)
    store.create_collection("s", 8)
    assert (tmp_path / "vectors" / "s").is_dir()
    store.close()


def test_edge_at_a_path(tmp_path: Path) -> None:
    store = open_vector_store(f"edge://{tmp_path}/elsewhere", tmp_path / "unused")
    store.create_collection("s", 8)
    assert (tmp_path / "elsewhere" / "s").is_dir()
    store.close()


@pytest.mark.parametrize("url", ["memory", ":memory:"])
def test_qdrant_client_in_memory(tmp_path: Path, url: str) -> None:
    store = open_vector_store(url, tmp_path)
    assert isinstance(store, QdrantClientVectorStore)
    store.close()
    assert list(tmp_path.iterdir()) == []


def test_qdrant_client_local_files(tmp_path: Path) -> None:
    store = open_vector_store(f"qdrant+local://{tmp_path}/q", tmp_path)
    store.create_collection("s", 8)
    store.close()
    reopened = open_vector_store(f"qdrant+local://{tmp_path}/q", tmp_path)
    assert reopened.has_collection("s")
    reopened.close()


def test_server_urls_parse() -> None:
    url = StoreUrl.parse("qdrant+https://:s3cret@qdrant.example.com:6334")
    assert (url.scheme, url.host, url.port, url.password) == (
        "qdrant+https",
        "qdrant.example.com",
        6334,
        "s3cret",
    )
    assert COLLECTION_PREFIX


def test_an_unreachable_server_is_unavailable() -> None:
    store = open_vector_store("qdrant+http://127.0.0.1:9", Path("/nonexistent"))  # connects lazily
    assert isinstance(store, QdrantClientVectorStore)
    with pytest.raises(Unavailable, match="not reachable"):
        store.create_collection("s", 8)
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("lancedb://x", "Unknown vector store 'lancedb://x': use one of edge, memory"),
        ("qdrant+http://", "needs a host"),
        ("qdrant+http://host:notaport", "malformed"),
    ],
)
def test_bad_urls_say_what_to_use(url: str, message: str) -> None:
    with pytest.raises(InvalidVectorStoreUrl, match=message):
        open_vector_store(url, Path("/nonexistent"))
