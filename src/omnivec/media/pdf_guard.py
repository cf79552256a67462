"""Bound what a PDF expands to before PDFium parses it.

PDFium parses a page's whole content when the page is loaded, at about 100 bytes of memory per
byte of dense content: a 70 KB PDF whose one page inflates to 50 MB of text operators took 4 GB
and 10 s. The page and text limits act only after that. So the streams are inflated here first,
within budgets, and a PDF over them is refused before PDFium sees it:

- page content (content streams, form XObjects, object streams): ``MAX_CONTENT_BYTES``;
- everything else but images (fonts, colour profiles, metadata): ``MAX_OTHER_BYTES``.

Images are decoded only when a page is rendered, to a bounded size, and are not counted. A stream
whose filters cannot be checked here (LZW, run-length, …) is refused unless it is an image.

This is a first, cheap line only: a byte scan cannot know everything PDFium will inflate (a
stream can claim to be an image and still be a page's content). What it misses is bounded by
the worker process PDFium runs in (``pdf_workers``: a memory limit and a deadline).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from omnivec.errors import InvalidArgument

# A few pages of text are tens of kilobytes of content; dense vector drawings a few megabytes.
MAX_CONTENT_BYTES = 4 * 1024 * 1024
MAX_OTHER_BYTES = 64 * 1024 * 1024

_STREAM = re.compile(rb"stream\r?\n")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_INDIRECT_LENGTH = re.compile(rb"/Length\s+(\d+)\s+(\d+)\s+R")
_FILTERS = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_FONT = re.compile(rb"/Length[123]\b|/Subtype\s*/(?:Type1C|CIDFontType0C|OpenType)\b")


def check_pdf_expansion(data: bytes, field: str) -> None:
    budgets = {"content": MAX_CONTENT_BYTES, "other": MAX_OTHER_BYTES}
    for match in _STREAM.finditer(data):
        if _preceded_by_endstream(data, match.start()):
            continue  # the "stream" of an "endstream"
        header = _dictionary(data, match.start())
        if _IMAGE.search(header):
            continue
        kind = "other" if _FONT.search(header) else "content"
        raw = data[match.end() : match.end() + _length(data, header, match.end())]
        try:
            budgets[kind] -= _decoded_size(raw, _filters(header), budgets[kind])
        except ValueError:
            raise InvalidArgument.at(
                field,
                "the PDF uses a compression for page content that this server does not accept "
                "(only Flate, ASCII85 and ASCIIHex); save it again with standard compression",
            ) from None
        if budgets[kind] < 0:
            limit = MAX_CONTENT_BYTES if kind == "content" else MAX_OTHER_BYTES
            what = "page content" if kind == "content" else "embedded data"
            raise InvalidArgument.at(
                field,
                f"the PDF's {what} expands to more than {limit // (1024 * 1024)} MiB, far beyond a few "
                "pages of text; send the text itself or a smaller PDF",
            )


def _preceded_by_endstream(data: bytes, at: int) -> bool:
    return data[max(0, at - 3) : at] == b"end"


def _dictionary(data: bytes, stream_at: int) -> bytes:
    """The object's dictionary: from its ``N G obj`` header to the ``stream`` keyword."""
    window = data[max(0, stream_at - 65536) : stream_at]
    headers = list(_OBJ.finditer(window))
    return window[headers[-1].end() :] if headers else window


def _length(data: bytes, header: bytes, start: int) -> int:
    """The stream's length as PDFium reads it: /Length, direct or through its object, else up to
    ``endstream`` (a fake ``endstream`` inside the data cannot shorten a declared length)."""
    if m := _DIRECT_LENGTH.search(header):
        return int(m[1])
    if m := _INDIRECT_LENGTH.search(header):
        target = re.search(rb"\b%s\s+%s\s+obj\s+(\d+)\s+endobj" % (m[1], m[2]), data)
        if target:
            return int(target[1])
    end = data.find(b"endstream", start)
    return (end if end != -1 else len(data)) - start


def _filters(header: bytes) -> list[bytes]:
    m = _FILTERS.search(header)
    return _NAME.findall(m[1]) if m else []


def _decoded_size(raw: bytes, filters: list[bytes], budget: int) -> int:
    """Bytes after every filter, counting at most ``budget + 1`` (enough to know it is over)."""
    data = raw
    for name in filters:
        if name in (b"FlateDecode", b"Fl"):
            inflater = zlib.decompressobj()
            try:
                data = inflater.decompress(data, max(budget, 0) + 1)
            except zlib.error:
                data = b""  # corrupt: PDFium reports it (or reads what it can, within this size)
        elif name in (b"ASCII85Decode", b"A85"):
            data = _ascii85(data)
        elif name in (b"ASCIIHexDecode", b"AHx"):
            data = _hex(data)
        else:
            raise ValueError(name)
    return len(data)


def _ascii85(data: bytes) -> bytes:
    text = data.split(b"~>", 1)[0].removeprefix(b"<~")
    try:
        return base64.a85decode(re.sub(rb"\s", b"", text))
    except ValueError:
        return b""


def _hex(data: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
    try:
        return binascii.unhexlify(digits + b"0" * (len(digits) % 2))
    except binascii.Error:
        return b""
