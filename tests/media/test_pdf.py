"""PDF: page text always, page images only when asked, page limits before any parsing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.limits import MediaTally, PageLimit
from omnivec.media.pdf import decode_pdf
from omnivec.media.types import DecodedDocument
from omnivec.settings import MediaSettings
from tests.media import samples

FIELD = "requests[0].content.parts[0].inline_data"


def decode(
    data: bytes, *, render: bool = False, pages: PageLimit | None = None, **limits: object
) -> DecodedDocument:
    settings = MediaSettings(**limits)  # type: ignore[arg-type]
    return decode_pdf(data, field=FIELD, settings=settings, pages=pages or PageLimit(6), render=render)


def refusal(data: bytes, **kwargs: object) -> str:
    with pytest.raises(InvalidArgument) as err:
        decode(data, **kwargs)  # type: ignore[arg-type]
    assert err.value.violations[0].field == FIELD
    return err.value.message


def test_each_pages_text_is_extracted() -> None:
    sentence = "The quick brown fox (a small one) jumps over the lazy dog near the river bank at dawn."
    doc = decode(samples.pdf_text(["First page.", sentence]))
    # Lines are wrapped in the PDF; the words and their order are what must survive.
    assert [" ".join(p.text.split()) for p in doc.pages] == ["First page.", sentence]
    assert all(p.image is None for p in doc.pages)
    assert doc.metadata["page_count"] == 2 and doc.content_hash


def test_pages_are_rendered_only_when_asked() -> None:
    doc = decode(samples.pdf_text(["Hello"]), render=True)
    image = doc.pages[0].image
    assert image is not None and image.mode == "RGB"
    assert image.size == (1224, 1584)  # US Letter at 144 dpi
    pixels = np.asarray(image)
    assert pixels.min() < 100 < 250 < pixels.max()  # black text on white


def test_huge_pages_render_at_bounded_size() -> None:
    # 14400 points (200 inches) square: 28800 pixels at 144 dpi without the cap.
    doc = decode(samples.pdf_text(["big"], page_size=(14400, 14400)), render=True, image_max_side=1024)
    assert doc.pages[0].image.size == (1024, 1024)


def test_image_only_pdf_has_pages_but_no_text() -> None:
    doc = decode(samples.pdf_images([samples.gradient(200, 100), samples.gradient(100, 200)]), render=True)
    assert [p.text for p in doc.pages] == ["", ""]
    assert doc.pages[0].image.size[0] > doc.pages[0].image.size[1]


def test_thousands_of_pages_are_refused_without_reading_them() -> None:
    data = samples.pdf_blank_pages(5000)
    started = time.perf_counter()
    message = refusal(data, render=True)
    elapsed = time.perf_counter() - started
    assert "the PDF has 5000 pages; a content may hold at most 6 PDF pages" in message
    # Not a timing claim: a guard that no page was rendered (5000 renders take many seconds).
    assert elapsed < 5


def test_pages_count_against_the_whole_content() -> None:
    tally = MediaTally(pdf_pages=4)
    message = refusal(samples.pdf_text(["a", "b", "c"]), pages=tally.pages_left(MediaSettings()))
    assert "with the 4 PDF pages before it in this content" in message
    assert len(decode(samples.pdf_text(["a"] * 8), pages=PageLimit(10)).pages) == 8


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (samples.pdf_text(["truncated"])[:120], "corrupt or truncated"),
        (b"%PDF-1.4\n" + bytes(300), "corrupt or truncated"),
        # PDFium refuses a document without a page tree, or with an empty one, when opening it.
        (
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
            "cannot be read",
        ),
        (samples.pdf_blank_pages(0), "cannot be read"),
    ],
)
def test_broken_pdfs_are_refused(data: bytes, fragment: str) -> None:
    assert fragment in refusal(data)
