"""Real servers for the reliability tests: uvicorn in a thread (fast) or ``omnivec serve`` in a
subprocess (signals, RSS, logs), always on a loopback port, always stopped within a bound."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPResponse
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from omnivec.api.server import bound_port, build_server
from omnivec.bootstrap import Container, build
from omnivec.runtime.backends.base import Backend
from omnivec.settings import Settings

START_TIMEOUT_S = 60.0


class ThreadServer:
    """The real app under the real uvicorn server class, in a background thread."""

    def __init__(self, settings: Settings, backends: list[Backend] | None = None) -> None:
        self.container: Container = build(settings, backends)
        self.server = build_server(self.container)
        self._thread = threading.Thread(target=self.server.run, name="test-uvicorn", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self.port = bound_port(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        data_dir = self.container.settings.data_dir
        if data_dir.name.startswith(_SCRATCH_PREFIX):
            shutil.rmtree(data_dir, ignore_errors=True)


def thread_settings(**overrides: Any) -> Settings:
    """Settings for an in-process server: loopback, a free port, the fake model and a fresh data
    directory (removed with the server) unless given."""
    values: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "models": ["fake"], "log_level": "WARNING"}
    values.update(overrides)
    values.setdefault("data_dir", Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX)))
    return Settings.load(**values)


_SCRATCH_PREFIX = "omnivec-reliability-"


@dataclass
class SubprocessServer:
    """``python -m omnivec serve ARGS`` with its output captured; the port is read from its log."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    preexec_fn: Callable[[], None] | None = None  # e.g. resource limits for the server process
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0
    _log: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None
    _scratch: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log(self) -> str:
        return "".join(self._log)

    def start(self) -> SubprocessServer:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **self.env}
        cmd = [sys.executable, "-m", "omnivec", "serve", "--host", "127.0.0.1", "--port", "0", *self.args]
        if "--data-dir" not in self.args:  # never the user's own data directory
            self._scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX))
            cmd += ["--data-dir", str(self._scratch)]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, preexec_fn=self.preexec_fn
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if m := re.search(r"omnivec listening on http://127\.0\.0\.1:(\d+)", self.log):
                self.port = int(m[1])
                wait_ready(self.url)
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not start:\n{self.log[-3000:]}")

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self._log.append(line.decode("utf-8", "replace"))

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code (killed after ``timeout``)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (a crash, an OOM kill, a power cut for the process)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def __enter__(self) -> SubprocessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.terminate()
        finally:
            self.kill()
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)


def wait_ready(url: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become ready")


# --- raw HTTP, for what httpx will not send (dot segments, lying lengths, slow bodies) --------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def raw_request(port: int, data: bytes, *, timeout: float = 10.0) -> RawResponse:
    """Send ``data`` as-is on a fresh connection and read one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock)


def read_response(sock: socket.socket) -> RawResponse:
    response = HTTPResponse(sock)
    response.begin()
    body = response.read()
    return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


@contextlib.contextmanager
def open_connection(port: int, timeout: float = 10.0) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def google_error(body: Any) -> dict[str, Any]:
    """The ``error`` object of a Google-format error body, checked for shape."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert (
        isinstance(error["code"], int)
        and isinstance(error["message"], str)
        and isinstance(error["status"], str)
    )
    assert "Traceback" not in error["message"]
    return error


# --- /metrics --------------------------------------------------------------------------------

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    r = httpx.get(url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
