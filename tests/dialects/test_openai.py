"""The OpenAI dialect with the official openai client and LangChain, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from tests.dialects.conftest import assert_same_vectors, gemini_vectors, one_token_words
from tests.support.server import RunningServer

TEXTS = ["The cat sat on the mat.", "Quarterly revenue grew 12%.", "¿Dónde está la estación?"]


@pytest.mark.parametrize("prefix", ["/v1", "/v1beta/openai", "/openai/v1"])
def test_sdk_default_base64_matches_gemini(
    minilm_server: RunningServer, minilm_model: str, prefix: str
) -> None:
    client = openai.OpenAI(base_url=minilm_server.base_url + prefix, api_key="unused")
    result = client.embeddings.create(model=minilm_model, input=TEXTS)
    assert [d.index for d in result.data] == [0, 1, 2]
    assert result.usage.prompt_tokens > 0
    assert_same_vectors(
        [d.embedding for d in result.data], gemini_vectors(minilm_server, minilm_model, TEXTS)
    )


def test_float_and_dimensions(minilm_server: RunningServer, minilm_model: str) -> None:
    client = openai.OpenAI(base_url=minilm_server.base_url + "/v1", api_key="unused")
    result = client.embeddings.create(
        model=minilm_model, input=TEXTS[0], dimensions=64, encoding_format="float"
    )
    assert len(result.data[0].embedding) == 64
    want = gemini_vectors(minilm_server, minilm_model, TEXTS[:1], outputDimensionality=64)
    assert_same_vectors([result.data[0].embedding], want)


def test_async_client(fake_server: RunningServer, fake_model: str) -> None:
    async def run() -> list[list[float]]:
        async with openai.AsyncOpenAI(base_url=fake_server.base_url + "/openai/v1", api_key="x") as client:
            result = await client.embeddings.create(model=fake_model, input=TEXTS)
            return [d.embedding for d in result.data]

    assert_same_vectors(asyncio.run(run()), gemini_vectors(fake_server, fake_model, TEXTS))


def test_langchain_openai(minilm_server: RunningServer, minilm_model: str) -> None:
    from langchain_openai import OpenAIEmbeddings

    # tiktoken pre-tokenisation is off: its token ids belong to OpenAI's vocabulary, not the model's.
    lc = OpenAIEmbeddings(  # type: ignore[call-arg]
        model=minilm_model,
        base_url=minilm_server.base_url + "/v1",
        api_key="unused",
        check_embedding_ctx_length=False,
    )
    docs = lc.embed_documents(TEXTS)
    query = lc.embed_query(TEXTS[1])
    want = gemini_vectors(minilm_server, minilm_model, TEXTS)
    assert_same_vectors(docs, want)
    assert_same_vectors([query], want[1:2])


def test_token_ids_of_the_models_own_tokenizer(
    minilm_server: RunningServer, minilm_model: str, minilm_tokenizer: Any
) -> None:
    """Ids from the served model's tokenizer embed as the text itself: special tokens added, no
    task prompt, over-long input cut like text; usage counts the real tokens."""
    client = openai.OpenAI(base_url=minilm_server.base_url + "/v1", api_key="unused", max_retries=0)
    limit = minilm_server.container.catalogue.resolve(minilm_model).input_token_limit
    long_text = " ".join(one_token_words(minilm_tokenizer, limit + 20))
    texts = [*TEXTS, long_text]
    ids = [minilm_tokenizer(t, add_special_tokens=False).input_ids for t in texts]
    result = client.embeddings.create(model=minilm_model, input=ids)  # the SDK's default base64
    want = gemini_vectors(minilm_server, minilm_model, texts)
    assert_same_vectors([d.embedding for d in result.data], want)
    assert result.usage.prompt_tokens == sum(len(i) + 2 for i in ids[:-1]) + limit
    one = client.embeddings.create(model=minilm_model, input=ids[0], encoding_format="float")
    assert_same_vectors([one.data[0].embedding], want[:1])
    assert one.usage.prompt_tokens == len(ids[0]) + 2


def test_token_ids_refused_in_openai_shape(
    minilm_server: RunningServer, minilm_model: str, fake_server: RunningServer, fake_model: str
) -> None:
    client = openai.OpenAI(base_url=minilm_server.base_url + "/v1", api_key="unused", max_retries=0)
    vocab = minilm_server.container.catalogue.resolve(minilm_model).vocab_size
    assert vocab == 30522
    for ids, param in (([[101, 2000], [7592, vocab]], "input[1][1]"), ([[5, -1]], "input[0][1]")):
        with pytest.raises(openai.BadRequestError) as bad:
            client.embeddings.create(model=minilm_model, input=ids)
        error = bad.value.body
        assert isinstance(error, dict) and error["param"] == param, error
        assert error["type"] == "invalid_request_error" and "vocabulary" in error["message"]
    with pytest.raises(openai.BadRequestError) as empty:
        client.embeddings.create(model=minilm_model, input=[[]])
    assert "at least one token id" in empty.value.message
    # The fake backend has no tokenizer: it cannot take ids, and says so.
    fake = openai.OpenAI(base_url=fake_server.base_url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as no_ids:
        fake.embeddings.create(model=fake_model, input=[[1, 2, 3]])
    assert "cannot take token ids" in no_ids.value.message


def test_models_list_and_get(fake_server: RunningServer, fake_model: str) -> None:
    client = openai.OpenAI(base_url=fake_server.base_url + "/v1beta/openai", api_key="unused")
    ids = [m.id for m in client.models.list()]
    assert fake_model in ids
    assert client.models.retrieve(fake_model).id == fake_model
    # /v1/models stays Gemini's.
    gemini = httpx.get(fake_server.base_url + "/v1/models").json()
    assert "models" in gemini


def test_quantized_encodings(fake_server: RunningServer, fake_model: str) -> None:
    url = fake_server.base_url + "/v1/embeddings"
    floats = np.array(
        httpx.post(url, json={"model": fake_model, "input": TEXTS}).json()["data"][0]["embedding"]
    )
    binary = httpx.post(url, json={"model": fake_model, "input": TEXTS, "encoding_format": "ubinary"}).json()
    assert binary["data"][0]["embedding"] == np.packbits(floats > 0).tolist()


def test_errors_in_openai_shape(fake_server: RunningServer, fake_model: str) -> None:
    client = openai.OpenAI(base_url=fake_server.base_url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError) as not_found:
        client.embeddings.create(model="no-such-model", input="x")
    assert not_found.value.body["type"] == "not_found_error"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad:
        client.embeddings.create(model=fake_model, input="x", dimensions=100_000)
    assert "dimension" in bad.value.message.lower() or "between" in bad.value.message
    for body in ({"input": "x"}, {"model": fake_model, "input": [1, 2]}, {"model": fake_model, "input": []}):
        r = httpx.post(fake_server.base_url + "/v1/embeddings", json=body)
        assert r.status_code == 400, r.text
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = httpx.post(fake_server.base_url + "/v1/embeddings", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_invalid_key_is_401_in_openai_shape(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(api_keys=["right"])
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model="fake", input="x")
    ok = openai.OpenAI(base_url=server.base_url + "/v1", api_key="right")
    assert len(ok.embeddings.create(model=server.container.runtime.model_ids()[0], input="x").data) == 1


def test_batch_api_for_embeddings(fake_server: RunningServer, fake_model: str) -> None:
    import io
    import json
    import time

    client = openai.OpenAI(base_url=fake_server.base_url + "/v1", api_key="unused")
    lines = [
        {
            "custom_id": "a",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": fake_model, "input": TEXTS[:2]},
        },
        {
            "custom_id": "b",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": fake_model, "input": TEXTS[2], "dimensions": 8},
        },
        {
            "custom_id": "c",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": fake_model, "input": "x"},
        },
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    uploaded = client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    assert uploaded.bytes == len(data)
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
    )
    deadline = time.monotonic() + 60
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.1)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.output_file_id
    assert batch.id in [b.id for b in client.batches.list()]
    out = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    assert [o["custom_id"] for o in out] == ["a", "b", "c"]
    first = out[0]["response"]["body"]["data"]
    assert_same_vectors([d["embedding"] for d in first], gemini_vectors(fake_server, fake_model, TEXTS[:2]))
    second = out[1]["response"]["body"]["data"]
    assert_same_vectors(
        [second[0]["embedding"]], gemini_vectors(fake_server, fake_model, TEXTS[2:], outputDimensionality=8)
    )
    assert out[2]["response"]["status_code"] == 400
    # The same job through Google's own OpenAI-compatible prefix.
    google_path = openai.OpenAI(base_url=fake_server.base_url + "/v1beta/openai", api_key="unused")
    assert google_path.batches.retrieve(batch.id).status == "completed"
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="fine-tune")


def test_batch_api_takes_token_ids(
    minilm_server: RunningServer, minilm_model: str, minilm_tokenizer: Any
) -> None:
    import io
    import json
    import time

    client = openai.OpenAI(base_url=minilm_server.base_url + "/v1", api_key="unused")
    ids = [minilm_tokenizer(t, add_special_tokens=False).input_ids for t in TEXTS[:2]]
    bodies = [{"model": minilm_model, "input": ids}, {"model": minilm_model, "input": [[1, 10**6]]}]
    lines = [
        {"custom_id": str(i), "method": "POST", "url": "/v1/embeddings", "body": body}
        for i, body in enumerate(bodies)
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    uploaded = client.files.create(file=("ids.jsonl", io.BytesIO(data)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/embeddings", completion_window="24h"
    )
    deadline = time.monotonic() + 60
    while batch.status not in ("completed", "failed", "cancelled", "expired"):
        assert time.monotonic() < deadline, batch.status
        time.sleep(0.1)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.output_file_id
    out = [json.loads(line) for line in client.files.content(batch.output_file_id).text.splitlines()]
    embedded = out[0]["response"]["body"]
    assert_same_vectors(
        [d["embedding"] for d in embedded["data"]], gemini_vectors(minilm_server, minilm_model, TEXTS[:2])
    )
    assert embedded["usage"]["prompt_tokens"] == sum(len(i) + 2 for i in ids)
    assert out[1]["response"]["status_code"] == 400
    assert "vocabulary" in json.dumps(out[1])
