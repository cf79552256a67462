"""The served OpenAPI document.

The embedding and batch routes read their raw body (orjson in, prebuilt orjson out: the hot path has no
FastAPI body model), so FastAPI cannot see what they take. Each declares its body here by
wire-schema name, and the document carries those schemas as components: clients, docs and
API fuzzers then know the request shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from omnivec.api.schemas.batches import AsyncBatchEmbedContentRequestSchema
from omnivec.api.schemas.embeddings import BatchEmbedContentsRequestSchema, EmbedContentRequestSchema

_REF = "#/components/schemas/{model}"
# Google's message names for the wire schemas.
REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "EmbedContentRequest": EmbedContentRequestSchema,
    "BatchEmbedContentsRequest": BatchEmbedContentsRequestSchema,
    "AsyncBatchEmbedContentRequest": AsyncBatchEmbedContentRequestSchema,
}


def json_body(name: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose JSON body is the wire schema ``name``."""
    if name not in REQUEST_BODIES:
        raise KeyError(name)
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=name)}}},
        }
    }


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, model in REQUEST_BODIES.items():
                schema = model.model_json_schema(by_alias=True, ref_template=_REF)
                schemas.update(schema.pop("$defs", {}))
                schemas[name] = schema
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
