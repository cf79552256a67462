"""EmbedContentRequest / BatchEmbedContentsRequest and their responses."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from omnivec.api.schemas.common import Base64Bytes, Int32, TaskTypeField, WireModel, check_utf8
from omnivec.types import BlobPart, Clip, EmbedInput, EmbedOptions, FileRefPart, Part, TextPart
from omnivec.wire.embeddings import embedding_json, usage_json

__all__ = ["BatchEmbedContentsRequestSchema", "EmbedContentRequestSchema", "embedding_json", "usage_json"]

Utf8Str = Annotated[str, AfterValidator(check_utf8)]


class InlineData(WireModel):
    mime_type: Utf8Str = ""
    data: Base64Bytes = b""


class FileData(WireModel):
    mime_type: Utf8Str | None = None
    file_uri: Utf8Str


# google.protobuf.Duration in JSON: seconds with up to nine decimals and an "s".
_DURATION = re.compile(r"\d{1,9}(\.\d{1,9})?s")


def _seconds(value: object) -> float:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise ValueError(f'a duration in seconds such as "1.5s", not {str(value)[:40]!r}')
    return float(value[:-1])


Seconds = Annotated[float, BeforeValidator(_seconds)]


class VideoMetadata(WireModel):
    """The span of an audio or video part to embed (``fps`` is not used: frames are sampled at
    the server's rate)."""

    start_offset: Seconds | None = None
    end_offset: Seconds | None = None

    @model_validator(mode="after")
    def _forward(self) -> VideoMetadata:
        if self.end_offset is not None and self.end_offset <= (self.start_offset or 0.0):
            raise ValueError("end_offset must come after start_offset")
        return self

    def clip(self) -> Clip:
        return Clip(self.start_offset or 0.0, self.end_offset)


class PartSchema(WireModel):
    text: Utf8Str | None = None
    inline_data: InlineData | None = None
    file_data: FileData | None = None
    video_metadata: VideoMetadata | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PartSchema:
        kinds = sum(x is not None for x in (self.text, self.inline_data, self.file_data))
        if kinds == 0:
            raise ValueError("a part needs one of text, inline_data or file_data")
        if kinds > 1:
            raise ValueError("a part holds only one of text, inline_data or file_data")
        return self

    def to_domain(self) -> Part:
        if self.text is not None:
            return TextPart(self.text)
        clip = self.video_metadata.clip() if self.video_metadata is not None else None
        if self.inline_data is not None:
            return BlobPart(self.inline_data.mime_type, self.inline_data.data, clip)
        assert self.file_data is not None
        return FileRefPart(self.file_data.file_uri, self.file_data.mime_type, clip)


class ContentSchema(WireModel):
    parts: list[PartSchema] = Field(default_factory=list)
    role: Utf8Str | None = None


class EmbedContentConfigSchema(WireModel):
    task_type: TaskTypeField = None
    title: Utf8Str | None = None
    output_dimensionality: Int32 | None = None
    auto_truncate: bool | None = None
    document_ocr: bool | None = None
    audio_track_extraction: bool | None = None


# omnivec extension: how vectors come back (float values unless asked otherwise).
OutputEncoding = Literal["float", "base64", "int8", "uint8", "binary", "ubinary"]


class EmbedContentRequestSchema(WireModel):
    model: Utf8Str | None = None
    output_encoding: OutputEncoding = "float"
    content: ContentSchema
    task_type: TaskTypeField = None
    title: Utf8Str | None = None
    output_dimensionality: Int32 | None = None
    # Vertex documents autoTruncate at the top level of the request too; it is honoured there.
    auto_truncate: bool | None = None
    embed_content_config: EmbedContentConfigSchema | None = None

    def to_domain(self) -> EmbedInput:
        # The newer embedContentConfig wins over the deprecated top-level fields.
        config = self.embed_content_config or EmbedContentConfigSchema()
        options = EmbedOptions(
            task_type=config.task_type or self.task_type,
            title=config.title if config.title is not None else self.title,
            output_dimensionality=(
                config.output_dimensionality
                if config.output_dimensionality is not None
                else self.output_dimensionality
            ),
            auto_truncate=next(
                (v for v in (config.auto_truncate, self.auto_truncate) if v is not None), True
            ),
        )
        return EmbedInput(tuple(p.to_domain() for p in self.content.parts), options)


class BatchEmbedContentsRequestSchema(WireModel):
    requests: list[EmbedContentRequestSchema]
    output_encoding: OutputEncoding = "float"
