"""Retrieval through ``:query`` with the bundled all-MiniLM-L6-v2 on a small corpus of text,
Markdown and a multi-page PDF: the right chunk comes first, and filters exclude the right
documents."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types

from omnivec.media.docx import MIME as DOCX_MIME
from tests.media.samples import docx_document, pdf_text, png
from tests.support.server import RunningServer

pytestmark = [
    pytest.mark.filterwarnings("ignore::google.genai.errors.ExperimentalWarning"),
    pytest.mark.timeout(300),
]

TEXTS = {
    "bees.txt": (
        "Honey bees live in colonies ruled by a single queen. Worker bees collect nectar and pollen "
        "from flowers and turn the nectar into honey, which they store in wax combs for the winter.",
        {"author": "Ada Field", "year": 1931.0, "tags": ["nature", "insects"]},
    ),
    "volcano.txt": (
        "A volcano erupts when molten rock called magma rises from the mantle through cracks in the "
        "crust. Lava flows, ash clouds and volcanic gases follow the eruption.",
        {"author": "Robert Graves", "year": 1934.0, "tags": ["geology"]},
    ),
    "bread.txt": (
        "To bake sourdough bread, mix flour and water with a starter culture of wild yeast, let the "
        "dough rise overnight, shape the loaf and bake it in a very hot oven.",
        {"author": "Robert Graves", "year": 1929.0, "tags": ["food"]},
    ),
}
GUIDE = """# Travel guide

## Trains in Japan
The Shinkansen bullet train links Tokyo and Osaka in under three hours and leaves every few minutes.

## Money
Most shops in Japan accept cash; carry yen coins for vending machines and small temples.

