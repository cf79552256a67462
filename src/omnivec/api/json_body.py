"""Request-body JSON, as lenient as Google's front end and no more.

Strict JSON is tried first (orjson, fast). Google's own samples send single-quoted pseudo-JSON
and trailing commas, so a body that fails strict parsing is read again with a JSON5 parser —
only for bodies small enough to be hand-written. The JSON5 parser is pyjson5 (compiled): a
pure-Python one takes seconds per megabyte, on the event loop, which any client could trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
import pyjson5
from pydantic import BaseModel, ValidationError

from omnivec.api.errors import validation_error
from omnivec.errors import InvalidArgument

M = TypeVar("M", bound=BaseModel)

# JSON5 fallback only below this size: hand-written curl bodies are small.
_LENIENT_MAX_BYTES = 1 << 20
# Deeper nesting than any valid request has (orjson stops at 1024 by itself).
_MAX_DEPTH = 64
# JSON objects and arrays in one body: far more than any valid request (100 requests of 64
# parts are about 14,000), far fewer than would make validation a memory and CPU sink.
MAX_CONTAINERS = 100_000
# Media types a JSON body may arrive with: JSON itself, and what curl and hand-rolled clients
# send when nobody set the header (curl -d says x-www-form-urlencoded).
_JSON_MEDIA_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded")


def parse_request(body: bytes, schema: type[M], *, allow_empty: bool = False) -> M:
    """Bytes to a validated wire model, or InvalidArgument naming what is wrong."""
    data = parse_json_body(body, allow_empty=allow_empty)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


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
    if len(body) > 2 * MAX_CONTAINERS:  # a smaller body cannot hold that many ({} is 2 bytes)
        _check_container_count(value)
    return value


def _check_container_count(value: Any) -> None:
    """Refuse bodies made of very many tiny objects before they are validated.

    A 64 MiB body of ``{"text":"a"},`` parts is 5 million objects: validating them took 40 s of
    the event loop and 2 GB, only for the service to refuse the request for having more than 64
    parts. No valid request comes near the cap; the walk stops as soon as it is passed.
    """
    stack = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > MAX_CONTAINERS:
            raise InvalidArgument(
                f"Invalid JSON payload received. The body holds more than {MAX_CONTAINERS} JSON objects "
                f"and arrays, the most one request may hold (an inline batch of about {MAX_CONTAINERS // 5} "
                "requests). Send fewer parts or requests at a time; larger batch jobs go in a JSONL file "
                "(inputConfig.fileName)."
            )
        children = item.values() if isinstance(item, dict) else item
        stack.extend(c for c in children if isinstance(c, dict | list))


def check_json_headers(headers: Mapping[str, str]) -> None:
    """Refuse bodies that are declared as something other than JSON, or compressed."""
    content_type = headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type not in _JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        raise InvalidArgument(
            f"Invalid Content-Type {media_type[:100]!r}: this method takes a JSON body (application/json)."
        )
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise InvalidArgument(
            f"Content-Encoding {encoding[:50]!r} is not supported for request bodies; "
            "send the JSON uncompressed."
        )


def _lenient(body: bytes) -> Any:
    invalid = InvalidArgument("Invalid JSON payload received. The body is not valid JSON.")
    if len(body) > _LENIENT_MAX_BYTES:
        raise invalid
    try:
        value = pyjson5.decode(body.decode("utf-8"), maxdepth=_MAX_DEPTH)
    except (UnicodeDecodeError, pyjson5.Json5Exception, ValueError, RecursionError, OverflowError):
        # ValueError also covers integers longer than Python converts from text.
        raise invalid from None
    return _as_strict(value)


def _as_strict(value: Any) -> Any:
    """Integers as orjson reads them: beyond 64 bits they become floats (orjson could not write
    them back, and SQLite could not store them: a stored batch ``metadata`` with one was a 500)."""
    if isinstance(value, dict):
        return {k: _as_strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_strict(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value
