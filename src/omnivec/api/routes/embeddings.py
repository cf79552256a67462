"""embedContent and batchEmbedContents."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omnivec.api.context import container, owner, read_json, record_usage, with_deadline
from omnivec.api.openapi import json_body
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.embeddings import (
    BatchEmbedContentsRequestSchema,
    EmbedContentRequestSchema,
    embedding_json,
    usage_json,
)
from omnivec.errors import InvalidArgument
from omnivec.types import Usage

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
    return JSONResponse({"embedding": embedding_json(embeddings[0]), "usageMetadata": usage_json(usage)})


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
        {"embeddings": [embedding_json(e) for e in embeddings], "usageMetadata": usage_json(usage)}
    )
