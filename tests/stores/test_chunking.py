"""Whitespace chunking, document text extraction and the File Search wire codec."""

from __future__ import annotations

import io
import zipfile

import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.chunking import ChunkSize, chunk_size, split_words
from omnivec.media.document_text import DocumentReader, html_text, resolve_mime
from omnivec.media.docx import MIME as DOCX_MIME
from omnivec.media.pdf_workers import PdfWorkers
from omnivec.settings import MediaSettings
from omnivec.wire.search_stores import parse_chunking_config, parse_custom_metadata
from tests.media.samples import docx_document, pdf_text


def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_windows_share_the_overlap() -> None:
    chunks = split_words(words(450), ChunkSize(200, 20))
    assert [len(c.split()) for c in chunks] == [200, 200, 90]
    assert chunks[1].split()[0] == "w180" and chunks[2].split()[0] == "w360"
    assert chunks[2].split()[-1] == "w449"


def test_no_words_no_chunks_and_exact_fit() -> None:
    assert split_words(" \n\t ", ChunkSize(10, 2)) == []
    assert split_words(words(10), ChunkSize(10, 2)) == [words(10)]


def test_small_paragraphs_are_packed_and_sections_start_chunks() -> None:
    text = "# Alpha\nfirst part here.\n\nsecond part.\n\n# Beta\nother topic words."
    chunks = split_words(text, ChunkSize(8, 0))
    assert chunks == ["# Alpha first part here. second part.", "# Beta other topic words."]


def test_default_size_fits_the_model() -> None:
    assert chunk_size(None, None, 8192) == ChunkSize(128, 16)
    assert chunk_size(None, None, 96) == ChunkSize(64, 8)
    assert chunk_size(300, None, 96) == ChunkSize(300, 37)  # the request's size wins
    assert chunk_size(10, 3, 512) == ChunkSize(10, 3)


def test_text_formats() -> None:
    workers = PdfWorkers()
    reader = DocumentReader(MediaSettings(), workers, pdf_timeout_s=60)
    try:
        html = b"<html><head><title>t</title><style>p{}</style></head><body><h1>Head</h1><p>Body &amp; more</p><script>x()</script></body></html>"
        (page,) = reader.pages(html, "text/html")
        assert (
            "Head" in page.text
            and "Body & more" in page.text
            and "x()" not in page.text
            and "p{}" not in page.text
        )
        assert html_text("<p>a</p><p>b</p>").split() == ["a", "b"]
        (page,) = reader.pages(b'{"a": 1}\n{"b": 2}\n', "application/jsonl")
        assert page.text.startswith('{"a": 1}') and page.page_number is None
        pdf = pdf_text(["one page", "two page", "three page"])
        pages = reader.pages(pdf, "application/pdf")
        assert [(p.text, p.page_number) for p in pages] == [
            ("one page", 1),
            ("two page", 2),
            ("three page", 3),
        ]
        assert workers.pids(), "PDFs are read in the worker processes"
        with pytest.raises(InvalidArgument, match="not supported"):
            reader.pages(b"\x00\x01", "application/octet-stream")
        # Only the pages asked for are rendered, numbered as the document numbers them.
        images = reader.page_images(pdf, [2, 3])
        assert sorted(images) == [2, 3]
        assert all(png.startswith(b"\x89PNG") for png in images.values())
        assert images[2] != images[3]
    finally:
        workers.close()


def test_without_the_pdf_workers_a_pdf_is_refused_with_the_reason() -> None:
    reader = DocumentReader(MediaSettings(), None, pdf_timeout_s=60)
    with pytest.raises(InvalidArgument, match="media extra"):
        reader.pages(pdf_text(["a page"]), "application/pdf")


def test_mime_resolution() -> None:
    assert resolve_mime("", "notes.md", b"# x") == "text/markdown"
    assert resolve_mime("application/octet-stream", "scan", b"%PDF-1.7") == "application/pdf"
    assert resolve_mime("text/plain; charset=utf-8", "x.pdf", b"%PDF") == "text/plain"
    assert resolve_mime("", "data.csv", b"a,b") == "text/csv"


def test_wire_reads_both_spellings() -> None:
    snake = parse_chunking_config(
        {"white_space_config": {"max_tokens_per_chunk": 200, "max_overlap_tokens": 20}}
    )
    camel = parse_chunking_config({"whiteSpaceConfig": {"maxTokensPerChunk": "200", "maxOverlapTokens": 20}})
    assert snake == camel and snake.max_tokens_per_chunk == 200
    entries = parse_custom_metadata(
        [
            {"key": "a", "string_value": "x"},
            {"key": "b", "numericValue": 2},
            {"key": "c", "string_list_value": {"values": ["p", "q"]}},
        ]
    )
    assert [(e.key, e.value) for e in entries] == [("a", "x"), ("b", 2.0), ("c", ("p", "q"))]
    with pytest.raises(InvalidArgument, match="finite"):
        parse_custom_metadata([{"key": "n", "numericValue": float("nan")}])


def test_word_documents_read_in_order_and_bombs_are_refused() -> None:
    reader = DocumentReader(MediaSettings(), None, pdf_timeout_s=60)
    data = docx_document("Garden notes", ["Compost every week."], [["Carrots", "April"]])
    (page,) = reader.pages(data, resolve_mime("", "notes.docx", data[:16]))
    assert page.text == "# Garden notes\n\nCompost every week.\n\nCarrots | April"
    with pytest.raises(InvalidArgument, match="not a valid ZIP"):
        reader.pages(b"PK\x03\x04 not really", DOCX_MIME)
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(InvalidArgument, match="not a Word document"):
        reader.pages(plain_zip.getvalue(), DOCX_MIME)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" * (300 * 1024 * 1024))
    assert len(bomb.getvalue()) < 1024 * 1024
    with pytest.raises(InvalidArgument, match="inflates to"):
        reader.pages(bomb.getvalue(), DOCX_MIME)
