"""The dialect registry: discovery, and which dialect claims each colliding path."""

from __future__ import annotations

import pytest

from omnivec.api.dialects import dialect_for, registry

STAINLESS = {b"x-stainless-lang": b"python"}


def test_every_dialect_is_discovered_and_gemini_is_asked_last() -> None:
    names = [d.name for d in registry()]
    assert sorted(names) == ["cohere", "gemini", "ollama", "openai", "tei", "vertex"]
    assert names[-1] == "gemini"


@pytest.mark.parametrize(
    ("method", "path", "headers", "dialect"),
    [
        ("GET", "/v1/models", {}, "gemini"),
        ("GET", "/v1beta/models/gemini-embedding-001", {}, "gemini"),
        ("POST", "/v1beta/models/m:embedContent", {}, "gemini"),
        ("POST", "/v1/embeddings", {}, "openai"),
        ("GET", "/v1beta/openai/models", {}, "openai"),
        ("POST", "/openai/v1/batches", {}, "openai"),
        ("POST", "/v1/files", {}, "gemini"),
        ("POST", "/v1/files", STAINLESS, "openai"),
        ("GET", "/v1/batches/abc", {}, "gemini"),
        ("GET", "/v1/batches/abc", STAINLESS, "openai"),
        ("POST", "/api/embed", {}, "ollama"),
        ("GET", "/api/tags", {}, "ollama"),
        ("POST", "/embed", {}, "tei"),
        ("POST", "/", {}, "tei"),
        ("GET", "/", {}, "gemini"),
        ("GET", "/info", {}, "tei"),
        ("POST", "/v1/embed", {}, "gemini"),  # Gemini's version-stripped path, not TEI's
        ("POST", "/v2/embed", {}, "cohere"),
        ("POST", "/v1/rerank", {}, "cohere"),
        ("POST", "/v1beta1/publishers/google/models/m:predict", {}, "vertex"),
        ("POST", "/v1/projects/p/locations/l/publishers/google/models/m:embedContent", {}, "vertex"),
        ("GET", "/healthz", {}, "gemini"),
    ],
)
def test_claims(method: str, path: str, headers: dict[bytes, bytes], dialect: str) -> None:
    assert dialect_for(method, path, headers).name == dialect
