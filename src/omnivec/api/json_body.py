"""Request-body JSON, as lenient as Google's front end.

Strict JSON is tried first (orjson, fast). Google's own samples send single-quoted pseudo-JSON
and trailing commas, so a body that fails strict parsing is read again with a JSON5 parser —
only for bodies small enough that the slower parser is harmless.
"""

from __future__ import annotations

from typing import Any

import orjson

from omnivec.errors import InvalidArgument

# JSON5 fallback only below this size: hand-written curl bodies are small.
_LENIENT_MAX_BYTES = 1 << 20
# Deeper nesting than any valid request has; guards the recursive fallback parser.
_MAX_DEPTH = 64


def parse_json_body(body: bytes, *, allow_empty: bool = False) -> Any:
    if not body.strip():
        if allow_empty:
            return {}
        raise InvalidArgument("Invalid JSON payload received. The request body is empty.")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _lenient(body)
    if not isinstance(value, dict):
        raise InvalidArgument("Invalid JSON payload received. Expected a JSON object at the top level.")
    return value


def _lenient(body: bytes) -> Any:
    if len(body) > _LENIENT_MAX_BYTES or _nesting_depth(body) > _MAX_DEPTH:
        raise InvalidArgument("Invalid JSON payload received. The body is not valid JSON.")
    import json5

    try:
        text = body.decode("utf-8")
        return json5.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError, TypeError, OverflowError):
        raise InvalidArgument("Invalid JSON payload received. The body is not valid JSON.") from None


def _nesting_depth(body: bytes) -> int:
    depth = deepest = 0
    for byte in body:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest
