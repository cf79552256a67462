"""The Ollama dialect with the official ollama client and LangChain's OllamaEmbeddings."""

from __future__ import annotations

import httpx
import ollama
import pytest

from tests.dialects.conftest import assert_same_vectors, gemini_vectors
from tests.support.server import RunningServer

TEXTS = ["Why is the sky blue?", "Rayleigh scattering of sunlight.", "Der Hund schläft."]


def test_embed_matches_gemini(minilm_server: RunningServer, minilm_model: str) -> None:
    client = ollama.Client(host=minilm_server.base_url)
    result = client.embed(model=minilm_model, input=TEXTS, keep_alive="5m", options={"num_ctx": 512})
    assert result.prompt_eval_count and result.prompt_eval_count > 0
    assert_same_vectors(result.embeddings, gemini_vectors(minilm_server, minilm_model, TEXTS))
    single = client.embed(model=f"{minilm_model}:latest", input=TEXTS[0], dimensions=32)
    assert_same_vectors(
        single.embeddings, gemini_vectors(minilm_server, minilm_model, TEXTS[:1], outputDimensionality=32)
    )


def test_legacy_embeddings(fake_server: RunningServer, fake_model: str) -> None:
    client = ollama.Client(host=fake_server.base_url)
    result = client.embeddings(model=fake_model, prompt=TEXTS[1])
    assert_same_vectors([result.embedding], gemini_vectors(fake_server, fake_model, TEXTS[1:2]))


def test_langchain_ollama(minilm_server: RunningServer, minilm_model: str) -> None:
    from langchain_ollama import OllamaEmbeddings

    lc = OllamaEmbeddings(model=minilm_model, base_url=minilm_server.base_url, validate_model_on_init=True)
    want = gemini_vectors(minilm_server, minilm_model, TEXTS)
    assert_same_vectors(lc.embed_documents(TEXTS), want)
    assert_same_vectors([lc.embed_query(TEXTS[0])], want[:1])


def test_tags_show_version(fake_server: RunningServer, fake_model: str) -> None:
    client = ollama.Client(host=fake_server.base_url)
    assert fake_model in [m.model for m in client.list().models]
    shown = client.show(fake_model)
    assert shown.capabilities == ["embedding"]
    assert shown.modelinfo and shown.modelinfo["omnivec.embedding_length"] == 64
    assert httpx.get(fake_server.base_url + "/api/version").json()["version"]


def test_errors_in_ollama_shape(fake_server: RunningServer, fake_model: str) -> None:
    client = ollama.Client(host=fake_server.base_url)
    with pytest.raises(ollama.ResponseError) as missing:
        client.embed(model="nope", input="x")
    assert missing.value.status_code == 404 and "nope" in missing.value.error
    for body in (
        {"model": fake_model},
        {"model": fake_model, "input": 3},
        {"model": fake_model, "input": []},
    ):
        r = httpx.post(fake_server.base_url + "/api/embed", json=body)
        assert r.status_code == 400 and isinstance(r.json()["error"], str), r.text
    r = httpx.get(fake_server.base_url + "/api/nothing-here")
    assert r.status_code == 404 and set(r.json()) == {"error"}
