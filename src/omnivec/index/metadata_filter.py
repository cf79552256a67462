"""The ``metadataFilter`` language: the subset of AIP-160 (google.aip.dev/160) that Google's
File Search accepts, parsed into the ``Filter`` tree of ``index.base``.

    filter     := sequence (AND sequence)*
    sequence   := factor (OR factor)*          # AIP-160: OR binds tighter than AND
    factor     := (NOT | "-") factor | "(" filter ")" | comparison
    comparison := key op value
    key        := name ("." name)*             # custom metadata key; "chunk.custom_metadata."
                                               # and "custom_metadata." prefixes are accepted
    op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
    value      := "double-quoted string" | number | bare word

``:`` (has) and ``=`` both test equality, or membership for a list of strings. ``< <= > >=``
need a number. Input is bounded (length, nesting, number of comparisons) because it comes from
any client; every error names its 1-based character position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from omnivec.errors import FieldViolation, InvalidArgument
from omnivec.index.base import And, Compare, Filter, Not, Or

FIELD = "metadataFilter"
MAX_LENGTH = 8192
MAX_DEPTH = 32
MAX_COMPARISONS = 256
KEY_PREFIXES = ("chunk.custom_metadata.", "custom_metadata.")

_KEYWORDS = {"AND", "OR", "NOT"}
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">", ":")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Keys and bare-word values: letters, digits, "_" and "-", dot-separated.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_\-]*)*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name", "string", "number", "op", "(", ")", "AND", "OR", "NOT", "-", "end"
    text: str
    position: int  # 1-based
    value: str | float | None = None


def parse_metadata_filter(text: str | None) -> Filter | None:
    """The filter tree of ``text``; None for a missing or blank filter. Raises
    ``InvalidArgument`` naming the position of the first problem."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        raise _error(f"is {len(text)} characters long; the limit is {MAX_LENGTH}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate the JSON body carried
        raise _error(f"invalid character at position {exc.start + 1}") from None
    return _Parser(_tokenize(text)).parse()


def _error(description: str) -> InvalidArgument:
    return InvalidArgument(f"{FIELD}: {description}.", violations=(FieldViolation(FIELD, description),))


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        position = i + 1
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, position))
            i += 1
        elif char == '"':
            string, i = _string(text, i)
            tokens.append(_Token("string", text[position - 1 : i], position, string))
        elif (number := _NUMBER.match(text, i)) and not _continues_word(text, number.end()):
            literal = number.group()
            number_value = float(literal)
            if not math.isfinite(number_value):
                raise _error(f"number {literal} at position {position} is out of range")
            tokens.append(_Token("number", literal, position, number_value))
            i = number.end()
        elif char == "-":
            tokens.append(_Token("-", char, position))
            i += 1
        elif operator := next((op for op in _OPERATORS if text.startswith(op, i)), None):
            tokens.append(_Token("op", operator, position))
            i += len(operator)
        elif name := _NAME.match(text, i):
            word = name.group()
            kind = word if word in _KEYWORDS else "name"
            tokens.append(_Token(kind, word, position, word))
            i = name.end()
        else:
            raise _error(f"unexpected {_show(char)} at position {position}")
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _continues_word(text: str, end: int) -> bool:
    """``2024abc`` is a bare word, not a number followed by a name."""
    return end < len(text) and (text[end].isalnum() or text[end] in "_.")


def _string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            if i + 1 >= len(text):
                break
            escape = text[i + 1]
            if escape == "u":
                code, i = _unicode_escape(text, i)
                out.append(chr(code))
                continue
            if escape not in _ESCAPES:
                raise _error(f"unknown escape \\{escape} at position {i + 1}")
            out.append(_ESCAPES[escape])
            i += 2
            continue
        out.append(char)
        i += 1
    raise _error(f"unterminated string starting at position {start + 1}")


