"""The official google-genai SDK, unchanged, against a running omnivec over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from google import genai
from google.genai import errors, types

from tests.support.server import RunningServer

TASK_TYPES = [
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
]


def client(server: RunningServer, api_version: str | None = None, api_key: str = "unused") -> genai.Client:
    options = types.HttpOptions(base_url=server.base_url, api_version=api_version)
    return genai.Client(api_key=api_key, http_options=options)


@pytest.fixture(params=[None, "v1beta"], ids=["v1-default", "v1beta"])
def api_version(request: pytest.FixtureRequest) -> str | None:
    return request.param


def test_models_list_and_get(minilm_server: RunningServer, api_version: str | None) -> None:
    c = client(minilm_server, api_version)
    names = [m.name for m in c.models.list()]
    assert "models/all-MiniLM-L6-v2" in names and "models/gemini-embedding-001" in names
    model = c.models.get(model="gemini-embedding-001")
    assert model.input_token_limit == 256
    assert model.supported_actions is not None and "embedContent" in model.supported_actions
    assert "alias" in (model.display_name or "")
    own = c.models.get(model="all-MiniLM-L6-v2")
    assert own.name == "models/all-MiniLM-L6-v2"


def test_models_list_paginates(minilm_server: RunningServer) -> None:
    c = client(minilm_server)
    pager = c.models.list(config={"page_size": 1})
    assert len(pager.page) == 1
    assert len(list(pager)) == len(list(c.models.list()))


@pytest.mark.parametrize("model", ["gemini-embedding-001", "all-MiniLM-L6-v2"])
def test_embed_string_and_list(minilm_server: RunningServer, api_version: str | None, model: str) -> None:
    c = client(minilm_server, api_version)
    one = c.models.embed_content(model=model, contents="What is the meaning of life?")
    assert one.embeddings is not None and len(one.embeddings) == 1
    values = np.array(one.embeddings[0].values)
    assert values.shape == (384,)
    assert abs(np.linalg.norm(values) - 1) < 1e-5
    many = c.models.embed_content(model=model, contents=["a cat", "a dog", "the stock market"])
    assert many.embeddings is not None and len(many.embeddings) == 3


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_with_title_and_dimensionality(minilm_server: RunningServer, task_type: str) -> None:
    c = client(minilm_server)
    config = types.EmbedContentConfig(
        task_type=task_type,
        title="A title" if task_type == "RETRIEVAL_DOCUMENT" else None,
        output_dimensionality=128,
    )
    result = c.models.embed_content(model="gemini-embedding-001", contents=["first", "second"], config=config)
    assert result.embeddings is not None and len(result.embeddings) == 2
    for e in result.embeddings:
        v = np.array(e.values)
        assert v.shape == (128,) and abs(np.linalg.norm(v) - 1) < 1e-5


def test_gemini_embedding_2_aggregates_list_into_one_content(minilm_server: RunningServer) -> None:
    # The SDK merges a list of strings into ONE Content for gemini-embedding-2: one vector.
    c = client(minilm_server)
    result = c.models.embed_content(model="gemini-embedding-2", contents=["part one", "part two"])
    assert result.embeddings is not None and len(result.embeddings) == 1
    separate = c.models.embed_content(
        model="gemini-embedding-2",
        contents=[
            types.Content(parts=[types.Part(text="part one")]),
            types.Content(parts=[types.Part(text="part two")]),
        ],
    )
    assert separate.embeddings is not None and len(separate.embeddings) == 2


def test_alias_and_own_id_give_the_same_vectors(minilm_server: RunningServer) -> None:
    c = client(minilm_server)
    a = c.models.embed_content(model="gemini-embedding-001", contents="same text")
    b = c.models.embed_content(model="all-MiniLM-L6-v2", contents="same text")
    assert a.embeddings and b.embeddings
    np.testing.assert_allclose(a.embeddings[0].values, b.embeddings[0].values, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "code", "status"),
    [
        (lambda c: c.models.embed_content(model="no-such-model", contents="x"), 404, "NOT_FOUND"),
        (lambda c: c.models.get(model="no-such-model"), 404, "NOT_FOUND"),
        (
            lambda c: c.models.embed_content(
                model="gemini-embedding-001",
                contents="x",
                config=types.EmbedContentConfig(output_dimensionality=3072),
            ),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            lambda c: c.models.embed_content(
                model="gemini-embedding-001",
                contents="x",
                config=types.EmbedContentConfig(output_dimensionality=0),
            ),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            lambda c: c.models.embed_content(
                model="gemini-embedding-001", contents=[f"t{i}" for i in range(101)]
            ),
            400,
            "INVALID_ARGUMENT",
        ),
    ],
)
def test_errors_come_back_as_client_errors(
    fake_server: RunningServer, call: Callable[[genai.Client], object], code: int, status: str
) -> None:
    with pytest.raises(errors.ClientError) as info:
        call(client(fake_server))
    assert info.value.code == code
    assert info.value.status == status
    assert info.value.message


def test_dimension_error_names_the_allowed_range(fake_server: RunningServer) -> None:
    c = client(fake_server)  # keep a reference: a collected Client closes its connection pool
    with pytest.raises(errors.ClientError) as info:
        c.models.embed_content(
            model="fake", contents="x", config=types.EmbedContentConfig(output_dimensionality=65)
        )
    assert "between 1 and 64" in (info.value.message or "")
    body = info.value.details["error"]
    assert body["details"][0]["fieldViolations"][0]["field"] == "requests[0].outputDimensionality"


def test_batch_limit_uses_googles_message(fake_server: RunningServer) -> None:
    c = client(fake_server)
    with pytest.raises(errors.ClientError) as info:
        c.models.embed_content(model="fake", contents=[str(i) for i in range(101)])
    assert (
        info.value.message == "BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch"
    )


def test_api_keys_required_when_configured(serve: Callable[..., RunningServer]) -> None:
    server = serve(api_keys=["secret-one", "secret-two"])
    good, wrong = client(server, api_key="secret-two"), client(server, api_key="wrong")
    assert good.models.embed_content(model="fake", contents="x").embeddings
    with pytest.raises(errors.ClientError) as bad:
        wrong.models.embed_content(model="fake", contents="x")
    assert bad.value.code == 400 and bad.value.status == "INVALID_ARGUMENT"
    assert bad.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    import httpx

    missing = httpx.get(f"{server.base_url}/v1beta/models")
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    by_query = httpx.get(f"{server.base_url}/v1beta/models", params={"key": "secret-one"})
    assert by_query.status_code == 200
    by_bearer = httpx.get(f"{server.base_url}/v1beta/models", headers={"Authorization": "Bearer secret-one"})
    assert by_bearer.status_code == 200
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_async_client_works_too(fake_server: RunningServer) -> None:
    import asyncio

    c = client(fake_server)

    async def run() -> int:
        result = await c.aio.models.embed_content(model="fake", contents=["a", "b"])
        return len(result.embeddings or [])

    assert asyncio.run(run()) == 2
