"""Faults: shutdown under load, a model that crashes on one input, admission before the CPU step,
and readiness."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn

from omnivec.api.app import create_app
from omnivec.bootstrap import build
from omnivec.errors import ResourceExhausted
from omnivec.logging import request_id_var
from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.settings import Settings
from omnivec.types import EmbedInput, TextPart

from .harness import SubprocessServer, ThreadServer, google_error, scrape, thread_settings, value

MARKER = "poison pill"
# uvicorn re-raises the signal it shut down for once it is done, as a default handler would.
CLEAN_EXIT = (0, -signal.SIGTERM)


class CrashesOnMarker(FakeBackend):
    """Test double: the fake model, except that its forward pass raises when the batch holds the
    marker text. The runner's handling of that is what is under test."""

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = super().prepare(inputs, auto_truncate=auto_truncate)
        for item, model_input in zip(prepared, inputs, strict=True):
            item.payload = (item.payload, MARKER in model_input.text())
        return prepared

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        if any(poisoned for _, poisoned in (i.payload for i in items)):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")
        rows = [
            np.random.default_rng(seed).standard_normal(self.info.dimensions)
            for seed, _ in (i.payload for i in items)
        ]
        return np.stack(rows).astype(np.float32)


class BlocksInPrepare(FakeBackend):
    """Test double: the fake model with a CPU step that waits until released, to hold requests
    between admission and the queue."""

    def __init__(self) -> None:
        super().__init__("fake", 8)
        self.release = threading.Event()
        self.prepared_inputs = 0

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        self.prepared_inputs += len(inputs)
        self.release.wait(30)
        return super().prepare(inputs, auto_truncate=auto_truncate)


def reference(texts: list[str], dims: int = 16) -> np.ndarray:
    backend = FakeBackend("ref", dims)
    return backend.finalize(
        backend.forward(backend.prepare([ModelInput((t,)) for t in texts], auto_truncate=True))
    )


async def test_a_crashing_input_fails_only_its_own_request() -> None:
    """The poisoned input shares a batch with others; only its request gets the error (retried
    alone, it fails again), the rest get their vectors, and the model keeps serving."""
    settings = thread_settings(models=["fake"], batching={"max_batch_items": 16, "max_wait_ms": 150})
    with ThreadServer(settings, [CrashesOnMarker("fake", 16)]) as server:
        texts = [f"healthy {i}" for i in range(7)] + [MARKER]
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": t}]}}
                    )
                    for t in texts
                )
            )
        runner = server.container.runtime.runners["fake"]
        assert runner.stats.failed_batches >= 2  # the shared batch, then the marker alone
        for t, r in zip(texts, responses, strict=True):
            if t == MARKER:
                assert r.status_code == 500
                error = google_error(r.json())
                assert error["status"] == "INTERNAL"
                assert "CUDA" not in r.text and "illegal memory" not in r.text  # no internals leak
                assert any(d["@type"].endswith("RequestInfo") for d in error["details"])
            else:
                assert r.status_code == 200, r.text
                assert np.allclose(r.json()["embedding"]["values"], reference([t])[0], atol=1e-6)
        again = httpx.post(
            server.url + "/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": "x"}]}}
        )
        assert again.status_code == 200


async def test_overload_is_refused_before_the_cpu_step(tmp_path: Path) -> None:
    """Requests that are still being prepared count against the queue: once it is full, the next
    request is refused at once, and its inputs are never tokenised."""
    backend = BlocksInPrepare()
    settings = Settings.load(models=["fake"], batching={"max_queue_items": 4}, data_dir=tmp_path)
    container = build(settings, [backend])
    await container.start()
    try:
        held = [
            asyncio.create_task(container.embeddings.embed("fake", [EmbedInput((TextPart(f"t{i}"),))] * 2))
            for i in range(2)
        ]
        while backend.prepared_inputs < 4:
            await asyncio.sleep(0.01)
        with pytest.raises(ResourceExhausted):
            await asyncio.wait_for(container.embeddings.embed("fake", [EmbedInput((TextPart("late"),))]), 5)
        assert backend.prepared_inputs == 4  # the refused request was not prepared
        backend.release.set()
        results = await asyncio.gather(*held)
        assert [len(r) for r in results] == [2, 2]
        assert container.runtime.runners["fake"].admitted == 0
    finally:
        backend.release.set()
        await container.stop()


class InFlight:
    """n concurrent single-item requests, each from its own thread and client (created up front,
    so the requests are sent at once); each records its answer or its error."""

    def __init__(self, url: str, n: int) -> None:
        self.clients = [httpx.Client(base_url=url, timeout=20) for _ in range(n)]
        self.results: list[httpx.Response | BaseException] = [RuntimeError("no answer")] * n
        self.threads = [threading.Thread(target=self._one, args=(i,)) for i in range(n)]
        for t in self.threads:
            t.start()

    def _one(self, i: int) -> None:
        try:
            self.results[i] = self.clients[i].post(
                "/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": f"in flight {i}"}]}}
            )
        except BaseException as exc:
            self.results[i] = exc

    def join(self, timeout: float) -> list[httpx.Response | BaseException]:
        for t in self.threads:
            t.join(timeout)
        for c in self.clients:
            c.close()
        return self.results


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests() -> None:
    """SIGTERM with requests queued and on the device: all of them are answered 200 (the queue
    drains within the grace period), and the server exits cleanly."""
    with SubprocessServer(["--model", "fake:16:100", "--max-batch-items", "1"]) as server:
        requests = InFlight(server.url, 8)  # 0.8 s of work
        time.sleep(0.3)
        rc = server.terminate(timeout=30)
        results = requests.join(30)
    assert rc in CLEAN_EXIT
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in results), results


