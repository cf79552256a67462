"""PDF to per-page text, and page images when the model takes images (pypdfium2).

The page count is read before any page is parsed, so a PDF of thousands of pages is refused
without touching them; rendered pages are sized to ``image_max_side`` whatever size the page
claims to be.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from omnivec.errors import InvalidArgument
from omnivec.media.limits import PageLimit
from omnivec.media.pdf_guard import check_pdf_expansion
from omnivec.media.sniff import content_hash
from omnivec.media.types import DecodedDocument, DocumentPage
from omnivec.settings import MediaSettings

# PDFium is not thread-safe, not even across different documents (pypdfium2's documentation):
# every PDFium call in the process goes through this lock. The server parses PDFs only in worker
# processes (``pdf_workers``), one at a time each; the lock keeps direct callers safe too.
_PDFIUM_LOCK = threading.Lock()
# Far beyond what a real page holds (a dense page has a few thousand characters); it bounds the
# text a hostile page can make us copy and tokenise.
MAX_PAGE_CHARS = 100_000


@cache
def load_pdfium() -> Any:
    import pypdfium2

    return pypdfium2


def decode_pdf(
    data: bytes,
    *,
    field: str,
    settings: MediaSettings,
    pages: PageLimit,
    render: bool,
    page_range: tuple[int, int] | None = None,
) -> DecodedDocument:
    """``page_range``: (first, stop), zero-based and clamped to the document, to read only those
    pages (a long document is read a slice at a time); the page limit still applies to the
    whole document, and ``metadata["page_count"]`` is always the whole count."""
    pdfium = load_pdfium()
    with _PDFIUM_LOCK:
        try:
            doc = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium.raw.FPDF_ERR_PASSWORD, pdfium.raw.FPDF_ERR_SECURITY):
                raise InvalidArgument.at(
                    field, "the PDF is password-protected; send it unencrypted"
                ) from None
            raise _corrupt(field) from None
        try:
            count = len(doc)
            if count == 0:
                raise InvalidArgument.at(field, "the PDF has no pages")
            pages.check(field, count)
            # Opening read only the cross-reference table; loading a page parses its content.
            check_pdf_expansion(data, field)
            first, stop = page_range if page_range is not None else (0, count)
            wanted = range(max(first, 0), min(stop, count))
            decoded = tuple(_page(doc, i, field, settings, render) for i in wanted)
            title = _title(doc)
        except pdfium.PdfiumError:
            raise _corrupt(field) from None
        finally:
            doc.close()
    metadata: dict[str, Any] = {"page_count": count}
    if title:
        metadata["title"] = title
    return DecodedDocument(pages=decoded, content_hash=content_hash(data), metadata=metadata)


def _page(doc: Any, index: int, field: str, settings: MediaSettings, render: bool) -> DocumentPage:
    page = doc[index]
    try:
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range(count=min(textpage.count_chars(), MAX_PAGE_CHARS))
        finally:
            textpage.close()
        image = _render(page, index, field, settings) if render else None
    finally:
        page.close()
    return DocumentPage(text=_clean(text), image=image)


def _render(page: Any, index: int, field: str, settings: MediaSettings) -> Any:
    width, height = page.get_size()  # in points, 1/72 inch
    if not (width > 0 and height > 0):
        raise InvalidArgument.at(field, f"page {index + 1} of the PDF has no area ({width}x{height} points)")
    # The page's own size is only a claim: a 200-inch page at 144 dpi would be a 28800-pixel
    # bitmap, so the scale is capped by image_max_side.
    scale = min(settings.pdf_render_dpi / 72.0, settings.image_max_side / max(width, height))
    bitmap = page.render(scale=scale, may_draw_forms=False)
    try:
        image = bitmap.to_pil()
        return image if image.mode == "RGB" else image.convert("RGB")
    finally:
        bitmap.close()


def _clean(text: str) -> str:
    # PDFium ends lines with CRLF and marks generated hyphens with U+0002 / U+FFFE.
    return text.replace("\r\n", "\n").replace("\x02", "").replace("\ufffe", "").strip()


def _title(doc: Any) -> str:
    title = doc.get_metadata_dict(skip_empty=True).get("Title", "")
    return str(title).strip()


def _corrupt(field: str) -> InvalidArgument:
    return InvalidArgument.at(field, "the PDF is corrupt or truncated and cannot be read")
