"""TEI's routes over the one EmbeddingService. A TEI server serves one model: omnivec answers
with its first served embedding model, and reranks with its first served cross-encoder (else by
that embedding model's cosine)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import Request

from omnivec.api.context import container, owner, read_json, with_deadline
from omnivec.api.dialect import dialect_router
from omnivec.api.responses import JSONResponse
from omnivec.api.tei.schemas import EmbedRequest, RerankRequest, TokenizeRequest
from omnivec.api.text_inputs import check_count, embed_texts
from omnivec.errors import InvalidArgument
from omnivec.runtime.backends.prompts import render as render_prompt
from omnivec.services.rerank import Reranker
from omnivec.types import EmbedOptions, ModelDescriptor, ModelKind, TaskType, Truncation

router = dialect_router("tei")

TEI_VERSION = "1.8.0"
# TEI's prompt names as sentence-transformers configs spell them, as omnivec's task types.
_PROMPT_TASKS = {
    "query": TaskType.RETRIEVAL_QUERY,
    "document": TaskType.RETRIEVAL_DOCUMENT,
    "passage": TaskType.RETRIEVAL_DOCUMENT,
    "classification": TaskType.CLASSIFICATION,
    "clustering": TaskType.CLUSTERING,
    "similarity": TaskType.SEMANTIC_SIMILARITY,
    "sts": TaskType.SEMANTIC_SIMILARITY,
}


def served_model(request: Request) -> ModelDescriptor:
    """The model TEI's embedding routes use: the first served embedding model (or, when only
    rerankers are served, the first model, which refuses to embed with a clear 400)."""
    c = container(request)
    return c.catalogue.first(ModelKind.EMBEDDING) or c.catalogue.resolve(c.runtime.model_ids()[0])


def task_of(prompt_name: str | None) -> TaskType | None:
    if prompt_name is None:
        return None
    key = prompt_name.strip().lower()
    if key in _PROMPT_TASKS:
        return _PROMPT_TASKS[key]
    try:
        return TaskType(prompt_name.strip().upper())
    except ValueError:
        names = ", ".join(sorted(_PROMPT_TASKS))
        raise InvalidArgument.at("prompt_name", f"unknown prompt name; use one of {names}") from None


async def embed(request: Request) -> JSONResponse:
    parsed = await read_json(request, EmbedRequest)
    texts = [parsed.inputs] if isinstance(parsed.inputs, str) else parsed.inputs
    options = EmbedOptions(
        task_type=task_of(parsed.prompt_name),
        output_dimensionality=parsed.dimensions,
        auto_truncate=parsed.truncate,
        truncation=Truncation.START if parsed.truncation_direction.lower() == "left" else Truncation.END,
    )
    vectors = await embed_texts(request, served_model(request).name, texts, options, "inputs")
    out = [v.values for v in vectors]
    if parsed.normalize:
        out = [v / max(float(np.linalg.norm(v)), 1e-12) for v in out]
    return JSONResponse(out)


router.add_api_route("/embed", embed, methods=["POST"])
router.add_api_route("/", embed, methods=["POST"])


@router.post("/tokenize")
async def tokenize(request: Request) -> JSONResponse:
    parsed = await read_json(request, TokenizeRequest)
    texts = [parsed.inputs] if isinstance(parsed.inputs, str) else parsed.inputs
    check_count(request, "inputs", len(texts))
    model = served_model(request)
    task = task_of(parsed.prompt_name)
    runtime = container(request).runtime
    out: list[list[dict[str, Any]]] = []
    for text in texts:
        prompted = render_prompt(model.prompt_style, text, task, None)
        spans = await runtime.tokenize(model.name, prompted, add_special_tokens=parsed.add_special_tokens)
        out.append(
            [
                {"id": s.id, "text": s.text, "special": s.special, "start": s.start, "stop": s.stop}
                for s in spans
            ]
        )
    return JSONResponse(out)


@router.get("/info")
async def info(request: Request) -> JSONResponse:
    c = container(request)
    model = served_model(request)
    limits = c.settings.limits
    return JSONResponse(
        {
            "model_id": model.name,
            "model_sha": None,
            "model_dtype": "float32",
            "model_type": _model_type(model),
            "max_concurrent_requests": limits.max_concurrent_requests,
            "max_input_length": model.input_token_limit,
            "max_batch_tokens": model.input_token_limit * limits.max_batch_requests,
            "max_batch_requests": limits.max_batch_requests,
            "max_client_batch_size": limits.max_batch_requests,
            "tokenization_workers": 1,
            "version": TEI_VERSION,
            "omnivec": {"dimensions": model.dimensions, "matryoshka": model.matryoshka},
        }
    )


def _model_type(model: ModelDescriptor) -> dict[str, Any]:
    """TEI's ``model_type``: an embedding model, or (when only rerankers are served) a reranker
    with its one relevance label."""
    if model.kind is ModelKind.RERANK:
        return {"reranker": {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}}
    return {"embedding": {"pooling": "model"}}


@router.post("/rerank")
async def rerank(request: Request) -> JSONResponse:
    parsed = await read_json(request, RerankRequest)
    check_count(request, "texts", len(parsed.texts))
    c = container(request)
    ranking = await with_deadline(
        request,
        Reranker(c.embeddings, c.runtime, c.catalogue).rerank(
            parsed.model,
            parsed.query,
            parsed.texts,
            owner=owner(request),
            auto_truncate=parsed.truncate,
            field_prefix="texts",
            raw_scores=parsed.raw_scores,
        ),
    )
    return JSONResponse(
        [
            {
                "index": r.index,
                "score": r.score,
                **({"text": parsed.texts[r.index]} if parsed.return_text else {}),
            }
            for r in ranking.results
        ],
        headers={
            "x-omnivec-rerank-method": ranking.method,
            "x-omnivec-rerank-model": ranking.model,
            "x-omnivec-rerank-score": ranking.score,
        },
    )
