"""The PDF expansion guard: bombs are refused before PDFium parses them, however the stream is
wrapped; real PDFs pass."""

from __future__ import annotations

import base64
import zlib

import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.pdf_guard import MAX_CONTENT_BYTES, check_pdf_expansion
from tests.media import samples
from tests.media.samples import _pdf_file

from .corpus_media import pdf_with_content, text_operators

BOMB = text_operators(MAX_CONTENT_BYTES + 1024)


def refused(data: bytes) -> str:
    with pytest.raises(InvalidArgument) as info:
        check_pdf_expansion(data, "content.parts[0].inlineData")
    assert info.value.message.startswith("Invalid value at 'content.parts[0].inlineData'")
    return info.value.message


@pytest.mark.parametrize(
    "pdf",
    [
        samples.pdf_text(["a page of text " * 200] * 6),
        samples.pdf_images([samples.gradient(400, 300)] * 2),
        samples.pdf_blank_pages(3),
        pdf_with_content(zlib.compress(text_operators(MAX_CONTENT_BYTES // 2))),
    ],
    ids=["text", "images", "blank", "half-the-budget"],
)
def test_real_pdfs_pass(pdf: bytes) -> None:
    check_pdf_expansion(pdf, "f")


def test_flate_bomb() -> None:
    assert "page content expands to more than 4 MiB" in refused(pdf_with_content(zlib.compress(BOMB, 9)))


def test_uncompressed_content_counts_too() -> None:
    assert "page content expands" in refused(pdf_with_content(BOMB, b"[]"))


def test_chained_filters_are_all_undone() -> None:
    a85 = base64.a85encode(zlib.compress(BOMB, 9)) + b"~>"
    assert "page content expands" in refused(pdf_with_content(a85, b"[/ASCII85Decode /FlateDecode]"))
    twice = zlib.compress(zlib.compress(BOMB, 9), 9)
    assert "page content expands" in refused(pdf_with_content(twice, b"[/Fl /Fl]"))
    hexed = zlib.compress(BOMB, 9).hex().encode() + b">"
    assert "page content expands" in refused(pdf_with_content(hexed, b"[/AHx /FlateDecode]"))


def test_a_fake_endstream_inside_the_data_does_not_hide_the_rest() -> None:
    """PDFium reads /Length bytes; so does the guard, whatever the data looks like."""
    decoy = b"BT (endstream\nendobj) Tj ET\n" + BOMB  # the word inside a string operand
    assert "page content expands" in refused(pdf_with_content(decoy, b"[]"))
    spread = zlib.compressobj(9)
    body = spread.compress(BOMB) + spread.flush()
    indirect = _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length 5 0 R /Filter /FlateDecode >>\nstream\n%s\nendstream" % body,
            b"%d" % len(body),
        ]
    )
    assert "page content expands" in refused(indirect)


def test_unknown_filters_on_content_are_refused_but_not_on_images() -> None:
    assert "compression for page content" in refused(pdf_with_content(b"\x00" * 64, b"/LZWDecode"))
    image = _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
            b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /Length 2 /Filter /JBIG2Decode >>\n"
            b"stream\nxx\nendstream",
        ]
    )
    check_pdf_expansion(image, "f")
