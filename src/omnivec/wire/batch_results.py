"""How the Batch API shows one embedded request: an entry of ``inlinedResponses`` or a line of
the job's output file (``{"key", "response": {"embedding", "tokenCount"}}`` or ``{"key", "error"}``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

_DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def response_json(values: np.ndarray, token_count: int, metadata: bytes | None) -> dict[str, Any]:
    """The result of a request that was embedded; ``metadata`` is the request's own, as JSON."""
    body: dict[str, Any] = {"response": {"embedding": {"values": values}, "tokenCount": str(token_count)}}
    return _with_metadata(body, metadata)


def error_json(code: int, message: str, metadata: bytes | None) -> dict[str, Any]:
    """The result of a request that failed: a google.rpc.Status."""
    return _with_metadata({"error": {"code": code, "message": message}}, metadata)


def output_line(key: str | None, result: dict[str, Any]) -> bytes:
    """One line of a job's output file: the request's key, then its result."""
    line: dict[str, Any] = {"key": key} if key is not None else {}
    line.update(result)
    return orjson.dumps(line, option=_DUMP_OPTIONS) + b"\n"


def _with_metadata(body: dict[str, Any], metadata: bytes | None) -> dict[str, Any]:
    if metadata is not None:
        body["metadata"] = orjson.Fragment(metadata)
    return body