@pytest.mark.slow
def test_sigterm_answers_503_once_the_grace_period_is_over() -> None:
    """Too much queued to finish within shutdown_grace_s: what ran is answered 200, what was
    still queued gets 503 UNAVAILABLE; no client is left without an answer."""
    env = {"OMNIVEC_SHUTDOWN_GRACE_S": "0.5"}
    with SubprocessServer(["--model", "fake:16:300", "--max-batch-items", "1"], env=env) as server:
        requests = InFlight(server.url, 12)  # 3.6 s of work
        deadline = time.monotonic() + 20
        while value(scrape(server.url), "omnivec_admitted_inputs", model="fake") < 12:
            assert time.monotonic() < deadline, "the requests never arrived"
            time.sleep(0.02)
        started = time.monotonic()
        rc = server.terminate(timeout=30)
        results = requests.join(30)
        took = time.monotonic() - started
        with pytest.raises(httpx.TransportError):
            httpx.get(server.url + "/healthz", timeout=2)  # gone: no new connections
    assert rc in CLEAN_EXIT
    assert all(isinstance(r, httpx.Response) for r in results), results
    statuses = sorted(r.status_code for r in results if isinstance(r, httpx.Response))
    assert set(statuses) == {200, 503}, statuses
    for r in results:
        if isinstance(r, httpx.Response) and r.status_code == 503:
            assert google_error(r.json())["status"] == "UNAVAILABLE"
    assert took < 20, took


async def test_readyz_follows_the_container(tmp_path: Path) -> None:
    """Not ready before the models run, ready while they do, not ready once stopped."""
    container = build(thread_settings(data_dir=tmp_path))
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=0, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            before = await client.get("/readyz")
            assert before.status_code == 503 and before.json()["status"] == "starting"
            assert (await client.get("/healthz")).status_code == 200  # alive, just not ready
            await container.start()
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"status": "ready", "models": ["fake"]}
            await container.stop()
            assert (await client.get("/readyz")).status_code == 503
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def test_healthz_reports_a_forward_pass_that_does_not_end() -> None:
    """A forward pass longer than request_timeout_s (a hung device) makes /healthz fail, so an
    orchestrator restarts the process; it recovers when the pass ends."""
    settings = thread_settings(models=["stuck=fake:8:1500"], limits={"request_timeout_s": 0.3})
    with ThreadServer(settings) as server:
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        body = {"content": {"parts": [{"text": "slow"}]}}
        pending = threading.Thread(
            target=httpx.post, args=(server.url + "/v1beta/models/stuck:embedContent",), kwargs={"json": body}
        )
        pending.start()
        deadline = time.monotonic() + 10
        while (r := httpx.get(server.url + "/healthz")).status_code == 200:
            assert time.monotonic() < deadline, "the stall was never reported"
            time.sleep(0.05)
        assert r.status_code == 503 and r.json() == {"status": "stalled", "models": ["stuck"]}
        pending.join(10)
        deadline = time.monotonic() + 10
        while httpx.get(server.url + "/healthz").status_code != 200:
            assert time.monotonic() < deadline, "never recovered"
            time.sleep(0.05)


class CrashesInPrepare(FakeBackend):
    """Test double: the CPU step fails with an error nobody expected."""

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        raise RuntimeError("tokenizer exploded at /srv/secret/path")


def test_unexpected_errors_are_internal_with_a_request_id(caplog: pytest.LogCaptureFixture) -> None:
    """The body says INTERNAL and carries the same id as the x-request-id header and the log line
    with the traceback; nothing internal reaches the client."""

    def stamp(record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True

    caplog.handler.addFilter(stamp)
    with ThreadServer(thread_settings(), [CrashesInPrepare("fake", 8)]) as server:
        r = httpx.post(
            server.url + "/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": "x"}]}}
        )
    assert r.status_code == 500
    error = google_error(r.json())
    assert error["status"] == "INTERNAL"
    request_id = r.headers["x-request-id"]
    assert request_id in error["message"]
    assert {"@type": "type.googleapis.com/google.rpc.RequestInfo", "requestId": request_id} in error[
        "details"
    ]
    assert "exploded" not in r.text and "/srv/secret" not in r.text
    logged = [
        rec for rec in caplog.records if rec.exc_info and getattr(rec, "request_id", None) == request_id
    ]
    assert logged, "the traceback was not logged under the request id"
    exc_info = logged[0].exc_info
    assert exc_info is not None and "exploded" in str(exc_info[1])
