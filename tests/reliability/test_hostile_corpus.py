"""Every request of the hostile corpus gets a precise Google-format answer, never a 5xx, and the
server keeps answering normal requests correctly afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput

from .corpus import CASES, CORPUS_MAX_BODY_BYTES, EMBED, VALID, Case
from .harness import RawResponse, ThreadServer, google_error, raw_request, thread_settings


def send(server: ThreadServer, case: Case) -> RawResponse:
    if case.raw:
        return raw_request(server.port, case.body)
    with httpx.Client(base_url=server.url, timeout=30) as client:
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
        values = body["embedding"]["values"] if "embedding" in body else body["embeddings"][0]["values"]
        assert values and np.isfinite(values).all(), case.id
        return
    error = google_error(body)
    assert error["code"] == case.status
    assert case.fragment in error["message"], (case.id, error["message"])
    assert response.headers["content-type"].startswith("application/json")


def normal_vector(server: ThreadServer) -> list[float]:
    r = httpx.post(
        server.url + EMBED, content=VALID, headers={"content-type": "application/json"}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()["embedding"]["values"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(fake_server: ThreadServer, case: Case) -> None:
    check(case, send(fake_server, case))


def test_server_still_correct_after_corpus(fake_server: ThreadServer) -> None:
    """Runs after the cases above (file order) on the same server: its answer to a normal request
    equals the fake model's own vector, and nothing was left admitted or queued."""
    backend = FakeBackend("fake", 64)
    expected = backend.finalize(
        backend.forward(backend.prepare([ModelInput(("hello world",))], auto_truncate=True))
    )
    assert np.allclose(normal_vector(fake_server), expected[0], atol=1e-6)
    runtime = fake_server.container.runtime
    assert runtime.queue_depth == 0
    assert all(r.admitted == 0 for r in runtime.runners.values())


@pytest.fixture(scope="module")
def minilm_server() -> Iterator[ThreadServer]:
    settings = thread_settings(models=["default"], limits={"max_body_bytes": CORPUS_MAX_BODY_BYTES})
    with ThreadServer(settings) as server:
        yield server


TEXT_CASES = [c for c in CASES if c.text]


@pytest.mark.slow
def test_text_corpus_reaches_the_real_tokenizer(minilm_server: ThreadServer) -> None:
    """The text cases against all-MiniLM-L6-v2: its tokenizer takes every one of them."""
    before = normal_vector(minilm_server)
    assert len(before) == 384
    for case in TEXT_CASES:
        check(case, send(minilm_server, case))
    assert np.allclose(normal_vector(minilm_server), before, atol=1e-5)
