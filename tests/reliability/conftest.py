"""Fixtures: real servers on loopback ports, stopped at the end of their scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .corpus import CORPUS_MAX_BODY_BYTES
from .harness import ThreadServer, thread_settings


@pytest.fixture(scope="module")
def corpus_server() -> Iterator[ThreadServer]:
    """The fake 64-dim model behind the real app, with the corpus's body limit."""
    settings = thread_settings(limits={"max_body_bytes": CORPUS_MAX_BODY_BYTES})
    with ThreadServer(settings) as server:
        yield server
