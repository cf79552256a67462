"""Gemini's embedding responses: ``ContentEmbedding`` values and ``usageMetadata``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omnivec.types import Embedding, Usage


def embedding_json(embedding: Embedding) -> dict[str, Any]:
    # values stays a float32 numpy array: orjson writes it natively (no per-float objects).
    return {"values": embedding.values}


def usage_json(usage: Usage) -> dict[str, Any]:
    return {
        "promptTokenCount": usage.prompt_token_count,
        "totalTokenCount": usage.prompt_token_count,
        "promptTokenDetails": [
            {"modality": modality.value, "tokenCount": count}
            for modality, count in usage.tokens_by_modality.items()
        ],
    }


def batch_embed_response_json(embeddings: Sequence[Embedding]) -> dict[str, Any]:
    """A ``BatchEmbedContentsResponse``."""
    return {
        "embeddings": [embedding_json(e) for e in embeddings],
        "usageMetadata": usage_json(Usage.of(list(embeddings))),
    }
