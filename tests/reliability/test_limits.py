"""Limits, each with a clear error: body size (refused before it is read), body time, whole-request
deadline, inputs per request, requests in progress."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from .corpus import EMBED, VALID, text
from .harness import ThreadServer, google_error, open_connection, read_response, thread_settings

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def limited() -> Iterator[ThreadServer]:
    settings = thread_settings(limits={"max_body_bytes": LIMIT, "body_timeout_s": 1.0})
    with ThreadServer(settings) as server:
        yield server


def headers(length: bytes | None = None, chunked: bool = False) -> bytes:
    lines = [b"POST " + EMBED.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", b"Content-Type: application/json"]
    if length is not None:
        lines.append(b"Content-Length: " + length)
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_declared_length_over_limit_is_refused_before_any_body(limited: ThreadServer) -> None:
    """10 GB announced, not one byte sent: the answer comes anyway, so nothing was waited for."""
    with open_connection(limited.port) as sock:
        sock.sendall(headers(b"10000000000"))
        response = read_response(sock)
    assert response.status == 400
    assert f"exceeds the limit: {LIMIT} bytes" in google_error(response.json())["message"]
    assert response.headers.get("connection") == "close"


def test_chunked_body_is_refused_as_soon_as_it_passes_the_limit(limited: ThreadServer) -> None:
    """No Content-Length: the body is counted as it arrives and refused mid-stream; the final chunk
    is never sent, so the answer cannot have waited for the whole body."""
    chunk = b"x" * 8192
    with open_connection(limited.port) as sock:
        sock.sendall(headers(chunked=True))
        for _ in range(LIMIT // len(chunk) + 1):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = read_response(sock)
    assert response.status == 400
    assert "exceeds the limit" in google_error(response.json())["message"]


def test_body_at_the_limit_is_read(limited: ThreadServer) -> None:
    body = text("a")
    body = body[:-1] + b"," + b'"pad": "' + b"x" * (LIMIT - len(body) - 10) + b'"}'
    assert len(body) == LIMIT
    r = httpx.post(limited.url + EMBED, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_slow_body_gets_a_deadline(limited: ThreadServer) -> None:
    """Headers promise 100 bytes, 10 arrive, then nothing: refused after body_timeout_s."""
    with open_connection(limited.port) as sock:
        sock.sendall(headers(b"100") + b'{"content"')
        started = time.monotonic()
        response = read_response(sock)
    assert response.status == 400
    assert "not received within 1 s" in google_error(response.json())["message"]
    assert time.monotonic() - started < 10


def test_client_that_sends_nothing_is_let_go(limited: ThreadServer) -> None:
    with open_connection(limited.port) as sock:
        sock.sendall(headers(b"100"))
        response = read_response(sock)
    assert response.status == 400


def test_request_deadline_gives_504_and_frees_the_queue() -> None:
    """A forward pass slower than request_timeout_s: DEADLINE_EXCEEDED, and the abandoned inputs
    are released (nothing stays admitted)."""
    settings = thread_settings(
        models=["slow=fake:16:1500"], limits={"request_timeout_s": 0.3}, batching={"max_batch_items": 1}
    )
    with ThreadServer(settings) as server:
        r = httpx.post(
            server.url + "/v1beta/models/slow:batchEmbedContents",
            json={"requests": [{"content": {"parts": [{"text": f"t{i}"}]}} for i in range(3)]},
            timeout=30,
        )
        assert r.status_code == 504
        error = google_error(r.json())
        assert error["status"] == "DEADLINE_EXCEEDED" and "within 0.3 s" in error["message"]
        runner = server.container.runtime.runners["slow"]
        deadline = time.monotonic() + 10
        while runner.admitted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.admitted == 0


def test_request_bigger_than_the_queue_is_a_400_not_a_429() -> None:
    """Retrying could never help a request with more inputs than the queue holds."""
    settings = thread_settings(batching={"max_queue_items": 4})
    with ThreadServer(settings) as server:
        body = {"requests": [{"content": {"parts": [{"text": f"t{i}"}]}} for i in range(5)]}
        r = httpx.post(server.url + "/v1beta/models/fake:batchEmbedContents", json=body)
        assert r.status_code == 400
        assert "queues at most 4" in google_error(r.json())["message"]
        body["requests"] = body["requests"][:4]
        assert httpx.post(server.url + "/v1beta/models/fake:batchEmbedContents", json=body).status_code == 200


async def test_requests_in_progress_are_capped_but_probes_pass() -> None:
    settings = thread_settings(models=["fake:16:400"], limits={"max_concurrent_requests": 2})
    with ThreadServer(settings) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            slow = [asyncio.create_task(client.post(EMBED, content=text(f"slow {i}"))) for i in range(2)]
            await asyncio.sleep(0.15)  # both are in progress now
            refused = await client.post(EMBED, content=VALID)
            probe = await client.get("/readyz")
            done = await asyncio.gather(*slow)
        assert refused.status_code == 429
        error = google_error(refused.json())
        assert error["status"] == "RESOURCE_EXHAUSTED"
        assert refused.headers["retry-after"] == "1"
        assert any(d["@type"].endswith("RetryInfo") for d in error["details"])
        assert probe.status_code == 200
        assert [d.status_code for d in done] == [200, 200]


def test_header_only_connections_do_not_take_request_slots(limited: ThreadServer) -> None:
    """Connections that never finish their headers never reach the app, so they cannot hold the
    request slots (HTTP-level slowloris protection is a reverse proxy's job; see SECURITY.md)."""
    socks = [socket.create_connection(("127.0.0.1", limited.port), timeout=5) for _ in range(20)]
    try:
        for s in socks:
            s.sendall(b"POST " + EMBED.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        r = httpx.post(limited.url + EMBED, content=VALID, headers={"content-type": "application/json"})
        assert r.status_code == 200
    finally:
        for s in socks:
            s.close()


def test_body_bytes_in_flight_are_budgeted() -> None:
    """Two stalled clients hold the whole body budget: the next request gets 429 at once; once
    they are gone (disconnected), the budget is back."""
    settings = thread_settings(
        limits={"max_body_bytes": LIMIT, "max_body_bytes_in_flight": 2 * LIMIT, "body_timeout_s": 30}
    )
    with ThreadServer(settings) as server:
        stalled = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
        for sock in stalled:
            sock.sendall(headers(str(LIMIT).encode()))  # a full-size body announced, none sent
        time.sleep(0.2)
        refused = httpx.post(server.url + EMBED, content=VALID, headers={"content-type": "application/json"})
        assert refused.status_code == 429
        assert "Too much request data" in google_error(refused.json())["message"]
        assert refused.headers["retry-after"] == "1"
        for sock in stalled:
            sock.close()
        deadline = time.monotonic() + 10
        while (r := httpx.post(server.url + EMBED, content=VALID)).status_code == 429:
            assert time.monotonic() < deadline, "the budget was never given back"
            time.sleep(0.05)
        assert r.status_code == 200
