"""Slow clients: headers and bodies have deadlines on every route (the upload routes included),
and one client address can hold only so many body slots, while other clients keep being served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from .corpus import EMBED, VALID
from .harness import ThreadServer, google_error, read_response, thread_settings


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadServer]:
    settings = thread_settings(
        limits={"header_timeout_s": 0.5, "body_timeout_s": 2.0, "max_body_slots_per_client": 2}
    )
    with ThreadServer(settings) as running:
        yield running


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: ThreadServer) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST " + EMBED.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        for byte in b"X-Slow: 1":
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.1)
        assert closed_by_server(sock)


def test_an_idle_connection_that_never_sends_a_request_is_closed(server: ThreadServer) -> None:
    with connect(server.port) as sock:
        assert closed_by_server(sock)


def test_the_upload_start_route_has_a_body_deadline(server: ThreadServer) -> None:
    head = (
        b"POST /upload/v1beta/files HTTP/1.1\r\nHost: x\r\nX-Goog-Upload-Protocol: resumable\r\n"
        b"X-Goog-Upload-Command: start\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    with connect(server.port) as sock:
        sock.sendall(head + b'{"file": ')  # and nothing more
        response = read_response(sock)
    assert response.status == 400
    assert "was not received within 2 s" in google_error(response.json())["message"]


def test_body_slots_are_capped_per_client_address_and_others_are_served(server: ThreadServer) -> None:
    head = b"POST " + EMBED.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    slow = [connect(server.port) for _ in range(2)]
    try:
        for sock in slow:
            sock.sendall(head + b"Content-Length: %d\r\n\r\n" % len(VALID))  # the body never comes
        time.sleep(0.1)
        with connect(server.port) as third:
            third.sendall(head + b"Content-Length: %d\r\n\r\n" % len(VALID) + VALID)
            refused = read_response(third)
        assert refused.status == 429, refused.body
        assert "already sending 2 request bodies" in google_error(refused.json())["message"]
        with connect(server.port, source="127.0.0.2") as other:  # another address is served
            other.sendall(head + b"Content-Length: %d\r\n\r\n" % len(VALID) + VALID)
            assert read_response(other).status == 200
    finally:
        for sock in slow:
            sock.close()
    # The slow bodies timed out and gave their slots back.
    deadline = time.monotonic() + 10
    while httpx.post(server.url + EMBED, content=VALID).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
