"""Rerank with a served cross-encoder: a tiny random-weight BertForSequenceClassification served
next to the real MiniLM, driven by the cohere client and TEI's request shape over real HTTP; its
scores equal transformers' own on the same pairs. An embedding request to it is a 400 in every
dialect, and the rerank routes pick the model the request names."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cohere
import httpx
import openai
import pytest

from omnivec.bootstrap import build
from omnivec.settings import Settings
from tests.support.server import RunningServer, start_server
from tests.support.tiny_cross_encoders import build_bert_cross_encoder, reference_logits

RERANKER = "tiny-reranker"
QUERY = "what is the red planet"
DOCUMENTS = [
    "the stock market fell today",
    "mars is the red planet",
    "the cat sat on the mat",
    # Over the model's 40 tokens with the query: the end of the document is cut.
    "the meaning of life " * 12 + "mars",
    "how the brain works",
]
TOLERANCE = 1e-5


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bert_cross_encoder(tmp_path_factory.mktemp("cross-encoder"))


@pytest.fixture(scope="module")
def both_server(reranker_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """MiniLM (an embedding model) first, then the cross-encoder."""
    settings = Settings(
        models=["default", f"{RERANKER}={reranker_dir}"], data_dir=tmp_path_factory.mktemp("both")
    )
    server = start_server(build(settings))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def reranker_only_server(
    reranker_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    settings = Settings(models=[f"{RERANKER}={reranker_dir}"], data_dir=tmp_path_factory.mktemp("only"))
    server = start_server(build(settings))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def logits(reranker_dir: Path) -> list[float]:
    return reference_logits(reranker_dir, QUERY, DOCUMENTS)


def ranked_order(scores: list[float]) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def test_cohere_client_gets_the_cross_encoders_scores(
    both_server: RunningServer, logits: list[float]
) -> None:
    client = cohere.ClientV2(base_url=both_server.base_url, api_key="unused")
    result = client.rerank(model=RERANKER, query=QUERY, documents=DOCUMENTS)
    want = [sigmoid(x) for x in logits]
    assert [r.index for r in result.results] == ranked_order(want)
    for r in result.results:
        assert abs(r.relevance_score - want[r.index]) <= TOLERANCE
    top = client.rerank(model=RERANKER, query=QUERY, documents=DOCUMENTS, top_n=2)
    assert [r.index for r in top.results] == ranked_order(want)[:2]


def test_sentence_transformers_cross_encoder_agrees(reranker_dir: Path, both_server: RunningServer) -> None:
    """The score is what sentence-transformers' CrossEncoder predicts (its sigmoid for one label)."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(reranker_dir), device="cpu", local_files_only=True)
    short = [d for d in DOCUMENTS if len(d) < 60]  # its own truncation is longest_first
    want = [float(x) for x in model.predict([(QUERY, d) for d in short])]
    body = httpx.post(
        both_server.base_url + "/v1/rerank",
        json={"model": RERANKER, "query": QUERY, "documents": short, "return_documents": True},
    ).json()
    got = {r["index"]: r["relevance_score"] for r in body["results"]}
    assert all(r["document"]["text"] == short[r["index"]] for r in body["results"])
    assert all(abs(got[i] - want[i]) <= TOLERANCE for i in range(len(short)))
    assert body["omnivec"] == {"method": "cross-encoder", "score": "sigmoid"}


def test_tei_rerank_scores_and_raw_logits(reranker_only_server: RunningServer, logits: list[float]) -> None:
    url = reranker_only_server.base_url + "/rerank"
    r = httpx.post(url, json={"query": QUERY, "texts": DOCUMENTS, "truncate": True, "return_text": True})
    assert r.status_code == 200, r.text
    want = [sigmoid(x) for x in logits]
    assert [item["index"] for item in r.json()] == ranked_order(want)
    assert all(abs(item["score"] - want[item["index"]]) <= TOLERANCE for item in r.json())
    assert all(item["text"] == DOCUMENTS[item["index"]] for item in r.json())
    assert r.headers["x-omnivec-rerank-method"] == "cross-encoder"
    assert r.headers["x-omnivec-rerank-score"] == "sigmoid"
    raw = httpx.post(url, json={"query": QUERY, "texts": DOCUMENTS, "truncate": True, "raw_scores": True})
    assert all(abs(item["score"] - logits[item["index"]]) <= TOLERANCE for item in raw.json())
    assert raw.headers["x-omnivec-rerank-score"] == "logit"


def test_over_long_pair_without_truncation_is_refused(reranker_only_server: RunningServer) -> None:
    r = httpx.post(reranker_only_server.base_url + "/rerank", json={"query": QUERY, "texts": DOCUMENTS})
    assert r.status_code == 422 and r.json()["error_type"] == "Validation"
    assert "texts[3]" in r.json()["error"] and "limit of 40" in r.json()["error"]
    too_long_query = httpx.post(
        reranker_only_server.base_url + "/rerank",
        json={"query": "mars " * 60, "texts": ["the cat"], "truncate": True},
    )
    assert too_long_query.status_code == 422 and "shorten the query" in too_long_query.json()["error"]


