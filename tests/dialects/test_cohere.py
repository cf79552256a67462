"""The Cohere v2 dialect with the official cohere client: float, int8/uint8 against
sentence-transformers' reference quantisation, binary/ubinary, images, rerank, errors."""

from __future__ import annotations

import base64

import cohere
import httpx
import numpy as np
import pytest
from sentence_transformers.util.quantization import quantize_embeddings

from omnivec.services.calibration import calibration_texts
from tests.dialects.conftest import assert_same_vectors, gemini_vectors, one_token_words
from tests.support.server import RunningServer

TEXTS = ["Rome is the capital of Italy.", "The mitochondria is the powerhouse of the cell."]


def reference_ranges(server: RunningServer, model: str, dims: int | None = None) -> np.ndarray:
    """Per-dimension min/max of the calibration set, embedded through the Gemini route."""
    texts = calibration_texts()
    config = {"outputDimensionality": dims} if dims else {}
    vectors = np.concatenate(
        [gemini_vectors(server, model, texts[i : i + 50], **config) for i in range(0, len(texts), 50)]
    )
    return np.stack([vectors.min(axis=0), vectors.max(axis=0)])


def test_float_matches_gemini_with_input_type(minilm_server: RunningServer, minilm_model: str) -> None:
    client = cohere.ClientV2(base_url=minilm_server.base_url, api_key="unused")
    result = client.embed(
        texts=TEXTS, model=minilm_model, input_type="search_query", embedding_types=["float"]
    )
    want = gemini_vectors(minilm_server, minilm_model, TEXTS, taskType="RETRIEVAL_QUERY")
    assert_same_vectors(result.embeddings.float_, want)
    assert result.meta and result.meta.billed_units and result.meta.billed_units.input_tokens


@pytest.mark.parametrize("dims", [None, 32])
def test_int8_uint8_binary_equal_reference(
    fake_server: RunningServer, fake_model: str, dims: int | None
) -> None:
    client = cohere.ClientV2(base_url=fake_server.base_url, api_key="unused")
    types = ["float", "int8", "uint8", "binary", "ubinary", "base64"]
    result = client.embed(
        texts=TEXTS,
        model=fake_model,
        input_type="search_document",
        embedding_types=types,
        output_dimension=dims,
    )
    floats = gemini_vectors(
        fake_server,
        fake_model,
        TEXTS,
        taskType="RETRIEVAL_DOCUMENT",
        **({"outputDimensionality": dims} if dims else {}),
    )
    e = result.embeddings
    assert_same_vectors(e.float_, floats)
    ranges = reference_ranges(fake_server, fake_model, dims)
    assert np.array_equal(np.array(e.int8), quantize_embeddings(floats, "int8", ranges=ranges))
    assert np.array_equal(np.array(e.uint8), quantize_embeddings(floats, "uint8", ranges=ranges))
    assert np.array_equal(np.array(e.binary), quantize_embeddings(floats, "binary"))
    assert np.array_equal(np.array(e.ubinary), quantize_embeddings(floats, "ubinary"))
    decoded = [np.frombuffer(base64.b64decode(b), dtype="<f4") for b in e.base64 or []]
    assert_same_vectors(decoded, floats)


def test_int8_keeps_retrieval_quality(minilm_server: RunningServer, minilm_model: str) -> None:
    """Top-1 retrieval with int8 vectors agrees with float on a small corpus."""
    client = cohere.ClientV2(base_url=minilm_server.base_url, api_key="unused")
    docs = calibration_texts()[::4][:40]
    queries = [d.split(" ", 3)[-1] for d in docs[:20]]  # each query is the tail of one document
    d = client.embed(
        texts=docs, model=minilm_model, input_type="search_document", embedding_types=["float", "int8"]
    )
    q = client.embed(
        texts=queries, model=minilm_model, input_type="search_query", embedding_types=["float", "int8"]
    )
    top_float = (np.array(q.embeddings.float_) @ np.array(d.embeddings.float_).T).argmax(axis=1)
    top_int8 = (
        np.array(q.embeddings.int8, dtype=np.float32) @ np.array(d.embeddings.int8, dtype=np.float32).T
    ).argmax(axis=1)
    assert (top_float == top_int8).mean() >= 0.9


