"""pydantic-ai's Google models pointed at omnivec: ``count_tokens`` (of its embedder and of its
chat model) counts what ``embedContent`` embeds, and its embedder's vectors are the Gemini
route's."""

from __future__ import annotations

import asyncio

import httpx
from pydantic_ai import Embedder
from pydantic_ai.embeddings.google import GoogleEmbeddingModel
from pydantic_ai.messages import ModelMessage, ModelRequest, UserPromptPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.google import GoogleModel
from pydantic_ai.providers.google import GoogleProvider

from tests.dialects.conftest import assert_same_vectors, gemini_vectors
from tests.support.server import RunningServer

TEXT = "Counting tokens is how a client keeps a request under the model's limit."


def embed_content_tokens(server: RunningServer, model: str, text: str) -> int:
    r = httpx.post(
        f"{server.base_url}/v1beta/models/{model}:embedContent",
        json={"content": {"parts": [{"text": text}]}},
        timeout=60,
    )
    r.raise_for_status()
    return int(r.json()["usageMetadata"]["promptTokenCount"])


def test_count_tokens_equals_embed_content(minilm_server: RunningServer, minilm_model: str) -> None:
    want = embed_content_tokens(minilm_server, minilm_model, TEXT)
    assert want > 2

    async def counted() -> tuple[int, int | None]:
        provider = GoogleProvider(api_key="unused", base_url=minilm_server.base_url)
        embedder = Embedder(GoogleEmbeddingModel(minilm_model, provider=provider))
        chat = GoogleModel(minilm_model, provider=provider)
        messages: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart(content=TEXT)])]
        usage = await chat.count_tokens(messages, None, ModelRequestParameters())
        return await embedder.count_tokens(TEXT), usage.input_tokens

    assert asyncio.run(counted()) == (want, want)


def test_embedder_vectors_match_gemini(minilm_server: RunningServer, minilm_model: str) -> None:
    provider = GoogleProvider(api_key="unused", base_url=minilm_server.base_url)
    embedder = Embedder(GoogleEmbeddingModel(minilm_model, provider=provider))
    result = embedder.embed_query_sync(TEXT)
    want = gemini_vectors(minilm_server, minilm_model, [TEXT], taskType="RETRIEVAL_QUERY")
    assert_same_vectors(result.embeddings, want)
