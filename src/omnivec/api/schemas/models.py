"""The Model resource."""

from __future__ import annotations

from typing import Any

from omnivec.types import ModelDescriptor

EMBED_METHODS = ["embedContent", "batchEmbedContents", "asyncBatchEmbedContent"]


def model_json(model: ModelDescriptor, *, methods: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"models/{model.name}",
        "baseModelId": model.alias_of or model.name,
        "version": "1",
        "displayName": model.display_name,
        "description": model.description,
        "inputTokenLimit": model.input_token_limit,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": methods or EMBED_METHODS,
        # omnivec's own facts about the model; clients that do not know the field ignore it.
        "omnivec": {
            "dimensions": model.dimensions,
            "modalities": sorted(m.value for m in model.modalities),
            "matryoshka": model.matryoshka,
            "promptStyle": model.prompt_style,
            **({"aliasOf": f"models/{model.alias_of}"} if model.alias_of else {}),
            "source": model.source,
            "normalized": model.normalized,
            "interleaved": model.interleaved,
            **({"audioSampleRate": model.audio_sample_rate} if model.audio_sample_rate else {}),
        },
    }
    return body
