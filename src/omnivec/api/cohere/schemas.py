"""Cohere v2's embed and rerank requests."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr


class CohereModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ImageUrl(CohereModel):
    url: StrictStr


class TextContent(CohereModel):
    type: Literal["text"]
    text: StrictStr


class ImageContent(CohereModel):
    type: Literal["image_url"]
    image_url: ImageUrl


class InputSchema(CohereModel):
    content: list[Annotated[TextContent | ImageContent, Field(discriminator="type")]]


EmbeddingType = Literal["float", "int8", "uint8", "binary", "ubinary", "base64"]
InputType = Literal["search_document", "search_query", "classification", "clustering", "image"]


class EmbedRequest(CohereModel):
    model: StrictStr
    texts: list[StrictStr] | None = None
    images: list[StrictStr] | None = None
    inputs: list[InputSchema] | None = None
    input_type: InputType | None = None
    embedding_types: list[EmbeddingType] | None = None
    output_dimension: Annotated[StrictInt, Field(ge=1)] | None = None
    truncate: Literal["NONE", "START", "END"] = "END"


class DocumentObject(CohereModel):
    text: StrictStr


class RerankRequest(CohereModel):
    model: StrictStr | None = None
    query: StrictStr
    documents: list[StrictStr | DocumentObject]
    top_n: Annotated[StrictInt, Field(ge=1)] | None = None
    return_documents: StrictBool = False