def test_rerank_routes_pick_the_model_named(both_server: RunningServer) -> None:
    base = both_server.base_url
    docs = ["Paris is in France.", "Rome is the capital of Italy."]

    def method(body: dict[str, object]) -> tuple[str, str]:
        r = httpx.post(base + "/v1/rerank", json={"query": "capital of Italy", "documents": docs, **body})
        assert r.status_code == 200, r.text
        return r.json()["model"], r.json()["omnivec"]["method"]

    assert method({}) == (RERANKER, "cross-encoder")  # no model named: the served cross-encoder
    assert method({"model": RERANKER}) == (RERANKER, "cross-encoder")
    assert method({"model": "all-MiniLM-L6-v2"}) == ("all-MiniLM-L6-v2", "embedding-cosine")
    assert method({"model": "gemini-embedding-001"}) == ("all-MiniLM-L6-v2", "embedding-cosine")
    cosine = cohere.ClientV2(base_url=base, api_key="unused").rerank(
        model="all-MiniLM-L6-v2", query="What is the capital of Italy?", documents=docs
    )
    assert cosine.results[0].index == 1
    tei = httpx.post(base + "/rerank", json={"model": "all-MiniLM-L6-v2", "query": "capital", "texts": docs})
    assert tei.headers["x-omnivec-rerank-method"] == "embedding-cosine"
    assert (
        httpx.post(base + "/rerank", json={"query": "capital", "texts": docs}).headers[
            "x-omnivec-rerank-method"
        ]
        == "cross-encoder"
    )
    # TEI's embedding routes keep to the embedding model.
    assert httpx.post(base + "/embed", json={"inputs": "x"}).status_code == 200


def test_embedding_request_to_the_reranker_is_400_in_every_dialect(both_server: RunningServer) -> None:
    base = both_server.base_url
    gemini = httpx.post(
        f"{base}/v1beta/models/{RERANKER}:embedContent", json={"content": {"parts": [{"text": "x"}]}}
    )
    assert gemini.status_code == 400 and gemini.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "is a reranker" in gemini.json()["error"]["message"]
    count = httpx.post(
        f"{base}/v1beta/models/{RERANKER}:countTokens", json={"contents": [{"parts": [{"text": "x"}]}]}
    )
    assert count.status_code == 400 and "is a reranker" in count.text
    with pytest.raises(openai.BadRequestError) as bad:
        openai.OpenAI(base_url=base + "/v1", api_key="unused").embeddings.create(model=RERANKER, input="x")
    assert "is a reranker" in str(bad.value)
    ollama_r = httpx.post(base + "/api/embed", json={"model": RERANKER, "input": "x"})
    assert ollama_r.status_code == 400 and "is a reranker" in ollama_r.json()["error"]
    with pytest.raises(cohere.BadRequestError):
        cohere.ClientV2(base_url=base, api_key="unused").embed(
            model=RERANKER, texts=["x"], input_type="search_query", embedding_types=["float"]
        )
    vertex = httpx.post(
        f"{base}/v1beta1/publishers/google/models/{RERANKER}:predict", json={"instances": [{"content": "x"}]}
    )
    assert vertex.status_code == 400 and "is a reranker" in vertex.json()["error"]["message"]
    batch = httpx.post(
        f"{base}/v1beta/models/{RERANKER}:asyncBatchEmbedContent",
        json={
            "batch": {
                "inputConfig": {
                    "requests": {"requests": [{"request": {"content": {"parts": [{"text": "x"}]}}}]}
                }
            }
        },
    )
    assert batch.status_code == 400 and "is a reranker" in batch.text


def test_tei_on_a_reranker_alone(reranker_only_server: RunningServer) -> None:
    base = reranker_only_server.base_url
    embed = httpx.post(base + "/embed", json={"inputs": "x"})
    assert embed.status_code == 422 and "is a reranker" in embed.json()["error"]
    info = httpx.get(base + "/info").json()
    assert info["model_id"] == RERANKER and "reranker" in info["model_type"]
    ranked = httpx.post(base + "/v1/rerank", json={"query": QUERY, "documents": ["the cat"]})
    assert ranked.json()["omnivec"]["method"] == "cross-encoder"


def test_models_say_what_the_reranker_is(both_server: RunningServer) -> None:
    base = both_server.base_url
    gemini = httpx.get(f"{base}/v1beta/models/{RERANKER}").json()
    assert gemini["supportedGenerationMethods"] == ["rerank"]
    assert gemini["omnivec"]["kind"] == "rerank" and gemini["omnivec"]["scoreActivation"] == "sigmoid"
    assert "sigmoid" in gemini["description"]
    minilm = httpx.get(f"{base}/v1beta/models/all-MiniLM-L6-v2").json()
    assert "embedContent" in minilm["supportedGenerationMethods"] and minilm["omnivec"]["kind"] == "embedding"
    # The gemini-embedding-* aliases point at the embedding model, not the reranker.
    alias = httpx.get(f"{base}/v1beta/models/gemini-embedding-001").json()
    assert alias["omnivec"]["aliasOf"] == "models/all-MiniLM-L6-v2"
    shown = httpx.post(base + "/api/show", json={"model": RERANKER}).json()
    assert shown["capabilities"] == ["rerank"]
    listed = openai.OpenAI(base_url=base + "/openai/v1", api_key="unused").models.list()
    assert RERANKER in [m.id for m in listed.data]
    vertex = httpx.get(f"{base}/v1beta1/publishers/google/models/{RERANKER}").json()
    assert vertex["omnivec"]["kind"] == "rerank"
