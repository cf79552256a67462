"""The ``Model`` resource, with omnivec's own facts about the model in an ``omnivec`` object."""

from __future__ import annotations

from typing import Any

from omnivec.types import ModelDescriptor, ModelKind

EMBED_METHODS = ["embedContent", "batchEmbedContents", "asyncBatchEmbedContent"]
# A reranker answers none of Gemini's methods; omnivec's /v1/rerank (and TEI's /rerank) use it.
RERANK_METHODS = ["rerank"]


def model_json(model: ModelDescriptor, *, methods: list[str] | None = None) -> dict[str, Any]:
    return {
        "name": f"models/{model.name}",
        "baseModelId": model.alias_of or model.name,
        "version": "1",
        "displayName": model.display_name,
        "description": model.description,
        "inputTokenLimit": model.input_token_limit,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": methods
        or (RERANK_METHODS if model.kind is ModelKind.RERANK else EMBED_METHODS),
        # Clients that do not know the field ignore it; every key is a typed fact, written out.
        "omnivec": omnivec_facts(model),
    }


def omnivec_facts(model: ModelDescriptor) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "dimensions": model.dimensions,
        "modalities": sorted(m.value for m in model.modalities),
        "matryoshka": model.matryoshka,
        "promptStyle": model.prompt_style.value,
        "source": model.source,
        "normalized": model.normalized,
        "interleaved": model.interleaved,
        # Which engine computes the vectors (fp32, bf16, onnx, onnx-int8, torch).
        "engine": model.engine,
        # "embedding", or "rerank" for a cross-encoder (it scores pairs and has no vectors).
        "kind": model.kind.value,
    }
    if model.score_activation is not None:
        facts["scoreActivation"] = model.score_activation.value
    if model.alias_of:
        facts["aliasOf"] = f"models/{model.alias_of}"
    if model.audio_sample_rate:
        facts["audioSampleRate"] = model.audio_sample_rate
    return facts
