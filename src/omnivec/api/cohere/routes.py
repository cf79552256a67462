"""Cohere v2's embed (texts, data-URI images, mixed inputs; any embedding types) and rerank."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from fastapi import Request

from omnivec.api.cohere.schemas import EmbedRequest, ImageContent, RerankRequest
from omnivec.api.context import container, owner, read_json, with_deadline
from omnivec.api.dialect import dialect_router
from omnivec.api.quantized import encoder_for
from omnivec.api.responses import JSONResponse
from omnivec.api.text_inputs import check_count, embed_parts
from omnivec.errors import InvalidArgument
from omnivec.services.rerank import Reranker
from omnivec.types import BlobPart, EmbedOptions, Part, TaskType, TextPart, Truncation, Usage
from omnivec.wire.vectors import VectorEncoding

router = dialect_router("cohere")

_TASKS = {
    "search_document": TaskType.RETRIEVAL_DOCUMENT,
    "search_query": TaskType.RETRIEVAL_QUERY,
    "classification": TaskType.CLASSIFICATION,
    "clustering": TaskType.CLUSTERING,
    "image": None,
}
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,(?P<data>.*)$", re.DOTALL)


def image_part(uri: str, field: str) -> BlobPart:
    m = _DATA_URI.match(uri)
    if not m:
        raise InvalidArgument.at(
            field, "must be a data URI (data:image/...;base64,...); URLs are not fetched"
        )
    try:
        return BlobPart(m["mime"], base64.b64decode(m["data"], validate=True))
    except (binascii.Error, ValueError):
        raise InvalidArgument.at(field, "is not valid base64") from None


def contents_of(parsed: EmbedRequest) -> tuple[list[list[Part]], str]:
    given = [name for name in ("texts", "images", "inputs") if getattr(parsed, name) is not None]
    if len(given) != 1:
        raise InvalidArgument.at("texts", "send exactly one of texts, images or inputs")
    if parsed.texts is not None:
        return [[TextPart(t)] for t in parsed.texts], "texts"
    if parsed.images is not None:
        return [[image_part(u, f"images[{i}]")] for i, u in enumerate(parsed.images)], "images"
    assert parsed.inputs is not None
    contents: list[list[Part]] = []
    for i, item in enumerate(parsed.inputs):
        parts: list[Part] = []
        for j, c in enumerate(item.content):
            if isinstance(c, ImageContent):
                parts.append(image_part(c.image_url.url, f"inputs[{i}].content[{j}].image_url.url"))
            else:
                parts.append(TextPart(c.text))
        contents.append(parts)
    return contents, "inputs"


@router.post("/v2/embed")
async def embed(request: Request) -> JSONResponse:
    parsed = await read_json(request, EmbedRequest)
    contents, field = contents_of(parsed)
    model = container(request).catalogue.resolve(parsed.model)
    options = EmbedOptions(
        task_type=_TASKS[parsed.input_type] if parsed.input_type else None,
        output_dimensionality=parsed.output_dimension,
        auto_truncate=parsed.truncate != "NONE",
        truncation=Truncation.START if parsed.truncate == "START" else Truncation.END,
    )
    vectors = await embed_parts(request, model.name, contents, options, field)
    by_type: dict[str, list[object]] = {}
    for name in dict.fromkeys(parsed.embedding_types or ["float"]):
        encode = await encoder_for(request, model.name, VectorEncoding(name), parsed.output_dimension)
        by_type[name] = [encode(v.values) for v in vectors]
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "response_type": "embeddings_by_type",
        "embeddings": by_type,
        "meta": {
            "api_version": {"version": "2"},
            "billed_units": {"input_tokens": Usage.of(vectors).prompt_token_count},
        },
    }
    if parsed.texts is not None:
        body["texts"] = parsed.texts
    return JSONResponse(body)


async def rerank(request: Request) -> JSONResponse:
    parsed = await read_json(request, RerankRequest)
    check_count(request, "documents", len(parsed.documents))
    c = container(request)
    texts = [d if isinstance(d, str) else d.text for d in parsed.documents]
    ranking = await with_deadline(
        request,
        Reranker(c.embeddings, c.runtime, c.catalogue).rerank(
            parsed.model, parsed.query, texts, owner=owner(request)
        ),
    )
    results = ranking.results[: parsed.top_n] if parsed.top_n else ranking.results
    return JSONResponse(
        {
            "id": str(uuid.uuid4()),
            "model": ranking.model,
            "results": [
                {
                    "index": r.index,
                    "relevance_score": r.score,
                    **({"document": {"text": texts[r.index]}} if parsed.return_documents else {}),
                }
                for r in results
            ],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            "usage": {"total_tokens": ranking.token_count},
            "omnivec": {"method": ranking.method, "score": ranking.score},
        }
    )


router.add_api_route("/v2/rerank", rerank, methods=["POST"])
router.add_api_route("/v1/rerank", rerank, methods=["POST"])