def test_truncate_start_keeps_the_tail(
    minilm_server: RunningServer, minilm_model: str, minilm_tokenizer: object
) -> None:
    """START cuts the start of an over-long text: its vector is that of the text's tail (as many
    words as fit between [CLS] and [SEP]) on the Gemini route; END keeps the head."""
    limit = minilm_server.container.catalogue.resolve(minilm_model).input_token_limit
    words = one_token_words(minilm_tokenizer, limit + 100)
    head, tail = " ".join(words[: limit - 2]), " ".join(words[-(limit - 2) :])
    client = cohere.ClientV2(base_url=minilm_server.base_url, api_key="unused")
    got = {
        side: client.embed(
            texts=[" ".join(words)],
            model=minilm_model,
            input_type="search_query",
            embedding_types=["float"],
            truncate=side,
        )
        for side in ("START", "END")
    }
    want = gemini_vectors(minilm_server, minilm_model, [tail, head], taskType="RETRIEVAL_QUERY")
    assert_same_vectors(got["START"].embeddings.float_, want[:1])
    assert_same_vectors(got["END"].embeddings.float_, want[1:])
    start, end = (np.array(got[side].embeddings.float_[0]) for side in ("START", "END"))  # type: ignore[index]
    assert float(start @ end) < 0.99
    meta = got["START"].meta
    assert meta and meta.billed_units and meta.billed_units.input_tokens == limit


def test_rerank(minilm_server: RunningServer, minilm_model: str) -> None:
    client = cohere.ClientV2(base_url=minilm_server.base_url, api_key="unused")
    docs = ["Paris is in France.", "Rome is the capital of Italy.", "Cells have mitochondria."]
    result = client.rerank(model=minilm_model, query="What is the capital of Italy?", documents=docs, top_n=2)
    assert result.results[0].index == 1 and len(result.results) == 2
    jina = httpx.post(
        minilm_server.base_url + "/v1/rerank",
        json={"query": "capital of Italy", "documents": docs, "return_documents": True},
    ).json()
    assert jina["results"][0]["document"]["text"] == docs[1]
    assert jina["omnivec"]["method"] == "embedding-cosine"


def test_errors_in_cohere_shape(fake_server: RunningServer, fake_model: str) -> None:
    client = cohere.ClientV2(base_url=fake_server.base_url, api_key="unused")
    with pytest.raises(cohere.NotFoundError):
        client.embed(texts=["x"], model="nope", input_type="search_query", embedding_types=["float"])
    bad_bodies = [
        {"model": fake_model},
        {"model": fake_model, "texts": ["x"], "images": ["data:image/png;base64,AAAA"]},
        {"model": fake_model, "texts": ["x"], "embedding_types": ["float16"]},
        {"model": fake_model, "images": ["https://example.com/cat.png"]},
        {"model": fake_model, "texts": ["x"], "truncate": "MIDDLE"},
    ]
    for body in bad_bodies:
        r = httpx.post(fake_server.base_url + "/v2/embed", json=body)
        assert r.status_code == 400 and set(r.json()) == {"message"}, r.text


def test_gemini_output_encoding_extension(fake_server: RunningServer, fake_model: str) -> None:
    """The same quantisation on the Gemini routes, asked for with ``outputEncoding``."""
    url = f"{fake_server.base_url}/v1beta/models/{fake_model}:batchEmbedContents"
    requests = [{"content": {"parts": [{"text": t}]}} for t in TEXTS]
    floats = gemini_vectors(fake_server, fake_model, TEXTS)
    ranges = reference_ranges(fake_server, fake_model)
    int8 = httpx.post(url, json={"requests": requests, "outputEncoding": "int8"}).json()["embeddings"]
    assert np.array_equal(
        np.array([e["int8"] for e in int8]), quantize_embeddings(floats, "int8", ranges=ranges)
    )
    one = httpx.post(
        f"{fake_server.base_url}/v1beta/models/{fake_model}:embedContent",
        json={"content": requests[0]["content"], "outputEncoding": "ubinary"},
    ).json()
    assert one["embedding"]["ubinary"] == quantize_embeddings(floats[:1], "ubinary")[0].tolist()
    bad = httpx.post(url, json={"requests": requests, "outputEncoding": "int4"})
    assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT"
