"""How batch items are kept and reported: requests encoded for storage, vectors as float32
bytes, and each stored result handed to the wire codec (``wire.batch_results``) to be shown as
the Batch API shows it (inline or as a line of the output file)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import orjson

from omnivec.errors import OmnivecError
from omnivec.storage.records import BatchItem, ItemError, ItemResult
from omnivec.types import (
    BlobPart,
    Clip,
    EmbedInput,
    EmbedOptions,
    FileRefPart,
    Part,
    TaskType,
    TextPart,
    TokenIdsPart,
    Truncation,
)
from omnivec.wire import batch_results


def encode_input(item: EmbedInput) -> bytes:
    parts: list[dict[str, Any]] = []
    for part in item.parts:
        if isinstance(part, TextPart):
            parts.append({"text": part.text})
        elif isinstance(part, BlobPart):
            parts.append(
                {
                    "blob": base64.b64encode(part.data).decode("ascii"),
                    "mime": part.mime_type,
                    **_clip(part.clip),
                }
            )
        elif isinstance(part, TokenIdsPart):
            parts.append({"ids": list(part.ids)})
        else:
            parts.append({"file": part.file_uri, "mime": part.mime_type, **_clip(part.clip)})
    o = item.options
    return orjson.dumps(
        {
            "parts": parts,
            "task": o.task_type.value if o.task_type else None,
            "title": o.title,
            "dims": o.output_dimensionality,
            "truncate": o.auto_truncate,
            "side": o.truncation.value if o.truncation else None,
        }
    )


def decode_input(data: bytes) -> EmbedInput:
    raw = orjson.loads(data)
    parts: list[Part] = []
    for p in raw["parts"]:
        if "text" in p:
            parts.append(TextPart(p["text"]))
        elif "ids" in p:
            parts.append(TokenIdsPart(tuple(p["ids"])))
        elif "blob" in p:
            parts.append(BlobPart(p["mime"], base64.b64decode(p["blob"]), _clip_of(p)))
        else:
            parts.append(FileRefPart(p["file"], p["mime"], _clip_of(p)))
    options = EmbedOptions(
        task_type=TaskType(raw["task"]) if raw["task"] else None,
        title=raw["title"],
        output_dimensionality=raw["dims"],
        auto_truncate=raw["truncate"],
        truncation=Truncation(raw["side"]) if raw.get("side") else None,
    )
    return EmbedInput(tuple(parts), options)


def _clip(clip: Clip | None) -> dict[str, Any]:
    return {} if clip is None else {"clip": [clip.start_s, clip.end_s]}


def _clip_of(part: dict[str, Any]) -> Clip | None:
    span = part.get("clip")
    return None if span is None else Clip(span[0], span[1])


def encode_metadata(metadata: Any) -> bytes | None:
    return None if metadata is None else orjson.dumps(metadata)


def item_error(error: OmnivecError) -> ItemError:
    return ItemError.of(error.status, error.message)


def success(index: int, values: np.ndarray, token_count: int) -> ItemResult:
    return ItemResult(index, np.asarray(values, dtype=np.float32).tobytes(), token_count)


def failure(index: int, error: ItemError) -> ItemResult:
    return ItemResult(index, None, 0, error)


def vector_of(result: ItemResult) -> np.ndarray:
    assert result.vector is not None
    return np.frombuffer(result.vector, dtype=np.float32)


def result_json(item: BatchItem, result: ItemResult) -> dict[str, Any]:
    """One entry of ``inlinedResponses``, with the request's metadata echoed."""
    if result.error is None:
        return batch_results.response_json(vector_of(result), result.token_count, item.metadata)
    return batch_results.error_json(result.error.code, result.error.message, item.metadata)


def output_line(item: BatchItem, result: ItemResult) -> bytes:
    """One line of a job's output file."""
    return batch_results.output_line(item.key, result_json(item, result))
