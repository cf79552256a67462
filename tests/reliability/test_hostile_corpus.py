"""Every request of the hostile corpus gets a precise Google-format answer, never a 5xx, and the
server keeps answering normal requests correctly afterwards."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput
from tests.support.server import RunningServer

from .corpus import CASES, DIALECT_CASES, EMBED, VALID, Case
from .corpus_media import MEDIA_CASE_IDS, media_cases
from .harness import RawResponse, ThreadServer, google_error, raw_request


def send(base_url: str, case: Case) -> RawResponse:
    if case.raw:
        return raw_request(httpx.URL(base_url).port or 80, case.body)
    with httpx.Client(base_url=base_url, timeout=30) as client:
        r = client.request(case.method, case.path, content=case.body, headers=case.headers)
        return RawResponse(r.status_code, dict(r.headers), r.content)


def check(case: Case, response: RawResponse) -> None:
    assert response.status < 500, (case.id, response.status, response.body[:300])
    if case.http_layer:
        assert 400 <= response.status < 500, (case.id, response.status)
        return
    assert response.status == case.status, (case.id, response.status, response.body[:300])
    body = response.json()
    if case.status == 200:
        if "name" in body:  # an accepted batch job
            assert body["name"].startswith("batches/"), case.id
            return
        values = body["embedding"]["values"] if "embedding" in body else body["embeddings"][0]["values"]
        assert values and np.isfinite(values).all(), case.id
        return
    error = google_error(body)
    assert error["code"] == case.status
    assert case.fragment in error["message"], (case.id, error["message"])
    assert response.headers["content-type"].startswith("application/json")


def normal_vector(base_url: str) -> list[float]:
    r = httpx.post(base_url + EMBED, content=VALID, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["embedding"]["values"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(corpus_server: ThreadServer, case: Case) -> None:
    check(case, send(corpus_server.url, case))


@pytest.mark.parametrize("case_id", MEDIA_CASE_IDS)
def test_media_corpus_case(corpus_server: ThreadServer, case_id: str) -> None:
    """Media parts against the fake model, which takes every modality: each reaches the decoders."""
    check(media_cases()[case_id], send(corpus_server.url, media_cases()[case_id]))


def test_media_corpus_ids_are_complete() -> None:
    assert sorted(MEDIA_CASE_IDS) == sorted(media_cases())


def test_server_still_correct_after_corpus(corpus_server: ThreadServer) -> None:
    """Runs after the cases above (file order) on the same server: its answer to a normal request
    equals the fake model's own vector, and nothing was left admitted or queued."""
    backend = FakeBackend("fake", 64)
    expected = backend.finalize(
        backend.forward(backend.prepare([ModelInput(("hello world",))], auto_truncate=True))
    )
    assert np.allclose(normal_vector(corpus_server.url), expected[0], atol=1e-6)
    runtime = corpus_server.container.runtime
    assert runtime.queue_depth == 0
    assert all(r.admitted == 0 for r in runtime.runners.values())


TEXT_CASES = [c for c in CASES if c.text]


@pytest.mark.slow
def test_text_corpus_reaches_the_real_tokenizer(minilm_server: RunningServer) -> None:
    """The text cases against all-MiniLM-L6-v2: its tokenizer takes every one of them."""
    before = normal_vector(minilm_server.base_url)
    assert len(before) == 384
    for case in TEXT_CASES:
        check(case, send(minilm_server.base_url, case))
    assert np.allclose(normal_vector(minilm_server.base_url), before, atol=1e-5)


def dialect_error_message(dialect: str, body: dict[str, object]) -> str:
    """The message of an error in ``dialect``'s own shape, checking that shape on the way."""
    if dialect in ("gemini", "vertex"):
        return str(google_error(body)["message"])
    if dialect == "openai":
        error = body["error"]
        assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}, body
        return str(error["message"])
    if dialect == "ollama":
        assert set(body) == {"error"} and isinstance(body["error"], str), body
        return body["error"]
    if dialect == "tei":
        assert set(body) == {"error", "error_type"}, body
        return str(body["error"])
    assert dialect == "cohere" and set(body) == {"message"}, body
    return str(body["message"])


@pytest.mark.parametrize("case", DIALECT_CASES, ids=[c.id for c in DIALECT_CASES])
def test_dialect_corpus_case(corpus_server: ThreadServer, case: Case) -> None:
    response = send(corpus_server.url, case)
    assert response.status == case.status, (case.id, response.status, response.body[:300])
    message = dialect_error_message(case.dialect, response.json())
    assert case.fragment in message, (case.id, message)
    assert response.headers["content-type"].startswith("application/json")
