"""Vectors equal sentence-transformers' own encode of the same model (cosine >= 0.9999).

The real bundled all-MiniLM-L6-v2 weights, plus tiny random-weight models of the other pooling
families (CLS, last-token with left padding), all loaded through omnivec's own loader.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnivec.bootstrap import Container, build
from omnivec.library import to_embed_input
from omnivec.runtime.backends.loader import load_backend
from omnivec.settings import Settings
from tests.support import tiny_text_models

pytestmark = pytest.mark.slow

SENTENCES = [
    "The cat sat on the mat.",
    "A dog is playing in the park.",
    "The stock market fell sharply today.",
    "How does the human brain work?",
    "Mars is often called the red planet.",
    "x",
    "A much longer passage that goes on for a while, " * 12,
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def embed(container: Container, model: str, texts: list[str], **options: Any) -> np.ndarray:
    async def run() -> list[Any]:
        await container.start()
        try:
            inputs = [to_embed_input(t, **options) for t in texts]
            return await container.embeddings.embed(model, inputs)
        finally:
            await container.stop()

    return np.stack([e.values for e in asyncio.run(run())])


# The shared server's runtime serves callers on any event loop: each caller's futures are
# resolved on the caller's own loop.
def test_bundled_minilm_matches_sentence_transformers(
    minilm_container: Container, minilm_reference: Any
) -> None:
    async def run() -> np.ndarray:
        results = await minilm_container.embeddings.embed(
            "gemini-embedding-001", [to_embed_input(s) for s in SENTENCES]
        )
        return np.stack([e.values for e in results])

    ours = asyncio.run(run())
    reference = minilm_reference.encode(SENTENCES, convert_to_numpy=True)
    assert ours.shape == reference.shape == (len(SENTENCES), 384)
    assert cosines(ours, reference).min() >= 0.9999


def test_truncated_dimensions_match_reference_cut(minilm_container: Container, minilm_reference: Any) -> None:
    async def run() -> np.ndarray:
        results = await minilm_container.embeddings.embed(
            "all-MiniLM-L6-v2", [to_embed_input(s, output_dimensionality=128) for s in SENTENCES]
        )
        return np.stack([e.values for e in results])

    ours = asyncio.run(run())
    reference = minilm_reference.encode(SENTENCES, truncate_dim=128, normalize_embeddings=True)
    assert ours.shape == (len(SENTENCES), 128)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines(ours, reference).min() >= 0.9999


def test_similar_sentences_score_higher_than_unrelated(minilm_container: Container) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awful."]

    async def run() -> np.ndarray:
        results = await minilm_container.embeddings.embed(
            "all-MiniLM-L6-v2", [to_embed_input(t) for t in texts]
        )
        return np.stack([e.values for e in results])

    v = asyncio.run(run())
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3


def test_long_input_truncated_to_model_limit(minilm_container: Container, minilm_reference: Any) -> None:
    long = "Embedding servers truncate inputs to the model's limit. " * 80

    async def run() -> Any:
        [result] = await minilm_container.embeddings.embed("all-MiniLM-L6-v2", [to_embed_input(long)])
        return result

    result = asyncio.run(run())
    assert result.truncated and result.token_count == 256
    reference = minilm_reference.encode([long])
    assert cosines(result.values[None, :], reference)[0] >= 0.9999


@pytest.mark.parametrize(
    ("builder", "expected_pooling"),
    [
        (tiny_text_models.build_bert_mean, "mean"),
        (tiny_text_models.build_xlmr_cls, "cls"),
        (tiny_text_models.build_qwen3_lasttoken, "lasttoken"),
    ],
)
def test_tiny_models_of_each_pooling_family(
    tmp_path: Path, builder: Callable[[Path], Path], expected_pooling: str
) -> None:
    from sentence_transformers import SentenceTransformer

    directory = builder(tmp_path)
    reference = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
    assert expected_pooling in str(reference[1]).lower()
    texts = ["the cat sat on the mat", "which planet is red", "a", "the stock market fell today " * 3]
    backend = load_backend("tiny", str(directory), device="cpu", offline=True)
    container = build(Settings(models=["fake"], data_dir=tmp_path / "data"), [backend])
    ours = embed(container, "tiny", texts)
    assert cosines(ours, reference.encode(texts)).min() >= 0.9999


def test_qwen3_prompt_convention_is_detected_and_applied(tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    directory = tiny_text_models.build_qwen3_lasttoken(tmp_path)
    backend = load_backend("qwen3-tiny", str(directory), device="cpu", offline=True)
    assert backend.info.prompt_style == "qwen3"
    container = build(Settings(models=["fake"], data_dir=tmp_path / "data"), [backend])
    ours = embed(container, "qwen3-tiny", ["which planet is red"], task_type="RETRIEVAL_QUERY")
    reference = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
    expected = reference.encode_query(["which planet is red"])  # uses the model's own "query" prompt
    assert cosines(ours, expected).min() >= 0.9999


def test_missing_model_offline_says_what_to_do(tmp_path: Path) -> None:
    from omnivec.errors import ModelLoadError

    with pytest.raises(ModelLoadError) as info:
        load_backend("x", "someone/not-downloaded-model", offline=True)
    assert "omnivec pull someone/not-downloaded-model" in info.value.message
    with pytest.raises(ModelLoadError):
        load_backend("x", str(tmp_path / "missing-dir"), offline=True)


def test_tampered_bundled_weights_are_refused(tmp_path: Path) -> None:
    from omnivec.errors import ModelLoadError
    from omnivec.runtime.backends.loader import BUNDLED_MINILM_SHA256, verify_sha256

    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the real weights")
    with pytest.raises(ModelLoadError):
        verify_sha256(fake, BUNDLED_MINILM_SHA256)


def test_models_resource_never_shows_a_local_path(tmp_path: Path) -> None:
    import httpx

    from tests.support.server import start_server

    directory = tiny_text_models.build_bert_mean(tmp_path / "private-place")
    settings = Settings(models=[f"mine={directory}"], data_dir=tmp_path / "data", offline=True, device="cpu")
    server = start_server(build(settings))
    try:
        one = httpx.get(f"{server.base_url}/v1beta/models/mine")
        listed = httpx.get(f"{server.base_url}/v1beta/models")
    finally:
        server.stop()
    assert one.status_code == listed.status_code == 200
    assert one.json()["omnivec"]["source"] == f"local directory {directory.name}"
    for body in (one.text, listed.text):
        assert str(tmp_path) not in body and "private-place" not in body
