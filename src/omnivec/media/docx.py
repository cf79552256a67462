"""Word documents (DOCX) to text with python-docx: paragraphs and tables in reading order,
headings marked as Markdown headings so chunks start at sections.

A DOCX is a ZIP archive; what its entries inflate to is checked against their declared sizes
before python-docx reads them (``zipfile`` stops at the declared size, so a lying header is an
error, not a bomb).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from omnivec.errors import InvalidArgument

MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# What all entries of one document may inflate to: far above any real document's XML.
MAX_INFLATED_BYTES = 256 * 1024 * 1024


def docx_text(data: bytes) -> str:
    """The document's text; InvalidArgument (the reason) for a broken or oversized one."""
    _check_archive(data)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = [_block_text(block) for block in document.iter_inner_content()]
    except (KeyError, ValueError, zipfile.BadZipFile, OSError):
        raise InvalidArgument("The DOCX document is corrupt and cannot be read.") from None
    return "\n\n".join(b for b in blocks if b)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(entry.file_size for entry in archive.infolist())
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise InvalidArgument("The DOCX document is not a valid ZIP archive.") from None
    if "word/document.xml" not in names:
        raise InvalidArgument("The file is not a Word document (no word/document.xml).")
    if inflated > MAX_INFLATED_BYTES:
        raise InvalidArgument(
            f"The DOCX document inflates to {inflated} bytes, more than the limit of {MAX_INFLATED_BYTES}."
        )


def _block_text(block: Any) -> str:
    if hasattr(block, "rows"):  # a table: one line per row, cells separated by " | "
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
        return "\n".join(r for r in rows if r.strip(" |"))
    text = str(block.text).strip()
    style = getattr(block.style, "name", "") or ""
    if text and (style.startswith("Heading") or style == "Title"):
        return "# " + text
    return text
