"""The text of a search-store document, page by page: plain text, Markdown, HTML (its visible
text), JSON/JSONL/CSV (as text), Word (DOCX) and PDF (one entry per page, numbered from 1); the
images of a PDF's pages, and audio and video as time windows, for stores whose model takes them.

PDFs are read in the memory- and time-limited worker processes that read request PDFs
(``pdf_workers``): a hostile document costs a worker, not the server. Anything else is refused
with a reason the document's FAILED state carries.
"""

from __future__ import annotations

import codecs
import io
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from omnivec.errors import InvalidArgument
from omnivec.media.audio import declared_length
from omnivec.media.clips import windows
from omnivec.media.docx import MIME as DOCX_MIME
from omnivec.media.docx import docx_text
from omnivec.media.limits import PageLimit
from omnivec.media.pdf_workers import PdfWorkers
from omnivec.media.sniff import identify
from omnivec.media.types import DecodedDocument
from omnivec.settings import MediaSettings
from omnivec.types import Clip, Modality

# Far more pages than any document a person reads; bounds the work one upload can cause.
MAX_PDF_PAGES = 2000
_TEXT_TYPES = {
    "text/plain",
    "text/markdown",
    "text/x-markdown",
    "text/csv",
    "text/tab-separated-values",
    "application/json",
    "application/jsonl",
    "application/x-ndjson",
    "application/x-jsonlines",
    "text/x-python",
    "application/xml",
    "text/xml",
}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_PDF = "application/pdf"
_EXTENSIONS = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".jsonl": "application/jsonl",
    ".docx": DOCX_MIME,
}


@dataclass(frozen=True, slots=True)
class PageText:
    text: str
    page_number: int | None = None


def resolve_mime(declared: str, display_name: str, head: bytes) -> str:
    """The type to read the document as: the declared one, unless it says nothing useful
    (empty, octet-stream), then the PDF signature or the name's extension."""
    mime = (declared or "").split(";")[0].strip().lower()
    if mime and mime != "application/octet-stream":
        return mime
    if head.startswith(b"%PDF-"):
        return _PDF
    name = display_name.lower()
    for ext, known in _EXTENSIONS.items():
        if name.endswith(ext):
            return known
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def supported(mime: str) -> bool:
    return mime in _TEXT_TYPES or mime in _HTML_TYPES or mime in (_PDF, DOCX_MIME) or mime.startswith("text/")


class DocumentReader:
    """Reads search-store documents. ``pdf_workers`` None: the media extra is not installed, and
    PDFs are refused with a reason that says so."""

    def __init__(self, settings: MediaSettings, pdf_workers: PdfWorkers | None, pdf_timeout_s: float) -> None:
        self.settings = settings
        self.pdf_workers = pdf_workers
        self.pdf_timeout_s = pdf_timeout_s

    def pages(self, data: bytes, mime: str) -> list[PageText]:
        """Raises InvalidArgument (the reason) for unsupported or unreadable documents."""
        if mime == _PDF:
            document = self._read_pdf(data, render=False, page_range=None)
            return [PageText(page.text, i + 1) for i, page in enumerate(document.pages)]
        if mime in _HTML_TYPES:
            return [PageText(html_text(_decode(data)))]
        if mime == DOCX_MIME:
            return [PageText(docx_text(data))]
        if supported(mime):
            return [PageText(_decode(data))]
        raise InvalidArgument(
            f"Documents of type {mime} are not supported: send text, Markdown, HTML, JSON, JSONL, CSV, "
            "PDF or DOCX."
        )

    def page_images(self, data: bytes, page_numbers: Sequence[int]) -> dict[int, bytes]:
        """PNG images of the PDF's pages ``page_numbers`` (from 1), rendered as request PDFs are
        (``pdf_render_dpi``, at most ``image_max_side``). Only the span of the pages asked for is
        rendered, so a long document is rendered a few pages at a time."""
        if not page_numbers:
            return {}
        first, last = min(page_numbers), max(page_numbers)
        document = self._read_pdf(data, render=True, page_range=(first - 1, last))
        wanted = set(page_numbers)
        images: dict[int, bytes] = {}
        for number, page in enumerate(document.pages, start=first):
            if number in wanted and page.image is not None:
                out = io.BytesIO()
                page.image.save(out, "PNG")
                images[number] = out.getvalue()
        return images

    def media_clips(self, data: bytes, mime: str, window_s: float) -> tuple[Modality, list[Clip]]:
        """An audio or video document as consecutive time windows of at most about ``window_s``
        (capped so a window always fits the media limits), and which modality it is."""
        media = identify(mime, data, "document")
        if media.modality not in (Modality.AUDIO, Modality.VIDEO):
            raise InvalidArgument(f"{media.label} is not audio or video.")
        limit = self.settings.max_audio_s if media.modality is Modality.AUDIO else self.settings.max_video_s
        # windows() may stretch the last window by a quarter: keep even that one within the limit
        return media.modality, windows(declared_length(data, media), min(window_s, limit / 1.25))

    def _read_pdf(self, data: bytes, *, render: bool, page_range: tuple[int, int] | None) -> DecodedDocument:
        if self.pdf_workers is None:
            raise InvalidArgument("PDFs need the media extra: pip install 'omnivec[media]'.")
        return self.pdf_workers.decode(
            data,
            field="document",
            settings=self.settings,
            pages=PageLimit(MAX_PDF_PAGES),
            render=render,
            page_range=page_range,
            timeout_s=self.pdf_timeout_s,
        )


def _decode(data: bytes) -> str:
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("The document is not UTF-8 text.") from None


class _TextOnly(HTMLParser):
    """Collects visible text; script, style and similar elements are skipped."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "head"})
    _BREAKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n\n")
        if tag.startswith("h") and tag[1:].isdigit():
            self.parts.append("# ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)
