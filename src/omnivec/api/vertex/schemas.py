"""Vertex AI's ``:predict`` request for text embedding models."""

from __future__ import annotations

from pydantic import Field

from omnivec.api.schemas.common import Int32, TaskTypeField, WireModel
from omnivec.api.schemas.embeddings import ContentSchema


class PredictInstance(WireModel):
    content: str
    task_type: TaskTypeField = None
    title: str | None = None
    mime_type: str | None = None


class PredictParameters(WireModel):
    output_dimensionality: Int32 | None = None
    auto_truncate: bool = True


class PredictRequest(WireModel):
    instances: list[PredictInstance]
    parameters: PredictParameters = Field(default_factory=PredictParameters)


class CountTokensRequest(WireModel):
    """Vertex's countTokens: ``instances`` like predict, or ``contents`` like Gemini."""

    instances: list[PredictInstance] | None = None
    contents: list[ContentSchema] | None = None
