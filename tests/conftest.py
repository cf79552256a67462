"""Shared fixtures: settings in a tmp data dir, real servers on loopback, the bundled MiniLM."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Servers started by tests serve eagerly: compiling the bf16 engine takes both cores of a small
# machine for half a minute per start. The tests of compiling turn it on where they need it.
os.environ.setdefault("OMNIVEC_ENGINE_COMPILE", "false")

from omnivec.bootstrap import Container, build
from omnivec.runtime.backends.base import Backend
from omnivec.settings import Settings
from tests.support.server import RunningServer, start_server


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("models", ["fake:32"])
        overrides.setdefault("data_dir", tmp_path / "data")
        return Settings(**overrides)

    return make


@pytest.fixture
def serve(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., RunningServer]]:
    """Start real servers for one test; all are stopped afterwards."""
    started: list[RunningServer] = []

    def start(backends: list[Backend] | None = None, **overrides: Any) -> RunningServer:
        server = start_server(build(make_settings(**overrides), backends))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session-data")


@pytest.fixture(scope="session")
def fake_server(session_data_dir: Path) -> Iterator[RunningServer]:
    """One shared server on the fake backend (64 dims) for wire-format tests."""
    server = start_server(build(Settings(models=["fake:64"], data_dir=session_data_dir / "fake")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def minilm_server(session_data_dir: Path) -> Iterator[RunningServer]:
    """One shared server on the real bundled all-MiniLM-L6-v2 weights."""
    server = start_server(build(Settings(models=["default"], data_dir=session_data_dir / "minilm")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def minilm_container(minilm_server: RunningServer) -> Container:
    return minilm_server.container


@pytest.fixture(scope="session")
def minilm_reference() -> Any:
    """sentence-transformers' own model, loaded independently, as the parity reference."""
    from sentence_transformers import SentenceTransformer

    from omnivec.runtime.backends.loader import bundled_minilm_dir

    return SentenceTransformer(str(bundled_minilm_dir()), device="cpu", local_files_only=True)
