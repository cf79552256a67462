"""OpenAI's ``input`` as Contents: texts, or token ids of the served model's own tokenizer."""

from __future__ import annotations

from typing import cast

from omnivec.types import Part, TextPart, TokenIdsPart

OpenAIInput = str | list[str] | list[int] | list[list[int]]


def contents_of(value: OpenAIInput) -> list[tuple[Part, ...]]:
    """One Content per input: a text, or one text's token ids (their range is checked by the
    service against the served model's vocabulary, which names a bad id as ``input[i][j]``)."""
    if isinstance(value, str):
        items: list[str | list[int]] = [value]
    elif value and isinstance(value[0], int):
        items = [cast("list[int]", value)]  # a flat list of ints is one input's ids
    else:
        items = cast("list[str | list[int]]", value)
    return [(TextPart(v),) if isinstance(v, str) else (TokenIdsPart(tuple(v)),) for v in items]
