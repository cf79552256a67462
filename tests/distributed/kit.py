"""What cluster scenarios share: start ``omnivec serve`` as a real subprocess, wait until it is
ready, talk to it with the official SDK, and hand the observations back to the test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from google import genai
from google.genai import types

ADDRESS = os.environ.get("RAY_ADDRESS", "127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(
        self,
        args: list[str],
        *,
        ready_timeout_s: float = 480,
        data_dir: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._client: genai.Client | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        data_dir = data_dir or tempfile.mkdtemp(prefix="omnivec-data-", dir=os.environ.get("SCENARIO_WORK"))
        self.data_dir = data_dir
        self.log = Path(data_dir) / f"server-{self.port}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "omnivec",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                data_dir,
                *args,
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        self.wait_ready(ready_timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"omnivec serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"omnivec serve was not ready in {timeout_s}s: {self.log.read_text()[-3000:]}")

    def client(self) -> genai.Client:
        # One client per server, kept alive: the SDK closes its HTTP client when collected.
        if self._client is None:
            self._client = genai.Client(
                api_key="unused", http_options=types.HttpOptions(base_url=self.base_url)
            )
        return self._client

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_cli(args: list[str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnivec", *args], capture_output=True, text=True, timeout=timeout_s
    )


def emit(result: dict[str, Any]) -> None:
    Path(os.environ["SCENARIO_OUT"]).write_text(json.dumps(result))
