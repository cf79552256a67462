"""``omnivec serve`` as a process: the start-up banner (at every log level), one access line per
request in one format (text or JSON) that never carries keys or content, no progress bars in a
log, and ``/docs`` served with its assets from the package (no CDN)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
KEY = "secret-key-for-log-test"


class ServeProcess:
    def __init__(self, tmp_path: Path, *flags: str) -> None:
        self.log = tmp_path / "server.log"
        self._stderr = self.log.open("wb")  # a file, not a terminal
        self.process = subprocess.Popen(
            [sys.executable, "-m", "omnivec", "serve", "--model", "fake:8", "--port", "0",
             "--data-dir", str(tmp_path / "data"), *flags],
            stdout=subprocess.DEVNULL, stderr=self._stderr, env={**os.environ},
        )  # fmt: skip
        self.base_url = self._wait_for_banner()

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log.read_text())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                raise AssertionError(self.log.read_text())
            time.sleep(0.2)
        raise AssertionError("no banner: " + self.log.read_text())

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=60)
        self._stderr.close()
        return self.log.read_text()


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[ServeProcess]:
    server = ServeProcess(tmp_path, "--log-format", "json", "--api-key", KEY)
    yield server
    if server.process.poll() is None:
        server.stop()


def test_json_access_log_and_offline_docs(json_server: ServeProcess) -> None:
    secret_text = "confidential sentence"
    with httpx.Client(base_url=json_server.base_url, timeout=60) as client:
        body = {"requests": [{"content": {"parts": [{"text": secret_text}]}}] * 3}
        ok = client.post(f"/v1beta/models/fake:batchEmbedContents?key={KEY}", json=body)
        assert ok.status_code == 200
        bad = client.post("/v1beta/models/nope:embedContent", json={}, headers={"x-goog-api-key": KEY})
        assert bad.status_code == 400  # an unknown model is INVALID_ARGUMENT, as at Google
        page = client.get("/docs")
        assert page.status_code == 200 and "cdn" not in page.text.lower()
        for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text):
            assert client.get(asset).status_code == 200, asset
        assert client.get("/openapi.json").status_code == 200
    log = json_server.stop()
    lines = [json.loads(line) for line in log.splitlines()]  # every line is one JSON object
    banner = next(line for line in lines if line["logger"] == "omnivec.announce")
    assert banner["url"] == json_server.base_url and banner["auth"] is True and banner["models"] == ["fake"]
    access = [line for line in lines if line["logger"] == "omnivec.access"]
    embed = next(a for a in access if a["path"].endswith(":batchEmbedContents"))
    assert embed["status"] == 200 and embed["items"] == 3 and embed["method"] == "POST"
    assert (
        embed["tokens"] > 0
        and embed["latency_ms"] >= 0
        and re.fullmatch(r"[0-9a-f]{16}", embed["request_id"])
    )
    assert any(a["status"] == 400 and a["path"] == "/v1beta/models/nope:embedContent" for a in access)
    assert KEY not in log and secret_text not in log
    assert "it/s" not in log and "%|" not in log  # no progress bar in a log file


def test_text_log_banner_shows_at_warning_level(tmp_path: Path) -> None:
    server = ServeProcess(tmp_path, "--log-level", "warning")
    httpx.get(server.base_url + "/healthz", timeout=30)
    log = server.stop()
    assert "omnivec listening on" in log and "auth: off" in log and "data dir:" in log
    assert "[-]" not in log
    assert "omnivec.access" not in log  # requests are INFO