## Hot springs
Onsen are natural hot springs. Wash before you enter the bath and keep towels out of the water.
"""
PDF_PAGES = [
    "Chapter one. The chess opening called the Sicilian Defence begins with the moves e4 c5 and "
    "leads to sharp, unbalanced positions favoured by attacking players.",
    "Chapter two. Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar, "
    "releasing oxygen through the small pores of their leaves.",
    "Chapter three. A lighthouse keeper tended the lamp through stormy nights so that ships could "
    "steer clear of the rocks near the harbour.",
]
GARDEN = docx_document(
    "Garden notes",
    [
        "Compost turns kitchen scraps, coffee grounds and fallen leaves into dark crumbly soil; "
        "turn the heap every week so air reaches the worms and microbes inside.",
    ],
    [["Vegetable", "Sow in"], ["Carrots", "April"], ["Pumpkins", "May"]],
)
# question -> (document display name, page number or None)
QUESTIONS = [
    ("How do bees make honey?", "bees.txt", None),
    ("What happens when a volcano erupts?", "volcano.txt", None),
    ("How long does the bullet train from Tokyo to Osaka take?", "guide.md", None),
    ("What should I do before entering an onsen bath?", "guide.md", None),
    ("Which chess opening starts with e4 c5?", "book.pdf", 1),
    ("How do plants produce oxygen from sunlight?", "book.pdf", 2),
    ("Who kept ships away from the rocks at night?", "book.pdf", 3),
    ("How do you bake sourdough?", "bread.txt", None),
    ("How do I make compost from kitchen scraps?", "garden.docx", None),
]


def metadata(values: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, list):
            out.append({"key": key, "string_list_value": {"values": value}})
        elif isinstance(value, float):
            out.append({"key": key, "numeric_value": value})
        else:
            out.append({"key": key, "string_value": value})
    return out


@pytest.fixture(scope="module")
def corpus(minilm_server: RunningServer) -> Iterator[tuple[RunningServer, str]]:
    """One store on the shared MiniLM server, deleted afterwards."""
    server = minilm_server
    c = genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))
    store = c.file_search_stores.create(config={"display_name": "Library"})
    assert store.name is not None
    uploads: list[tuple[bytes, str, str, list[dict[str, Any]]]] = [
        (text.encode(), name, "text/plain", metadata(meta)) for name, (text, meta) in TEXTS.items()
    ]
    uploads.append(
        (GUIDE.encode(), "guide.md", "text/markdown", metadata({"author": "Mei Tanaka", "year": 2001.0}))
    )
    uploads.append(
        (
            pdf_text(PDF_PAGES),
            "book.pdf",
            "application/pdf",
            metadata({"author": "Ada Field", "year": 1950.0}),
        )
    )
    uploads.append((GARDEN, "garden.docx", DOCX_MIME, metadata({"author": "Ada Field", "year": 1950.0})))
    ops = [
        c.file_search_stores.upload_to_file_search_store(
            file_search_store_name=store.name,
            file=io.BytesIO(data),
            config={"display_name": name, "mime_type": mime, "custom_metadata": meta},
        )
        for data, name, mime, meta in uploads
    ]
    for op in ops:
        for _ in range(1200):
            if op.done:
                break
            time.sleep(0.05)
            op = c.operations.get(op)
        assert op.done and op.error is None, op
    yield server, store.name
    c.file_search_stores.delete(name=store.name, config={"force": True})


def query(server: RunningServer, store: str, **body: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1beta/{store}:query", json=body, timeout=60)


@pytest.mark.parametrize("mode", ["HYBRID", "DENSE"])
def test_the_right_chunk_comes_first(corpus: tuple[RunningServer, str], mode: str) -> None:
    server, store = corpus
    for question, document, page in QUESTIONS:
        response = query(server, store, query=question, resultsCount=3, searchMode=mode)
        assert response.status_code == 200, response.text
        chunks = response.json()["relevantChunks"]
        top = chunks[0]
        assert top["document"]["displayName"] == document, (
            question,
            [c["document"]["displayName"] for c in chunks],
        )
        assert top["chunk"].get("pageNumber") == page, question
        scores = [c["chunkRelevanceScore"] for c in chunks]
        assert scores == sorted(scores, reverse=True)


def test_a_pdf_hit_names_its_page_and_media(corpus: tuple[RunningServer, str]) -> None:
    server, store = corpus
    top = query(server, store, query="lighthouse keeper", resultsCount=1).json()["relevantChunks"][0]
    chunk = top["chunk"]
    assert chunk["pageNumber"] == 3 and "lighthouse" in chunk["data"]["stringValue"]
    assert chunk["name"].startswith(top["document"]["name"] + "/chunks/")
    media = httpx.get(f"{server.base_url}/v1beta/{chunk['mediaId']}", params={"alt": "media"})
    assert media.status_code == 200 and media.content.startswith(b"%PDF-")
    assert {m["key"] for m in chunk["customMetadata"]} == {"author", "year"}


def test_lexical_search_finds_exact_words(corpus: tuple[RunningServer, str]) -> None:
    server, store = corpus
    top = query(server, store, query="Shinkansen", searchMode="LEXICAL", resultsCount=1).json()[
        "relevantChunks"
    ][0]
    assert "Shinkansen" in top["chunk"]["data"]["stringValue"]


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ('author = "Robert Graves"', {"volcano.txt", "bread.txt"}),
        ('author = "Robert Graves" AND year > 1930', {"volcano.txt"}),
        ("year < 1935", {"bees.txt", "volcano.txt", "bread.txt"}),
        ('tags = "insects" OR year >= 2000', {"bees.txt", "guide.md"}),
        ('NOT author = "Ada Field"', {"volcano.txt", "bread.txt", "guide.md"}),
        ('author != "Ada Field" AND (year <= 1930 OR tags = "geology")', {"volcano.txt", "bread.txt"}),
    ],
)
def test_filters_exclude_the_right_documents(
    corpus: tuple[RunningServer, str], expression: str, allowed: set[str]
) -> None:
    server, store = corpus
    response = query(
        server,
        store,
        query="bees honey volcano bread trains chess",
        resultsCount=50,
        metadataFilter=expression,
    )
    assert response.status_code == 200, response.text
    found = {c["document"]["displayName"] for c in response.json().get("relevantChunks", [])}
    assert found == allowed, expression


def test_several_stores_in_one_query(corpus: tuple[RunningServer, str]) -> None:
    server, store = corpus
    c = genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))
    other = c.file_search_stores.create(config={"display_name": "Other"})
    op = c.file_search_stores.upload_to_file_search_store(
        file_search_store_name=other.name,  # type: ignore[arg-type]
        file=io.BytesIO(b"Penguins are flightless birds that swim in the cold southern oceans."),
        config={"display_name": "penguins.txt", "mime_type": "text/plain"},
    )
    while not op.done:
        time.sleep(0.05)
        op = c.operations.get(op)
    response = httpx.post(
        f"{server.base_url}/v1beta/fileSearchStores:query",
        json={
            "query": "birds that cannot fly",
            "fileSearchStoreNames": [store, other.name],
            "resultsCount": 2,
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    top = response.json()["relevantChunks"][0]
    assert top["document"]["displayName"] == "penguins.txt"
    c.file_search_stores.delete(name=other.name, config={"force": True})  # type: ignore[arg-type]


def test_an_image_in_a_text_model_store_fails_with_a_reason(corpus: tuple[RunningServer, str]) -> None:
    server, store = corpus
    c = genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))
    op = c.file_search_stores.upload_to_file_search_store(
        file_search_store_name=store, file=io.BytesIO(png()), config={"mime_type": "image/png"}
    )
    while not op.done:
        time.sleep(0.05)
        op = c.operations.get(op)
    assert op.error is not None and "takes only text" in op.error["message"]
    c.file_search_stores.documents.delete(name=op.name.replace("/upload/operations/", "/documents/"))
