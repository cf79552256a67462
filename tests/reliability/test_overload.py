"""Overload, end to end: a real server subprocess driven at several times its capacity answers
only 200 or 429 (at once, with RetryInfo and Retry-After), every 200 carries its own request's
vectors, memory stays bounded, and it serves normally once the load is gone."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import psutil
import pytest

from omnivec.runtime.backends.fake import FakeBackend
from omnivec.runtime.inputs import ModelInput

from .harness import SubprocessServer, google_error

# Capacity: 8 items per 50 ms forward pass = 160 items/s = 40 requests/s of 4 items.
SERVER_ARGS = [
    "--model",
    "fake:64:50",
    "--max-batch-items",
    "8",
    "--max-queue-items",
    "32",
    "--max-wait-ms",
    "2",
]
CLIENTS = 48
ITEMS_PER_REQUEST = 4
LOAD_SECONDS = 3.0
# Growth of the server's RSS allowed under load; the bodies in flight are ~0.5 MB in all.
RSS_GROWTH_LIMIT = 64 * 1024 * 1024

_reference = FakeBackend("fake", 64)


def expected_vectors(texts: list[str]) -> np.ndarray:
    """What the deterministic fake model gives for these texts (the server adds no prompt)."""
    prepared = _reference.prepare([ModelInput((t,)) for t in texts], auto_truncate=True)
    return _reference.finalize(_reference.forward(prepared))


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    mismatches: int = 0
    bad_429s: int = 0
    checked: int = 0


class Probe(threading.Thread):
    """Samples the server while it is loaded: its RSS, and how long one request takes, from a
    thread of its own (the load generator's event loop would blur the timing). Timing is
    reported, not asserted."""

    def __init__(self, server: SubprocessServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.process = psutil.Process(server.pid)
        self.peak_rss = 0
        self.latency: dict[int, list[float]] = {}
        self.stop_event = threading.Event()

    def run(self) -> None:
        body = {
            "requests": [{"content": {"parts": [{"text": f"probe {i}"}]}} for i in range(ITEMS_PER_REQUEST)]
        }
        with httpx.Client(base_url=self.server.url, timeout=30) as client:
            while not self.stop_event.is_set():
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
                sent = time.perf_counter()
                r = client.post("/v1beta/models/fake:batchEmbedContents", json=body)
                self.latency.setdefault(r.status_code, []).append(time.perf_counter() - sent)
                self.stop_event.wait(0.02)

    def summary(self) -> str:
        return ", ".join(
            f"{status}: n={len(v)} p50 {np.median(v) * 1000:.0f} ms p99 {np.quantile(v, 0.99) * 1000:.0f} ms"
            for status, v in sorted(self.latency.items())
        )


async def client_loop(client: httpx.AsyncClient, worker: int, until: float, tally: Tally) -> None:
    n = 0
    while time.monotonic() < until:
        texts = [
            f"worker {worker} request {n} item {i} " + "lorem ipsum " * 150 for i in range(ITEMS_PER_REQUEST)
        ]
        n += 1
        body = {"requests": [{"content": {"parts": [{"text": t}]}} for t in texts]}
        r = await client.post("/v1beta/models/fake:batchEmbedContents", json=body)
        tally.statuses[r.status_code] += 1
        if r.status_code == 200:
            got = np.array([e["values"] for e in r.json()["embeddings"]], dtype=np.float32)
            tally.checked += 1
            if got.shape != (ITEMS_PER_REQUEST, 64) or not np.allclose(
                got, expected_vectors(texts), atol=1e-6
            ):
                tally.mismatches += 1
        elif r.status_code == 429:
            error = google_error(r.json())
            retry = [d for d in error.get("details", ()) if d["@type"].endswith("google.rpc.RetryInfo")]
            if error["status"] != "RESOURCE_EXHAUSTED" or not retry or r.headers.get("retry-after") != "1":
                tally.bad_429s += 1
            await asyncio.sleep(0.01)


async def drive(url: str) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        until = time.monotonic() + LOAD_SECONDS
        await asyncio.gather(*(client_loop(client, w, until, tally) for w in range(CLIENTS)))
    return tally


@pytest.mark.slow
def test_overload_sheds_with_429_and_recovers() -> None:
    with SubprocessServer(SERVER_ARGS) as server:
        warm = httpx.post(
            server.url + "/v1beta/models/fake:embedContent", json={"content": {"parts": [{"text": "warm"}]}}
        )
        assert warm.status_code == 200
        baseline = psutil.Process(server.pid).memory_info().rss
        probe = Probe(server)
        probe.start()
        try:
            tally = asyncio.run(drive(server.url))
        finally:
            probe.stop_event.set()
            probe.join(30)

        assert set(tally.statuses) <= {200, 429}, tally.statuses
        assert tally.statuses[429] > 0, "the load did not exceed capacity"
        assert tally.statuses[200] > 0
        assert tally.mismatches == 0, f"{tally.mismatches} of {tally.checked} answers had other vectors"
        assert tally.bad_429s == 0
        assert set(probe.latency) <= {200, 429}
        assert probe.peak_rss - baseline < RSS_GROWTH_LIMIT, (baseline, probe.peak_rss)

        # Load gone: a normal request is served, with its own vector.
        after = httpx.post(
            server.url + "/v1beta/models/fake:embedContent",
            json={"content": {"parts": [{"text": "after the storm"}]}},
            timeout=10,
        )
        assert after.status_code == 200
        assert np.allclose(
            after.json()["embedding"]["values"], expected_vectors(["after the storm"])[0], atol=1e-6
        )
        print(
            f"\noverload: {dict(tally.statuses)} in {LOAD_SECONDS:g}s; RSS {baseline / 2**20:.0f} MiB -> "
            f"peak {probe.peak_rss / 2**20:.0f} MiB; probe {probe.summary()}"
        )
