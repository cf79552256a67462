"""Whitespace chunking for File Search stores: words, not model tokens, as Google counts them.

Text is first cut into blocks along its own structure (Markdown headings, blank-line
paragraphs); neighbouring small blocks are packed together up to the chunk size, and a block
larger than a chunk is cut into windows of ``max_words`` that share ``overlap`` words. So a chunk
rarely straddles two sections, which is what makes its vector about one thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words per chunk when the request says nothing, before the model's own limit is applied.
DEFAULT_MAX_WORDS = 128
# A word is about 1.3 model tokens in English; a chunk must fit the model's window whole.
TOKENS_PER_WORD = 1.5

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class ChunkSize:
    max_words: int
    overlap: int


def chunk_size(max_words: int | None, overlap: int | None, model_token_limit: int) -> ChunkSize:
    """The size to use: the request's, or a default that fits the model's token limit whole.
    ``overlap`` defaults to an eighth of the chunk."""
    if max_words is None:
        fits = max(16, int(model_token_limit / TOKENS_PER_WORD))
        max_words = min(DEFAULT_MAX_WORDS, fits)
    if overlap is None:
        overlap = max_words // 8
    return ChunkSize(max_words, min(overlap, max_words - 1))


def split_words(text: str, size: ChunkSize) -> list[str]:
    """The chunks of ``text``, in order; empty text gives none."""
    chunks: list[str] = []
    pending: list[str] = []  # words of small blocks packed together
    for block in _blocks(text):
        words = block.split()
        if not words:
            continue
        if len(pending) + len(words) <= size.max_words:
            pending.extend(words)
            continue
        if pending:
            chunks.append(" ".join(pending))
            pending = []
        if len(words) <= size.max_words:
            pending = words
            continue
        chunks.extend(_windows(words, size))
    if pending:
        chunks.append(" ".join(pending))
    return chunks


def _windows(words: list[str], size: ChunkSize) -> list[str]:
    step = size.max_words - size.overlap
    out = []
    for start in range(0, len(words), step):
        out.append(" ".join(words[start : start + size.max_words]))
        if start + size.max_words >= len(words):
            break
    return out


def _blocks(text: str) -> list[str]:
    """Paragraphs, with a Markdown heading starting a new block even without a blank line."""
    blocks: list[str] = []
    for paragraph in _BLANK_LINES.split(text):
        current: list[str] = []
        for line in paragraph.split("\n"):
            if _HEADING.match(line) and current:
                blocks.append("\n".join(current))
                current = []
            current.append(line)
        if current:
            blocks.append("\n".join(current))
    return _attach_headings(blocks)


def _attach_headings(blocks: list[str]) -> list[str]:
    """A heading alone is glued to the block after it, so the section's first chunk carries
    its title."""
    out: list[str] = []
    carry = ""
    for block in blocks:
        stripped = block.strip()
        if _HEADING.match(stripped) and "\n" not in stripped:
            carry = f"{carry}\n{stripped}" if carry else stripped
            continue
        out.append(f"{carry}\n{block}" if carry else block)
        carry = ""
    if carry:
        out.append(carry)
    return out
