"""Request leniency of the wire spec: JSON forms, key spellings, base64 alphabets, enums."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from omnivec.api.json_body import parse_json_body
from omnivec.api.schemas.common import decode_base64
from omnivec.api.schemas.embeddings import BatchEmbedContentsRequestSchema, EmbedContentRequestSchema
from omnivec.errors import InvalidArgument
from omnivec.types import BlobPart, FileRefPart, TaskType, TextPart


def test_strict_and_google_sample_json_forms() -> None:
    assert parse_json_body(b'{"a": 1}') == {"a": 1}
    # Google's cookbook REST samples: trailing commas.
    assert parse_json_body(b'{"content": {"parts":[{"text": "Hello"}]}, }') == {
        "content": {"parts": [{"text": "Hello"}]}
    }
    # Google's file-api sample.sh: single quotes.
    assert parse_json_body(b"{'file': {'display_name': 'x'}}") == {"file": {"display_name": "x"}}


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"[1, 2]", b"nonsense", b"{" * 5000 + b"}" * 5000, b"\xff\xfe{}"]
)
def test_bad_bodies_are_invalid_argument(body: bytes) -> None:
    with pytest.raises(InvalidArgument):
        parse_json_body(body)


def test_snake_and_camel_case_both_accepted() -> None:
    camel = EmbedContentRequestSchema.model_validate(
        {
            "content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "AAEC"}}]},
            "taskType": "CLUSTERING",
            "outputDimensionality": 8,
        }
    ).to_domain()
    snake = EmbedContentRequestSchema.model_validate(
        {
            "content": {"parts": [{"inline_data": {"mime_type": "image/png", "data": "AAEC"}}]},
            "task_type": "CLUSTERING",
            "output_dimensionality": 8,
        }
    ).to_domain()
    assert camel == snake
    assert camel.parts == (BlobPart("image/png", b"\x00\x01\x02"),)
    assert camel.options.task_type is TaskType.CLUSTERING


def test_base64_both_alphabets_padding_optional() -> None:
    raw = bytes(range(250, 256)) + b"\xfb\xff"
    assert decode_base64(base64.b64encode(raw).decode()) == raw
    assert decode_base64(base64.urlsafe_b64encode(raw).decode()) == raw
    assert decode_base64(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    for bad in ("abc$", "a", "ü"):
        with pytest.raises(ValueError):
            decode_base64(bad)


def test_task_type_case_insensitive_and_numbers() -> None:
    for spelling in ("retrieval_document", "Retrieval_Document", "RETRIEVAL_DOCUMENT", 2):
        req = EmbedContentRequestSchema.model_validate(
            {"content": {"parts": [{"text": "x"}]}, "taskType": spelling}
        )
        assert req.to_domain().options.task_type is TaskType.RETRIEVAL_DOCUMENT
    with pytest.raises(ValidationError):
        EmbedContentRequestSchema.model_validate({"content": {"parts": [{"text": "x"}]}, "taskType": "FOO"})


def test_embed_content_config_wins_over_deprecated_fields() -> None:
    req = EmbedContentRequestSchema.model_validate(
        {
            "content": {"parts": [{"text": "x"}, {"file_data": {"file_uri": "files/abc"}}]},
            "taskType": "CLUSTERING",
            "outputDimensionality": 8,
            "title": "old",
            "embedContentConfig": {
                "taskType": "RETRIEVAL_QUERY",
                "outputDimensionality": 16,
                "autoTruncate": False,
            },
        }
    ).to_domain()
    assert req.options.task_type is TaskType.RETRIEVAL_QUERY
    assert req.options.output_dimensionality == 16
    assert req.options.title == "old"
    assert req.options.auto_truncate is False
    assert req.parts == (TextPart("x"), FileRefPart("files/abc", None))


def test_unknown_fields_ignored_and_parts_validated() -> None:
    req = BatchEmbedContentsRequestSchema.model_validate(
        {
            "requests": [
                {"content": {"parts": [{"text": "x", "thoughtSignature": "zz"}], "role": "user"}, "bogus": 1}
            ]
        }
    )
    assert req.requests[0].to_domain().parts == (TextPart("x"),)
    with pytest.raises(ValidationError):
        EmbedContentRequestSchema.model_validate({"content": {"parts": [{}]}})
    with pytest.raises(ValidationError):
        EmbedContentRequestSchema.model_validate(
            {"content": {"parts": [{"text": "a", "inline_data": {"data": ""}}]}}
        )
    with pytest.raises(ValidationError):
        EmbedContentRequestSchema.model_validate({"content": {"parts": [{"text": "\ud800"}]}})
