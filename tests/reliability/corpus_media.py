"""Media entries of the hostile corpus: corrupt, truncated, mislabelled files and bombs of every
accepted type, sent as ``inline_data``. Built on first use: they need the media encoders."""

from __future__ import annotations

import base64
import functools
import zlib

from .corpus import Case, content


def inline(mime: str, data: bytes) -> bytes:
    return content({"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}})


def pdf_with_content(stream: bytes, filters: bytes = b"/FlateDecode") -> bytes:
    """A one-page PDF whose page content is ``stream`` (already encoded for ``filters``)."""
    from tests.media.samples import _pdf_file

    return _pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents 5 0 R >>",
            b"<< /Length %d /Filter %s >>\nstream\n%s\nendstream" % (len(stream), filters, stream),
        ]
    )


def text_operators(size: int) -> bytes:
    """Dense page content: one text-show operator per 7 bytes, the costliest kind to parse."""
    return b"BT /F1 12 Tf 72 720 Td " + b"(A) Tj " * (size // 7) + b"ET"


@functools.cache
def media_cases() -> dict[str, Case]:
    from tests.media import samples

    png, jpeg = samples.png(), samples.jpeg()
    wav, mp3 = samples.wav(0.5, 8000), samples.mp3(0.5, 8000, 1)
    mp4 = samples.video(seconds=1, fps=5, width=32, height=32, audio=True)
    pdf = samples.pdf_text(["hello", "world"])
    bomb = text_operators(50_000_000)
    cases = [
        Case("png-truncated", inline("image/png", png[: len(png) // 2]), fragment="corrupt or truncated"),
        Case("jpeg-truncated", inline("image/jpeg", jpeg[: len(jpeg) // 2]), fragment="corrupt or truncated"),
        Case("wav-truncated", inline("audio/wav", wav[:40]), fragment="corrupt"),
        Case("mp3-truncated", inline("audio/mpeg", mp3[:100]), fragment="corrupt"),
        Case("mp4-truncated", inline("video/mp4", mp4[: len(mp4) // 3]), fragment="corrupt"),
        Case(
            "pdf-truncated", inline("application/pdf", pdf[: len(pdf) // 2]), fragment="corrupt or truncated"
        ),
        Case(
            "png-pixel-bomb",
            inline("image/png", samples.png_with_size_claim(100_000, 100_000)),
            fragment="pixels",
        ),
        Case(
            "pdf-too-many-pages",
            inline("application/pdf", samples.pdf_blank_pages(500)),
            fragment="500 pages",
        ),
        Case(
            "pdf-flate-bomb",
            inline("application/pdf", pdf_with_content(zlib.compress(bomb, 9))),
            fragment="page content expands to more than 4 MiB",
        ),
        Case(
            "pdf-double-flate-bomb",
            inline(
                "application/pdf",
                pdf_with_content(zlib.compress(zlib.compress(bomb, 9), 9), b"[/FlateDecode /FlateDecode]"),
            ),
            fragment="page content expands",
        ),
        Case(
            "pdf-lzw-content",
            inline(
                "application/pdf", pdf_with_content(b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", b"/LZWDecode")
            ),
            fragment="compression for page content",
        ),
        Case(
            "png-declared-as-wav",
            inline("audio/wav", png),
            fragment="declared mimeType audio/wav but the data is image/png",
        ),
        Case(
            "wav-declared-as-png",
            inline("image/png", wav),
            fragment="declared mimeType image/png but the data is audio/wav",
        ),
        Case("pdf-declared-as-jpeg", inline("image/jpeg", pdf), fragment="but the data is application/pdf"),
        Case("mp4-declared-as-mp3", inline("audio/mpeg", mp4), fragment="declared mimeType audio/mpeg"),
        Case("gif-unsupported", inline("image/gif", b"GIF89a" + b"\0" * 20), fragment="is not supported"),
        Case(
            "zip-unsupported",
            inline("application/zip", b"PK\x03\x04" + b"\0" * 30),
            fragment="is not supported",
        ),
        Case("media-empty", inline("image/png", b""), fragment="is empty"),
        Case("media-no-mime", inline("", png), fragment="a mimeType is required"),
        Case(
            "media-html-mime", inline("text/html", b"<script>alert(1)</script>"), fragment="is not supported"
        ),
        Case("png-ok", inline("image/png", png), status=200),
        Case("pdf-ok", inline("application/pdf", pdf), status=200),
        Case("mp4-ok", inline("video/mp4", mp4), status=200),
        Case("mp3-ok", inline("audio/mpeg", mp3), status=200),
        Case(
            "mp4-lying-duration-ok",
            inline("video/mp4", samples.with_duration_claim(mp4, 100_000)),
            status=200,
        ),
    ]
    return {c.id: c for c in cases}


MEDIA_CASE_IDS = [
    "png-truncated", "jpeg-truncated", "wav-truncated", "mp3-truncated", "mp4-truncated", "pdf-truncated",
    "png-pixel-bomb", "pdf-too-many-pages", "pdf-flate-bomb", "pdf-double-flate-bomb", "pdf-lzw-content",
    "png-declared-as-wav", "wav-declared-as-png", "pdf-declared-as-jpeg", "mp4-declared-as-mp3",
    "gif-unsupported", "zip-unsupported", "media-empty", "media-no-mime", "media-html-mime",
    "png-ok", "pdf-ok", "mp4-ok", "mp3-ok", "mp4-lying-duration-ok",
]  # fmt: skip
