"""OpenAI Batch API lines <-> omnivec batch items.

At submission each input line ``{"custom_id", "method", "url", "body": <embeddings request>}``
becomes one batch item per input, a text or its token ids (key = custom_id, metadata = how to
answer), so the same worker runs it as any Gemini batch job. On download the items of one line are put back
together into one OpenAI embeddings response per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from omnivec.api.errors import validation_error
from omnivec.api.openai.inputs import contents_of
from omnivec.api.openai.schemas import EmbeddingsRequest
from omnivec.errors import InvalidArgument, OmnivecError
from omnivec.services.batch_items import vector_of
from omnivec.services.batches import BatchRequest
from omnivec.storage.records import BatchItem, ItemResult
from omnivec.types import EmbedInput, EmbedOptions
from omnivec.wire.vectors import VectorEncoding, encode

EMBEDDINGS_ENDPOINT = "/v1/embeddings"


class BatchLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    custom_id: StrictStr
    method: StrictStr = "POST"
    url: StrictStr
    body: EmbeddingsRequest


def parse_line(index: int, line: bytes) -> BatchLine:
    try:
        return BatchLine.model_validate(orjson.loads(line))
    except orjson.JSONDecodeError:
        raise InvalidArgument(f"Line {index + 1} of the input file is not valid JSON.") from None
    except ValidationError as exc:
        raise validation_error(exc, f"line[{index + 1}]") from None


def requests_of(lines: Iterable[tuple[int, BatchLine | OmnivecError]], model: str) -> Iterator[BatchRequest]:
    """Batch items for parsed lines: one per input text, or one error item for a bad line."""
    for index, parsed in lines:
        if isinstance(parsed, OmnivecError):
            yield BatchRequest(key=f"line-{index + 1}", metadata={"n": 1, "i": 0}, error=parsed)
            continue
        error = _line_error(parsed, model)
        contents = contents_of(parsed.body.input)
        if error is None and not contents:
            error = InvalidArgument.at("body.input", "must contain at least one input")
        if error is not None:
            yield BatchRequest(key=parsed.custom_id, metadata={"n": 1, "i": 0}, error=error)
            continue
        options = EmbedOptions(output_dimensionality=parsed.body.dimensions)
        meta = {"n": len(contents), "model": parsed.body.model, "encoding": parsed.body.encoding_format}
        for i, parts in enumerate(contents):
            yield BatchRequest(
                key=parsed.custom_id, metadata={**meta, "i": i}, input=EmbedInput(parts, options)
            )


def _line_error(line: BatchLine, model: str) -> OmnivecError | None:
    if line.url != EMBEDDINGS_ENDPOINT:
        return InvalidArgument.at("url", f"must be {EMBEDDINGS_ENDPOINT}: this batch embeds")
    if line.method.upper() != "POST":
        return InvalidArgument.at("method", "must be POST")
    if line.body.model != model:
        return InvalidArgument.at("body.model", f"every line of one batch must use the same model ({model})")
    if VectorEncoding(line.body.encoding_format).needs_ranges:
        return InvalidArgument.at(
            "body.encoding_format", "must be float, base64, binary or ubinary in a batch"
        )
    return None


def output_lines(job_id: str, results: Iterable[tuple[BatchItem, ItemResult]]) -> Iterator[bytes]:
    """OpenAI's output JSONL: one line per input line, in order."""
    group: list[tuple[BatchItem, ItemResult]] = []
    for item, result in results:
        if group and _starts_line(item):
            yield _line(job_id, group)
            group = []
        group.append((item, result))
    if group:
        yield _line(job_id, group)


def _meta(item: BatchItem) -> dict[str, Any]:
    value = orjson.loads(item.metadata) if item.metadata else {}
    return value if isinstance(value, dict) else {}


def _starts_line(item: BatchItem) -> bool:
    return _meta(item).get("i", 0) == 0


def _line(job_id: str, group: list[tuple[BatchItem, ItemResult]]) -> bytes:
    first, _ = group[0]
    meta = _meta(first)
    request_id = f"{job_id}-{first.index}"
    body: dict[str, Any]
    failed = next((r.error for _, r in group if r.error is not None), None) or first.error
    if failed is not None:
        error = {
            "message": failed.message,
            "type": "invalid_request_error",
            "param": None,
            "code": failed.status.lower(),
        }
        line = {
            "id": request_id,
            "custom_id": first.key,
            "response": {"status_code": 400, "request_id": request_id, "body": {"error": error}},
            "error": None,
        }
        return orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
    encoding = VectorEncoding(meta.get("encoding", "float"))
    tokens = sum(r.token_count for _, r in group)
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(vector_of(r), encoding)}
            for i, (_, r) in enumerate(group)
        ],
        "model": meta.get("model", ""),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    line = {
        "id": request_id,
        "custom_id": first.key,
        "response": {"status_code": 200, "request_id": request_id, "body": body},
        "error": None,
    }
    return orjson.dumps(line, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
