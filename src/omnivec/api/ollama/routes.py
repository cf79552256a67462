"""Ollama's embedding routes and the model listing its clients check, over the one service."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from fastapi import Request

from omnivec.api.context import container, read_json
from omnivec.api.dialect import dialect_router
from omnivec.api.ollama.schemas import EmbeddingsRequest, EmbedRequest, ShowRequest
from omnivec.api.responses import JSONResponse
from omnivec.api.text_inputs import embed_texts
from omnivec.errors import InvalidArgument, NotFound
from omnivec.types import EmbedOptions, ModelDescriptor, ModelKind, Usage

router = dialect_router("ollama")

# The Ollama API version omnivec answers like (what /api/version reports).
OLLAMA_API_VERSION = "0.12.0"


def resolve(request: Request, name: str) -> ModelDescriptor:
    """Ollama names carry a tag (``name:latest``); omnivec's served names have none."""
    catalogue = container(request).catalogue
    try:
        return catalogue.resolve(name)
    except NotFound:
        base, _, tag = name.rpartition(":")
        if base and tag == "latest":
            return catalogue.resolve(base)
        raise


@router.post("/api/embed")
async def embed(request: Request) -> JSONResponse:
    started = time.perf_counter_ns()
    parsed = await read_json(request, EmbedRequest)
    texts = [parsed.input] if isinstance(parsed.input, str) else parsed.input
    model = resolve(request, parsed.model)
    options = EmbedOptions(output_dimensionality=parsed.dimensions, auto_truncate=parsed.truncate)
    vectors = await embed_texts(request, model.name, texts, options, "input")
    return JSONResponse(
        {
            "model": parsed.model,
            "embeddings": [v.values for v in vectors],
            "total_duration": time.perf_counter_ns() - started,
            "load_duration": 0,
            "prompt_eval_count": Usage.of(vectors).prompt_token_count,
        }
    )


@router.post("/api/embeddings")
async def embeddings(request: Request) -> JSONResponse:
    parsed = await read_json(request, EmbeddingsRequest)
    model = resolve(request, parsed.model)
    if not parsed.prompt:
        # Ollama answers an empty prompt with an empty embedding; omnivec embeds nothing empty.
        raise InvalidArgument.at("prompt", "must not be empty")
    vectors = await embed_texts(request, model.name, [parsed.prompt], EmbedOptions(), "prompt")
    return JSONResponse({"embedding": vectors[0].values})


def _details(model: ModelDescriptor) -> dict[str, Any]:
    return {
        "parent_model": model.alias_of or "",
        "format": "omnivec",
        "family": model.prompt_style,
        "families": [model.prompt_style],
        "parameter_size": "",
        "quantization_level": "",
    }


def _digest(model: ModelDescriptor) -> str:
    return hashlib.sha256(model.name.encode()).hexdigest()


@router.get("/api/tags")
async def tags(request: Request) -> JSONResponse:
    models = container(request).catalogue.list()
    return JSONResponse(
        {
            "models": [
                {
                    "name": m.name,
                    "model": m.name,
                    "modified_at": "1970-01-01T00:00:00Z",
                    "size": 0,
                    "digest": _digest(m),
                    "details": _details(m),
                }
                for m in models
            ]
        }
    )


@router.post("/api/show")
async def show(request: Request) -> JSONResponse:
    parsed = await read_json(request, ShowRequest)
    name = parsed.model or parsed.name
    if not name:
        raise InvalidArgument.at("model", "is required")
    model = container(request).catalogue.get(name) if ":" not in name else resolve(request, name)
    return JSONResponse(
        {
            "modelfile": "",
            "parameters": "",
            "template": "",
            "details": _details(model),
            "model_info": {
                "general.architecture": model.prompt_style,
                "omnivec.embedding_length": model.dimensions,
                "omnivec.context_length": model.input_token_limit,
            },
            "capabilities": ["rerank" if model.kind is ModelKind.RERANK else "embedding"],
            "modified_at": "1970-01-01T00:00:00Z",
        }
    )


@router.get("/api/version")
async def version(request: Request) -> JSONResponse:
    return JSONResponse({"version": OLLAMA_API_VERSION})
