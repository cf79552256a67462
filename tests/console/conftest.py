"""The console in a real headless Chromium (Debian's ``chromium``, installed by
``.ci/setup-browser``) driven by Playwright, against real servers on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from omnivec.bootstrap import build
from omnivec.settings import Settings
from tests.support.server import RunningServer, start_server

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KEY = "console-test-key"


# Package scope, not session: while sync_playwright is open its event loop counts as running in
# this thread, so asyncio.run() in any later test of the same process would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no system Chromium: run .ci/setup-browser")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The fake backend, 64 dimensions, taking every modality (PDFs included)."""
    data = tmp_path_factory.mktemp("console")
    server = start_server(build(Settings(models=["fake:64"], data_dir=data)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Forward passes of 150 ms and small checkpoints: a batch runs long enough to be watched."""
    data = tmp_path_factory.mktemp("console-slow")
    settings = Settings(models=["fake:64:150"], data_dir=data, batches={"chunk_items": 16})
    server = start_server(build(settings))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data = tmp_path_factory.mktemp("console-keyed")
    server = start_server(build(Settings(models=["fake:64"], data_dir=data, api_keys=[KEY])))
    yield server
    server.stop()


@dataclass
class Watched:
    """A page with everything it logged and every request it made."""

    page: Any
    base_url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    responses: list[tuple[str, int]] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base_url).netloc
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own
        ]


def watch(browser: Any, base_url: str) -> Watched:
    context = browser.new_context(base_url=base_url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    watched = Watched(page, base_url)

    def logged(message: Any) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    page.on("request", lambda r: watched.requests.append(r.url))
    page.on("response", lambda r: watched.responses.append((r.url, r.status)))
    return watched


@pytest.fixture
def console(browser: Any, console_server: RunningServer) -> Iterator[Watched]:
    watched = watch(browser, console_server.base_url)
    yield watched
    watched.page.context.close()
