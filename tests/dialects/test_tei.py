"""The TEI dialect with huggingface_hub's InferenceClient and TEI's own request shapes."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError

from tests.dialects.conftest import assert_same_vectors, gemini_vectors, one_token_words
from tests.support.server import RunningServer


@pytest.fixture(autouse=True)
def hub_client_may_reach_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub refuses every request, even to 127.0.0.1, in the offline mode the test
    run keeps for model loading; this module's clients only talk to the local test server."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


TEXTS = ["What is Deep Learning?", "Deep learning is a kind of machine learning."]


@pytest.mark.parametrize("path", ["", "/embed"])
def test_inference_client_feature_extraction(
    minilm_server: RunningServer, minilm_model: str, path: str
) -> None:
    client = InferenceClient(base_url=minilm_server.base_url + path)
    got = client.feature_extraction(TEXTS[0])
    assert_same_vectors(
        np.asarray(got).reshape(1, -1), gemini_vectors(minilm_server, minilm_model, TEXTS[:1])
    )
    query = client.feature_extraction(TEXTS[0], prompt_name="query", truncate=True)
    want = gemini_vectors(minilm_server, minilm_model, TEXTS[:1], taskType="RETRIEVAL_QUERY")
    assert_same_vectors(np.asarray(query).reshape(1, -1), want)


def test_embed_batch_and_dimensions(fake_server: RunningServer, fake_model: str) -> None:
    r = httpx.post(fake_server.base_url + "/embed", json={"inputs": TEXTS, "dimensions": 16})
    assert r.status_code == 200
    assert_same_vectors(r.json(), gemini_vectors(fake_server, fake_model, TEXTS, outputDimensionality=16))


def test_tokenize_info_rerank(minilm_server: RunningServer, minilm_model: str) -> None:
    base = minilm_server.base_url
    tokens = httpx.post(base + "/tokenize", json={"inputs": "Deep learning"}).json()[0]
    assert tokens[0]["special"] and tokens[-1]["special"]
    assert [t["text"] for t in tokens[1:-1]] == ["Deep", "learning"]
    info = httpx.get(base + "/info").json()
    assert info["model_id"] == minilm_model and info["max_input_length"] > 0
    ranked = httpx.post(
        base + "/rerank",
        json={
            "query": "What is Deep Learning?",
            "texts": ["Bananas are yellow.", TEXTS[1]],
            "return_text": True,
        },
    )
    assert ranked.status_code == 200
    assert [r["index"] for r in ranked.json()] == [1, 0]
    assert ranked.json()[0]["text"] == TEXTS[1]
    assert ranked.headers["x-omnivec-rerank-method"] == "embedding-cosine"


def test_errors_in_tei_shape(fake_server: RunningServer) -> None:
    bodies: list[dict[str, object]] = [
        {},
        {"inputs": 3},
        {"inputs": []},
        {"inputs": "x", "prompt_name": "nonsense"},
    ]
    for body in bodies:
        r = httpx.post(fake_server.base_url + "/embed", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["error_type"] == "Validation" and r.json()["error"]
    with pytest.raises(HfHubHTTPError):
        InferenceClient(base_url=fake_server.base_url).feature_extraction("x", prompt_name="nonsense")


def test_truncation_direction_left_keeps_the_tail(
    minilm_server: RunningServer, minilm_model: str, minilm_tokenizer: object
) -> None:
    limit = minilm_server.container.catalogue.resolve(minilm_model).input_token_limit
    words = one_token_words(minilm_tokenizer, limit + 50)
    client = InferenceClient(base_url=minilm_server.base_url)
    got = client.feature_extraction(" ".join(words), truncate=True, truncation_direction="Left")
    want = gemini_vectors(minilm_server, minilm_model, [" ".join(words[-(limit - 2) :])])
    assert_same_vectors(np.asarray(got).reshape(1, -1), want)
