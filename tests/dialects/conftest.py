"""Reference vectors from the Gemini route, for comparing every other dialect with it."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from tests.support.server import RunningServer


def gemini_vectors(server: RunningServer, model: str, texts: list[str], **config: Any) -> np.ndarray:
    """The vectors ``batchEmbedContents`` gives for ``texts`` with ``config`` (camelCase keys)."""
    body = {
        "requests": [
            {"model": f"models/{model}", "content": {"parts": [{"text": t}]}, "embedContentConfig": config}
            for t in texts
        ]
    }
    r = httpx.post(f"{server.base_url}/v1beta/models/{model}:batchEmbedContents", json=body, timeout=60)
    r.raise_for_status()
    return np.array([e["values"] for e in r.json()["embeddings"]], dtype=np.float32)


def assert_same_vectors(got: Any, want: np.ndarray) -> None:
    got = np.asarray(got, dtype=np.float32)
    assert got.shape == want.shape
    cos = (got * want).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.9999, cos


@pytest.fixture(scope="session")
def minilm_tokenizer() -> Any:
    """The served MiniLM's own tokenizer, loaded independently of the server."""
    from transformers import AutoTokenizer

    from omnivec.runtime.backends.loader import bundled_minilm_dir

    return AutoTokenizer.from_pretrained(str(bundled_minilm_dir()), local_files_only=True)


def one_token_words(tokenizer: Any, count: int) -> list[str]:
    """``count`` distinct words that the tokenizer keeps whole (one token each, alone or in a
    sentence), so a text of them can be cut at any word by its token count."""
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    words = [w for w, _ in vocab if w.isalpha() and w.isascii() and w.islower() and len(w) >= 4]
    chosen = words[:count]
    assert len(chosen) == count
    assert len(tokenizer(" ".join(chosen), add_special_tokens=False)["input_ids"]) == count
    return chosen


@pytest.fixture(scope="session")
def minilm_model(minilm_server: RunningServer) -> str:
    return minilm_server.container.runtime.model_ids()[0]


@pytest.fixture(scope="session")
def fake_model(fake_server: RunningServer) -> str:
    return fake_server.container.runtime.model_ids()[0]
