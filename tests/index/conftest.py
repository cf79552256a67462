"""Vector stores under test: every adapter the registry knows that runs without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from omnivec.index.base import VectorStore
from omnivec.index.registry import open_vector_store

# URL of each store under test; Edge in a temporary directory, qdrant-client in-process.
STORE_URLS = {"edge": "edge", "qdrant-client": "memory"}


@pytest.fixture(params=sorted(STORE_URLS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_vector_store(STORE_URLS[request.param], tmp_path)
    yield opened
    opened.close()