def _unicode_escape(text: str, i: int) -> tuple[int, int]:
    """``\\uXXXX`` at ``i``, JSON style: a surrogate pair is one character, a lone surrogate
    (not encodable as UTF-8) is an error. Returns the code point and the index after it."""
    code = _hex4(text, i)
    if 0xD800 <= code <= 0xDBFF and text.startswith("\\u", i + 6):
        low = _hex4(text, i + 6)
        if 0xDC00 <= low <= 0xDFFF:
            return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), i + 12
    if 0xD800 <= code <= 0xDFFF:
        raise _error(f"unpaired surrogate escape at position {i + 1}")
    return code, i + 6


def _hex4(text: str, i: int) -> int:
    digits = text[i + 2 : i + 6]
    if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
        raise _error(f"bad \\u escape at position {i + 1}")
    return int(digits, 16)


def _show(text: str) -> str:
    if not text:
        return "end of filter"
    return f"'{text}'" if len(text) <= 40 else f"'{text[:40]}...'"


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._i = 0
        self._comparisons = 0

    def parse(self) -> Filter:
        tree = self._filter(depth=0)
        token = self._peek()
        if token.kind != "end":
            raise self._unexpected(token)
        return tree

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _take(self) -> _Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def _unexpected(self, token: _Token) -> InvalidArgument:
        if token.kind == "end":
            return _error(f"unexpected end of filter at position {token.position}")
        return _error(f"unexpected {_show(token.text)} at position {token.position}")

    def _filter(self, depth: int) -> Filter:
        if depth > MAX_DEPTH:
            raise _error(f"nesting deeper than {MAX_DEPTH} at position {self._peek().position}")
        items = [self._sequence(depth)]
        while self._peek().kind == "AND":
            self._take()
            items.append(self._sequence(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def _sequence(self, depth: int) -> Filter:
        items = [self._factor(depth)]
        while self._peek().kind == "OR":
            self._take()
            items.append(self._factor(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _factor(self, depth: int) -> Filter:
        token = self._peek()
        if token.kind in ("NOT", "-"):
            self._take()
            if depth + 1 > MAX_DEPTH:
                raise _error(f"nesting deeper than {MAX_DEPTH} at position {token.position}")
            return Not(self._factor(depth + 1))
        if token.kind == "(":
            self._take()
            inner = self._filter(depth + 1)
            closing = self._take()
            if closing.kind != ")":
                if closing.kind == "end":
                    raise _error(f"missing ')' for the '(' at position {token.position}")
                raise self._unexpected(closing)
            return inner
        if token.kind == "name":
            return self._comparison()
        raise self._unexpected(token)

    def _comparison(self) -> Compare:
        key_token = self._take()
        key = _metadata_key(key_token)
        operator = self._take()
        if operator.kind != "op":
            raise _error(
                f"expected an operator (= != < <= > >= :) after '{key_token.text}' at position "
                f"{operator.position}, found {_show(operator.text)}"
            )
        value_token = self._take()
        if value_token.kind in ("string", "number", "name"):
            value = value_token.value
        else:
            raise _error(f"expected a value after '{operator.text}' at position {value_token.position}")
        assert value is not None
        op = "=" if operator.text == ":" else operator.text
        if op in ("<", "<=", ">", ">=") and not isinstance(value, float):
            raise _error(
                f"operator {op} at position {operator.position} compares numbers; "
                f"{_show(value_token.text)} is not a number"
            )
        self._comparisons += 1
        if self._comparisons > MAX_COMPARISONS:
            raise _error(f"more than {MAX_COMPARISONS} comparisons (position {key_token.position})")
        return Compare(key, op, value)


def _metadata_key(token: _Token) -> str:
    key = token.text
    for prefix in KEY_PREFIXES:
        if key.startswith(prefix):
            key = key.removeprefix(prefix)
            break
    if not key or "." in key:
        raise _error(
            f"unknown key '{token.text}' at position {token.position}: name a custom metadata key "
            "(author or chunk.custom_metadata.author)"
        )
    return key
