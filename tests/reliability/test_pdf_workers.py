"""PDFs are parsed in memory- and time-limited worker processes: a bomb the byte guard does not
recognise costs one worker, never the server, and the next PDF is read by a fresh worker."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator

import httpx
import pytest

from omnivec.media.pdf_workers import PdfWorkers
from tests.media import samples
from tests.media.samples import _pdf_file

from .corpus import EMBED
from .corpus_media import text_operators
from .harness import ThreadServer, google_error, thread_settings

WORKER_MIB = 256


def guard_bypass(content: bytes) -> bytes:
    """Dense page content in a stream whose dictionary claims to be an image: the byte guard
    skips image streams, PDFium still parses it as the page's content."""
    body = zlib.compress(content, 9)
    return _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents 5 0 R >>",
            b"<< /Subtype /Image /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
            % (len(body), body),
        ]
    )


def pdf_request(pdf: bytes) -> dict[str, object]:
    data = base64.b64encode(pdf).decode()
    return {"content": {"parts": [{"inline_data": {"mime_type": "application/pdf", "data": data}}]}}


def workers_of(server: ThreadServer) -> PdfWorkers:
    decoder = server.container.embeddings.decoder
    workers = getattr(decoder, "pdf_workers", None)
    assert isinstance(workers, PdfWorkers)
    return workers


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    settings = thread_settings(media={"pdf_workers": 1, "pdf_worker_memory_bytes": WORKER_MIB * 1024 * 1024})
    with ThreadServer(settings) as running:
        yield running


def test_a_bomb_past_the_byte_guard_costs_one_worker(server: ThreadServer) -> None:
    workers = workers_of(server)
    ok = httpx.post(server.url + EMBED, json=pdf_request(samples.pdf_text(["first page"])), timeout=60)
    assert ok.status_code == 200, ok.text
    [first_worker] = workers.pids()

    # 24 MiB of text operators (~100 bytes of PDFium memory per byte) in a 100 KB PDF.
    bomb = guard_bypass(text_operators(24 * 1024 * 1024))
    assert len(bomb) < 200_000
    r = httpx.post(server.url + EMBED, json=pdf_request(bomb), timeout=120)
    assert r.status_code == 400, r.text
    error = google_error(r.json())
    assert f"needed more than {WORKER_MIB} MiB of memory" in error["message"]
    assert first_worker not in workers.pids() and workers.replaced == 1

    again = httpx.post(server.url + EMBED, json=pdf_request(samples.pdf_text(["after the bomb"])), timeout=60)
    assert again.status_code == 200, again.text
    assert workers.pids() and first_worker not in workers.pids()


def test_a_pdf_past_its_deadline_is_refused_and_its_worker_killed() -> None:
    """A deadline far below what a worker needs to start: the worker is killed at the deadline."""
    settings = thread_settings(media={"pdf_workers": 1, "pdf_timeout_s": 0.001})
    with ThreadServer(settings) as server:
        r = httpx.post(server.url + EMBED, json=pdf_request(samples.pdf_text(["slow"])), timeout=60)
        assert r.status_code == 400, r.text
        assert "reading the PDF took longer than 0.001 s" in google_error(r.json())["message"]
        workers = workers_of(server)
        assert workers.replaced == 1 and workers.pids() == []
