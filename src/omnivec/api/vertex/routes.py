"""Vertex AI's verbs on publisher models: ``:predict``, ``:embedContent``,
``:batchEmbedContents``, ``:countTokens``, and ``models.get`` — all over the one
EmbeddingService, in Vertex's response shapes (``statistics``, ``truncated``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from omnivec.api.context import container, owner, read_json, with_deadline
from omnivec.api.dialect import dialect_router
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.embeddings import BatchEmbedContentsRequestSchema, EmbedContentRequestSchema
from omnivec.api.vertex.schemas import CountTokensRequest, PredictRequest
from omnivec.errors import InvalidArgument, NotFound
from omnivec.types import Embedding, EmbedInput, EmbedOptions, TextPart, Usage

router = dialect_router("vertex")

# Vertex AI's cap on instances (and requests) per call.
MAX_INSTANCES = 250
_PREFIXES = (
    "/{version}/publishers/google/models",
    "/{version}/projects/{project}/locations/{location}/publishers/google/models",
)


def _usage(embeddings: list[Embedding]) -> dict[str, Any]:
    usage = Usage.of(embeddings)
    return {
        "promptTokenCount": usage.prompt_token_count,
        "promptTokensDetails": [
            {"modality": m.value, "tokenCount": n} for m, n in usage.tokens_by_modality.items()
        ],
    }


def _statistics(e: Embedding) -> dict[str, Any]:
    return {"token_count": e.token_count, "truncated": e.truncated}


def _check_count(field: str, count: int) -> None:
    if count == 0:
        raise InvalidArgument.at(field, "must contain at least one item")
    if count > MAX_INSTANCES:
        raise InvalidArgument.at(field, f"at most {MAX_INSTANCES} can be sent in one call (got {count})")


async def _embed(request: Request, model: str, inputs: list[EmbedInput], field: str) -> list[Embedding]:
    c = container(request)
    return await with_deadline(
        request, c.embeddings.embed(model, inputs, field_prefix=field, owner=owner(request))
    )


async def predict(request: Request, model: str) -> JSONResponse:
    parsed = await read_json(request, PredictRequest)
    _check_count("instances", len(parsed.instances))
    p = parsed.parameters
    inputs = [
        EmbedInput(
            (TextPart(i.content),),
            EmbedOptions(i.task_type, i.title, p.output_dimensionality, p.auto_truncate),
        )
        for i in parsed.instances
    ]
    embeddings = await _embed(request, model, inputs, "instances")
    return JSONResponse(
        {
            "predictions": [
                {"embeddings": {"values": e.values, "statistics": _statistics(e)}} for e in embeddings
            ],
            "metadata": {"billableCharacterCount": sum(len(i.content) for i in parsed.instances)},
        }
    )


async def embed_content(request: Request, model: str) -> JSONResponse:
    parsed = await read_json(request, EmbedContentRequestSchema)
    (e,) = await _embed(request, model, [parsed.to_domain()], "")
    return JSONResponse(
        {"embedding": {"values": e.values}, "usageMetadata": _usage([e]), "truncated": e.truncated}
    )


async def batch_embed_contents(request: Request, model: str) -> JSONResponse:
    parsed = await read_json(request, BatchEmbedContentsRequestSchema)
    _check_count("requests", len(parsed.requests))
    embeddings = await _embed(request, model, [r.to_domain() for r in parsed.requests], "requests")
    return JSONResponse(
        {
            "embeddings": [{"values": e.values, "statistics": _statistics(e)} for e in embeddings],
            "usageMetadata": _usage(embeddings),
        }
    )


async def count_tokens(request: Request, model: str) -> JSONResponse:
    """Vertex's countTokens: ``instances`` (as for predict) or ``contents``."""
    body = await read_json(request, CountTokensRequest)
    inputs: list[EmbedInput] = []
    chars = 0
    for i in body.instances or []:
        inputs.append(EmbedInput((TextPart(i.content),), EmbedOptions(i.task_type, i.title)))
        chars += len(i.content)
    for content in body.contents or []:
        inputs.append(EmbedInput(tuple(p.to_domain() for p in content.parts)))
    _check_count("contents", len(inputs))
    c = container(request)
    counted = await with_deadline(
        request, c.embeddings.count_tokens(model, inputs, field_prefix="contents", owner=owner(request))
    )
    return JSONResponse(
        {"totalTokens": sum(e.token_count for e in counted), "totalBillableCharacters": chars}
    )


_VERBS = {
    "predict": predict,
    "embedContent": embed_content,
    "batchEmbedContents": batch_embed_contents,
    "countTokens": count_tokens,
}


async def call_verb(request: Request, target: str) -> JSONResponse:
    model, _, verb = target.partition(":")
    handler = _VERBS.get(verb)
    if handler is None:
        raise NotFound("Method not found.")
    return await handler(request, model)


async def get_model(request: Request, target: str) -> JSONResponse:
    m = container(request).catalogue.get(target)
    name = request.url.path.split("/", 2)[2]  # the resource name as asked, without the version
    return JSONResponse(
        {
            "name": name,
            "displayName": m.display_name,
            "description": m.description,
            "versionId": "1",
            "inputTokenLimit": m.input_token_limit,
            "omnivec": {"dimensions": m.dimensions, "aliasOf": m.alias_of, "kind": m.kind.value},
        }
    )


for _prefix in _PREFIXES:
    router.add_api_route(_prefix + "/{target}", call_verb, methods=["POST"])
    router.add_api_route(_prefix + "/{target}", get_model, methods=["GET"])
