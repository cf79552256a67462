"""Vertex AI as google-genai sends it with vertexai=True (express and project mode), and
countTokens on the Gemini routes."""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import types

from tests.dialects.conftest import assert_same_vectors, gemini_vectors
from tests.support.server import RunningServer

TEXTS = ["alpha beta gamma", "The quick brown fox jumps over the lazy dog."]


def vertex_client(server: RunningServer) -> genai.Client:
    return genai.Client(vertexai=True, api_key="x", http_options=types.HttpOptions(base_url=server.base_url))


def test_predict_matches_gemini(minilm_server: RunningServer, minilm_model: str) -> None:
    client = vertex_client(minilm_server)
    config = types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", title="T", output_dimensionality=16)
    result = client.models.embed_content(model=minilm_model, contents=TEXTS, config=config)
    assert result.embeddings and len(result.embeddings) == 2
    want = gemini_vectors(
        minilm_server, minilm_model, TEXTS, taskType="RETRIEVAL_DOCUMENT", title="T", outputDimensionality=16
    )
    assert_same_vectors([e.values for e in result.embeddings], want)
    stats = result.embeddings[0].statistics
    assert stats and stats.token_count and stats.token_count > 0 and stats.truncated is False


def test_embed_content_and_batch_for_gemini_names(fake_server: RunningServer, fake_model: str) -> None:
    client = vertex_client(fake_server)
    # A "gemini" model name makes the SDK use :embedContent (one content) / :batchEmbedContents.
    one = client.models.embed_content(model="gemini-embedding-001", contents=TEXTS[0])
    assert one.embeddings and one.embeddings[0].statistics and one.embeddings[0].statistics.token_count
    assert_same_vectors([one.embeddings[0].values], gemini_vectors(fake_server, fake_model, TEXTS[:1]))
    many = client.models.embed_content(
        model="gemini-embedding-001",
        contents=TEXTS,
        config=types.EmbedContentConfig(task_type="RETRIEVAL_QUERY"),
    )
    assert many.embeddings
    assert_same_vectors(
        [e.values for e in many.embeddings],
        gemini_vectors(fake_server, fake_model, TEXTS, taskType="RETRIEVAL_QUERY"),
    )
    model = client.models.get(model="gemini-embedding-001")
    assert model.name and model.name.endswith("gemini-embedding-001")


def test_project_mode_path(fake_server: RunningServer, fake_model: str) -> None:
    url = f"{fake_server.base_url}/v1/projects/p/locations/us-central1/publishers/google/models/{fake_model}:predict"
    r = httpx.post(url, json={"instances": [{"content": TEXTS[0]}]}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 200
    assert_same_vectors(
        [r.json()["predictions"][0]["embeddings"]["values"]],
        gemini_vectors(fake_server, fake_model, TEXTS[:1]),
    )


def test_vertex_limits_and_errors(fake_server: RunningServer, fake_model: str) -> None:
    url = f"{fake_server.base_url}/v1beta1/publishers/google/models/{fake_model}:predict"
    too_many = httpx.post(url, json={"instances": [{"content": "x"}] * 251})
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "250" in too_many.json()["error"]["message"]
    assert httpx.post(url, json={"instances": [{"content": "x"}] * 250}).status_code == 200
    missing = httpx.post(url.replace(fake_model, "nope"), json={"instances": [{"content": "x"}]})
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    bad_verb = httpx.post(url.replace(":predict", ":explode"), json={})
    assert bad_verb.status_code == 404


def test_count_tokens_counts_what_embed_content_embeds(
    minilm_server: RunningServer, minilm_model: str
) -> None:
    client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=minilm_server.base_url))
    counted = client.models.count_tokens(model=minilm_model, contents=TEXTS[1])
    embedded = client.models.embed_content(model=minilm_model, contents=TEXTS[1])
    r = httpx.post(
        f"{minilm_server.base_url}/v1beta/models/{minilm_model}:batchEmbedContents",
        json={"requests": [{"content": {"parts": [{"text": TEXTS[1]}]}}]},
    )
    assert counted.total_tokens == r.json()["usageMetadata"]["promptTokenCount"] > 0
    assert embedded.embeddings
    assert counted.total_tokens is not None
    legacy = httpx.post(
        f"{minilm_server.base_url}/v1beta/models/{minilm_model}:countTextTokens",
        json={"prompt": {"text": TEXTS[1]}},
    )
    assert legacy.json() == {"tokenCount": counted.total_tokens}
    via_request = httpx.post(
        f"{minilm_server.base_url}/v1beta/models/{minilm_model}:countTokens",
        json={
            "generateContentRequest": {
                "model": f"models/{minilm_model}",
                "contents": [{"parts": [{"text": TEXTS[1]}]}],
            }
        },
    ).json()
    assert via_request["totalTokens"] == counted.total_tokens
    assert via_request["promptTokensDetails"] == [{"modality": "TEXT", "tokenCount": counted.total_tokens}]


@pytest.mark.parametrize("body", [{}, {"contents": []}, {"contents": [{"parts": [{"bogus": 1}]}]}])
def test_count_tokens_errors(fake_server: RunningServer, fake_model: str, body: dict[str, object]) -> None:
    r = httpx.post(f"{fake_server.base_url}/v1beta/models/{fake_model}:countTokens", json=body)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
