"""A store whose model takes images (a tiny random CLIP built at test time): an image document
is one chunk embedded from the image, and an image query finds it."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from omnivec.media.document_text import DocumentReader
from omnivec.media.pdf_workers import PdfWorkers
from omnivec.settings import MediaSettings
from tests.media.samples import pdf_images
from tests.support import tiny_multimodal_models as tiny
from tests.support.server import RunningServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def image(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


def add(base: str, store: str, data: bytes, mime: str, name: str) -> dict:  # type: ignore[type-arg]
    start = httpx.post(
        f"{base}/upload/v1beta/{store}:uploadToFileSearchStore",
        headers={
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Type": mime,
        },
        json={"displayName": name},
    )
    op = httpx.post(
        start.headers["x-goog-upload-url"],
        content=data,
        headers={"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
    ).json()
    for _ in range(600):
        if op.get("done"):
            return op  # type: ignore[no-any-return]
        time.sleep(0.05)
        op = httpx.get(f"{base}/v1beta/{op['name']}").json()
    raise AssertionError("the document stayed PENDING")


def test_image_documents_and_image_queries(serve: Callable[..., RunningServer], tmp_path: Path) -> None:
    server = serve(models=[f"clip={tiny.build_clip(tmp_path / 'clip')}"])
    base = server.base_url
    store = httpx.post(
        f"{base}/v1beta/fileSearchStores", json={"displayName": "pictures"}, timeout=120
    ).json()["name"]
    red, blue = image((250, 10, 10)), image((10, 10, 250))
    for data, mime, name in (
        (red, "image/png", "red.png"),
        (blue, "image/png", "blue.png"),
        (b"a note", "text/plain", "note.txt"),
    ):
        op = add(base, store, data, mime, name)
        assert "error" not in op, op
    content = {"parts": [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(blue).decode()}}]}
    response = httpx.post(
        f"{base}/v1beta/{store}:query", json={"content": content, "resultsCount": 3}, timeout=60
    )
    assert response.status_code == 200, response.text
    top = response.json()["relevantChunks"][0]
    assert top["document"]["displayName"] == "blue.png"
    assert top["chunk"]["data"]["stringValue"] == "blue.png"
    media = httpx.get(f"{base}/v1beta/{top['chunk']['mediaId']}", params={"alt": "media"})
    assert media.content == blue and media.headers["content-type"] == "image/png"


def test_a_scanned_pdf_is_searchable_by_its_page_images(
    serve: Callable[..., RunningServer], tmp_path: Path
) -> None:
    """No text at all (two image pages): in a store whose model takes images each page becomes a
    chunk embedded from the page's image, named by the page, and a query with that page's image
    finds it first, with its page number and the PDF as media."""
    server = serve(models=[f"clip={tiny.build_clip(tmp_path / 'clip')}"])
    base = server.base_url
    store = httpx.post(f"{base}/v1beta/fileSearchStores", json={"displayName": "scans"}, timeout=120).json()[
        "name"
    ]
    pages = [Image.new("RGB", (64, 64), (250, 10, 10)), Image.new("RGB", (64, 64), (10, 10, 250))]
    pdf = pdf_images(pages)
    op = add(base, store, pdf, "application/pdf", "scan.pdf")
    assert "error" not in op, op
    workers = PdfWorkers()
    try:  # the page as the server renders it (same media settings)
        page_two = DocumentReader(MediaSettings(), workers, pdf_timeout_s=60).page_images(pdf, [2])[2]
    finally:
        workers.close()
    content = {
        "parts": [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(page_two).decode()}}]
    }
    response = httpx.post(
        f"{base}/v1beta/{store}:query",
        json={"content": content, "resultsCount": 2, "searchMode": "DENSE"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    hits = response.json()["relevantChunks"]
    assert [h["chunk"]["pageNumber"] for h in hits] == [2, 1]
    assert hits[0]["chunk"]["data"]["stringValue"] == "scan.pdf, page 2"
    assert hits[0]["chunkRelevanceScore"] > 0.999  # the very image that was embedded
    media = httpx.get(f"{base}/v1beta/{hits[0]['chunk']['mediaId']}", params={"alt": "media"})
    assert media.content == pdf
