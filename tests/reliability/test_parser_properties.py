"""Property tests of the request parser (api/json_body.py + api/schemas/): any byte string or JSON
value becomes either a valid domain request or InvalidArgument, never another exception, and the
error always renders as a Google-format body."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnivec.api.json_body import parse_request
from omnivec.api.responses import error_body
from omnivec.api.schemas.batches import AsyncBatchEmbedContentRequestSchema, RequestReader
from omnivec.api.schemas.embeddings import BatchEmbedContentsRequestSchema, EmbedContentRequestSchema
from omnivec.api.schemas.files import UploadStartSchema
from omnivec.errors import InvalidArgument, OmnivecError
from omnivec.services.catalogue import ModelCatalogue
from omnivec.types import BlobPart, EmbedInput, FileRefPart, Modality, ModelDescriptor, PromptStyle, TextPart

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Field names of the wire schemas in both spellings, so generated objects reach deep validation.
FIELD_NAMES = [
    "content", "parts", "role", "text", "inlineData", "inline_data", "mimeType", "mime_type", "data",
    "fileData", "file_data", "fileUri", "file_uri", "taskType", "task_type", "title",
    "outputDimensionality", "output_dimensionality", "embedContentConfig", "embed_content_config",
    "autoTruncate", "auto_truncate", "model", "requests", "batch", "inputConfig", "input_config",
    "fileName", "priority", "displayName", "metadata", "key", "request", "file", "sizeBytes", "name",
]  # fmt: skip

any_text = st.text(st.characters(codec=None), max_size=40)  # includes lone surrogates
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
    | st.sampled_from(
        ["RETRIEVAL_QUERY", "retrieval_document", "AAAA", "data:,", "image/png", "models/x", ""]
    )
)
keys = st.sampled_from(FIELD_NAMES) | any_text
json_values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
    max_leaves=40,
)
part = st.fixed_dictionaries(
    {},
    optional={
        "text": st.text(max_size=20) | json_values,  # valid often enough to reach deeper checks
        "inlineData": st.fixed_dictionaries({}, optional={"mimeType": json_values, "data": json_values}),
        "file_data": st.fixed_dictionaries({}, optional={"fileUri": json_values, "mime_type": json_values}),
    },
)
request_like = st.fixed_dictionaries(
    {
        "content": st.fixed_dictionaries(
            {}, optional={"parts": st.lists(part, max_size=4), "role": json_values}
        )
    },
    optional={
        "taskType": json_values,
        "title": json_values,
        "outputDimensionality": json_values,
        "embedContentConfig": st.dictionaries(keys, json_values, max_size=4),
        "model": json_values,
    },
)


def encode(value: Any, how: str) -> bytes:
    """Bodies as strict JSON, as Python's json (NaN, Infinity, huge ints) or as JSON5-ish text."""
    text = json.dumps(value, ensure_ascii=(how == "ascii"), allow_nan=True)
    if how == "json5":  # Google's curl style: single quotes and a trailing comma
        if "'" not in text:
            text = text.replace('"', "'")
        if text.endswith("}") and text != "{}":
            text = text[:-1] + ",}"
    return text.encode("utf-8", "surrogatepass")


def check_domain(item: EmbedInput) -> None:
    for p in item.parts:
        assert isinstance(p, TextPart | BlobPart | FileRefPart)
        if isinstance(p, TextPart):
            p.text.encode("utf-8")  # no lone surrogate ever reaches a tokenizer
    dims = item.options.output_dimensionality
    assert dims is None or (isinstance(dims, int) and not isinstance(dims, bool))


SCHEMAS = (
    EmbedContentRequestSchema,
    BatchEmbedContentsRequestSchema,
    AsyncBatchEmbedContentRequestSchema,
    UploadStartSchema,
)
READER = RequestReader(
    ModelCatalogue(
        {"m": ModelDescriptor("m", "m", "", 8, 512, frozenset(Modality), True, PromptStyle.NONE)}, {}
    ),
    "m",
)


def check_batch_request(item: object) -> None:
    """A batch item is read into an input or an error of its own, and stays storable as JSON."""
    assert item.input is not None or isinstance(item.error, OmnivecError)  # type: ignore[attr-defined]
    if item.input is not None:  # type: ignore[attr-defined]
        check_domain(item.input)  # type: ignore[attr-defined]
    orjson.dumps(item.metadata)  # type: ignore[attr-defined]


def parse_both(body: bytes) -> None:
    """Every request schema: a domain value, or InvalidArgument that renders as JSON."""
    for schema in SCHEMAS:
        try:
            parsed = parse_request(body, schema)
            if isinstance(parsed, EmbedContentRequestSchema):
                check_domain(parsed.to_domain())
            elif isinstance(parsed, BatchEmbedContentsRequestSchema):
                for r in parsed.requests:
                    check_domain(r.to_domain())
            elif isinstance(parsed, AsyncBatchEmbedContentRequestSchema):
                orjson.dumps(parsed.model_dump())
                inline = parsed.batch.input_config.requests
                for i, raw in enumerate(inline.requests if inline else []):
                    check_batch_request(READER.inlined(i, raw))
        except InvalidArgument as exc:
            rendered = orjson.loads(orjson.dumps(error_body(exc)))
            assert rendered["error"]["code"] == 400
            assert rendered["error"]["message"]
    check_batch_request(READER.jsonl_line(0, body))


@PROPERTY_SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes(body: bytes) -> None:
    parse_both(body)


@PROPERTY_SETTINGS
@given(json_values, st.sampled_from(["ascii", "utf8", "json5"]))
def test_any_json_value(value: Any, how: str) -> None:
    parse_both(encode(value, how))


@PROPERTY_SETTINGS
@given(
    request_like,
    st.sampled_from(["ascii", "utf8", "json5"]),
    json_values,
    st.dictionaries(keys, json_values, max_size=4),
)
def test_request_shaped_values(value: dict[str, Any], how: str, extra: Any, metadata: dict[str, Any]) -> None:
    parse_both(encode(value, how))
    parse_both(encode({"requests": [value, value]}, how))
    inline = {"requests": {"requests": [{"request": value, "metadata": metadata}, extra]}}
    parse_both(encode({"batch": {"inputConfig": inline}}, how))
    parse_both(encode({"batch": {"inputConfig": {"fileName": extra}, "priority": extra}}, how))
    parse_both(encode({"key": extra, "request": value, "metadata": metadata}, how))


@PROPERTY_SETTINGS
@given(request_like)
def test_valid_requests_keep_their_values(value: dict[str, Any]) -> None:
    """When a request parses, the numbers it carried are the ones the domain value holds."""
    try:
        parsed = parse_request(encode(value, "ascii"), EmbedContentRequestSchema)
    except InvalidArgument:
        return
    dims = parsed.to_domain().options.output_dimensionality
    sent = value.get("outputDimensionality")
    if dims is not None and "embedContentConfig" not in value:
        assert not isinstance(sent, bool), "a boolean was read as a number"
        assert isinstance(sent, int | float | str) and math.isclose(dims, float(sent))
