"""OpenAI's embeddings and models endpoints over the one EmbeddingService."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from omnivec.api.context import container, read_json
from omnivec.api.dialect import dialect_router
from omnivec.api.openai.batches import add_routes
from omnivec.api.openai.inputs import contents_of
from omnivec.api.openai.schemas import EmbeddingsRequest
from omnivec.api.quantized import encoder_for
from omnivec.api.responses import JSONResponse
from omnivec.api.text_inputs import embed_parts
from omnivec.types import EmbedOptions, ModelDescriptor, Usage
from omnivec.wire.vectors import VectorEncoding

router = dialect_router("openai")

EMBEDDINGS_PATHS = ("/v1/embeddings", "/v1beta/openai/embeddings", "/openai/v1/embeddings")
MODELS_PREFIXES = ("/v1beta/openai", "/openai/v1")


async def embeddings(request: Request) -> JSONResponse:
    parsed = await read_json(request, EmbeddingsRequest)
    model = container(request).catalogue.resolve(parsed.model)
    options = EmbedOptions(output_dimensionality=parsed.dimensions)
    vectors = await embed_parts(request, model.name, contents_of(parsed.input), options, "input")
    encoding = VectorEncoding(parsed.encoding_format)
    encode = await encoder_for(request, model.name, encoding, parsed.dimensions)
    usage = Usage.of(vectors)
    return JSONResponse(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": encode(v.values)}
                for i, v in enumerate(vectors)
            ],
            "model": parsed.model,
            "usage": {"prompt_tokens": usage.prompt_token_count, "total_tokens": usage.prompt_token_count},
        }
    )


def model_json(model: ModelDescriptor) -> dict[str, Any]:
    return {"id": model.name, "object": "model", "created": 0, "owned_by": "omnivec"}


async def list_models(request: Request) -> JSONResponse:
    models = container(request).catalogue.list()
    return JSONResponse({"object": "list", "data": [model_json(m) for m in models]})


async def get_model(request: Request, model: str) -> JSONResponse:
    return JSONResponse(model_json(container(request).catalogue.get(model)))


for _path in EMBEDDINGS_PATHS:
    router.add_api_route(_path, embeddings, methods=["POST"])
for _prefix in MODELS_PREFIXES:
    router.add_api_route(f"{_prefix}/models", list_models, methods=["GET"])
    router.add_api_route(f"{_prefix}/models/{{model:path}}", get_model, methods=["GET"])

# The Batch API under the same prefixes, and under /v1 for OpenAI's own clients.
for _prefix in (*MODELS_PREFIXES, "/v1"):
    add_routes(router, _prefix)
