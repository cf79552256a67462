"""Every Python and shell snippet in README.md runs as written against a real server with the
default model (only the address is this test server's). A snippet that needs something this
machine cannot give (a model hub, a multimodal model, the long-running server itself) says so
just above it: ``<!-- snippet: skip (reason) -->``; only those are skipped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.slow
README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8080"
_BLOCK = re.compile(
    r"(?:<!-- snippet: (?P<marker>[^>]*?) -->\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```", re.S
)


@dataclass(frozen=True)
class Snippet:
    lang: str
    code: str
    line: int
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.lang}-line{self.line}"


def snippets() -> list[Snippet]:
    text = README.read_text()
    found = []
    for m in _BLOCK.finditer(text):
        marker = m["marker"]
        skip = None
        if marker is not None:
            assert marker.startswith("skip (") and marker.endswith(")"), f"unknown snippet marker {marker!r}"
            skip = marker[len("skip (") : -1]
        found.append(Snippet(m["lang"], m["code"], text.count("\n", 0, m.start("code")) + 1, skip))
    return found


def test_most_snippets_run() -> None:
    found = snippets()
    assert sum(s.skip is None for s in found) >= 6 and len(found) >= 10


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """What the README's snippets refer to: a requests.jsonl of {key, request} lines."""
    lines = [{"key": f"k{i}", "request": {"content": {"parts": [{"text": f"text {i}"}]}}} for i in range(3)]
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return tmp_path


@pytest.mark.parametrize("snippet", snippets(), ids=lambda s: s.id)
def test_snippet(snippet: Snippet, minilm_server: RunningServer, workdir: Path) -> None:
    if snippet.skip:
        pytest.skip(snippet.skip)
    code = snippet.code.replace(DOCUMENTED_URL, minilm_server.base_url)
    env = {
        **os.environ,
        # `omnivec` is this environment's; in-process commands keep their data in the test's folder.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "OMNIVEC_DATA_DIR": str(workdir / "data"),
    }
    command = (
        [sys.executable, "-c", code]
        if snippet.lang == "python"
        else ["bash", "-e", "-o", "pipefail", "-c", code]
    )
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, f"README line {snippet.line}:\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
