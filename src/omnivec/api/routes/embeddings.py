"""embedContent and batchEmbedContents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from omnivec.api.context import container, owner, read_json, record_usage, with_deadline
from omnivec.api.openapi import json_body
from omnivec.api.quantized import Encoder, encoder_for
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.embeddings import (
    BatchEmbedContentsRequestSchema,
    EmbedContentRequestSchema,
)
from omnivec.errors import InvalidArgument
from omnivec.types import Embedding, Usage
from omnivec.wire.embeddings import embedding_json, usage_json
from omnivec.wire.vectors import VectorEncoding

router = APIRouter()


@router.post("/models/{model}:embedContent", openapi_extra=json_body("EmbedContentRequest"))
async def embed_content(request: Request, model: str) -> JSONResponse:
    c = container(request)
    parsed = await read_json(request, EmbedContentRequestSchema)
    embeddings = await with_deadline(
        request, c.embeddings.embed(model, [parsed.to_domain()], field_prefix="", owner=owner(request))
    )
    usage = Usage.of(embeddings)
    record_usage(request, len(embeddings), usage.prompt_token_count)
    encoded = await _encoded(request, model, embeddings, parsed.output_encoding)
    return JSONResponse({"embedding": encoded[0], "usageMetadata": usage_json(usage)})


@router.post("/models/{model}:batchEmbedContents", openapi_extra=json_body("BatchEmbedContentsRequest"))
async def batch_embed_contents(request: Request, model: str) -> JSONResponse:
    c = container(request)
    parsed = await read_json(request, BatchEmbedContentsRequestSchema)
    limit = c.settings.limits.max_batch_requests
    if not parsed.requests:
        raise InvalidArgument.at("requests", "must contain at least one request")
    if len(parsed.requests) > limit:
        raise InvalidArgument(
            f"BatchEmbedContentsRequest.requests: at most {limit} requests can be in one batch",
            violations=(),
        )
    path_model = c.catalogue.resolve(model).name
    for i, item in enumerate(parsed.requests):
        if item.model and c.catalogue.resolve(item.model).name != path_model:
            raise InvalidArgument.at(
                f"requests[{i}].model", f"{item.model} does not match the model in the URL, models/{model}"
            )
    embeddings = await with_deadline(
        request, c.embeddings.embed(model, [r.to_domain() for r in parsed.requests], owner=owner(request))
    )
    usage = Usage.of(embeddings)
    record_usage(request, len(embeddings), usage.prompt_token_count)
    return JSONResponse(
        {
            "embeddings": await _encoded(request, model, embeddings, parsed.output_encoding),
            "usageMetadata": usage_json(usage),
        }
    )


async def _encoded(
    request: Request, model: str, embeddings: list[Embedding], encoding: str
) -> list[dict[str, Any]]:
    """``{"values": [...]}`` per embedding, or, with the ``outputEncoding`` extension,
    ``{"<encoding>": ...}`` (int8/uint8 with the model's calibrated ranges for each size)."""
    if encoding == "float":
        return [embedding_json(e) for e in embeddings]
    descriptor = container(request).catalogue.resolve(model)
    encoders: dict[int, Encoder] = {}
    out = []
    for e in embeddings:
        size = len(e.values)
        if size not in encoders:
            cut = size if size != descriptor.dimensions else None
            encoders[size] = await encoder_for(request, descriptor.name, VectorEncoding(encoding), cut)
        out.append({encoding: encoders[size](e.values)})
    return out
