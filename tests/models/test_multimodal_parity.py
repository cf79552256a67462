"""Parity with sentence-transformers' own encode, wherever sentence-transformers can load the
model here (without torchvision it cannot build the EmbeddingGemma 2 or Qwen3-VL processors;
their text vectors are checked against the text-only checkpoint instead)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omnivec.library import Embedder
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.inputs import ModelInput
from tests.models.conftest import audio, image

COSINE = 0.9999
TEXTS = ["a photo of a red cat", "which planet is red?", "x"]


def ours(backend: Backend, parts: list[Any]) -> np.ndarray:
    return backend.finalize(
        backend.forward(backend.prepare([ModelInput((p,)) for p in parts], auto_truncate=True))
    )


def theirs(model: Any, inputs: list[Any], **kwargs: Any) -> np.ndarray:
    # One input per call: sentence-transformers pads batches on the tokenizer's side, and these
    # checks are about the vectors, not about its batching.
    rows = [model.encode([x], normalize_embeddings=True, convert_to_numpy=True, **kwargs)[0] for x in inputs]
    return np.stack(rows)


def assert_parallel(a: np.ndarray, b: np.ndarray) -> None:
    cosines = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cosines.min() >= COSINE, cosines


def st_model(directory: Path, text_kwargs: dict[str, Any] | None = None) -> Any:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.transformer import Transformer

    if text_kwargs is None:
        return SentenceTransformer(str(directory), device="cpu", local_files_only=True)
    module = Transformer(str(directory), processing_kwargs={"text": text_kwargs})
    return SentenceTransformer(modules=[module], device="cpu")


def test_clip_text_and_image(tiny_dir: Callable[[str], Path], tiny_backend: Callable[..., Backend]) -> None:
    reference = st_model(tiny_dir("clip"))
    backend = tiny_backend("clip")
    assert_parallel(ours(backend, TEXTS), theirs(reference, TEXTS))
    images = [image(0), image(1, (64, 30))]
    assert_parallel(ours(backend, images), theirs(reference, [i.image for i in images]))


@pytest.mark.parametrize("name", ["siglip", "siglip2"])
def test_siglip_text_and_image(
    tiny_dir: Callable[[str], Path], tiny_backend: Callable[..., Backend], name: str
) -> None:
    # SigLIP's text tower was trained on text padded to 64 tokens; sentence-transformers pads to
    # the longest input unless told, so the reference is told.
    reference = st_model(tiny_dir(name), {"padding": "max_length", "max_length": 64})
    backend = tiny_backend(name)
    assert_parallel(ours(backend, TEXTS), theirs(reference, TEXTS))
    images = [image(0), image(1, (64, 30))]
    assert_parallel(ours(backend, images), theirs(reference, [i.image for i in images]))


def test_clap_text_and_audio(tiny_dir: Callable[[str], Path], tiny_backend: Callable[..., Backend]) -> None:
    reference = st_model(tiny_dir("clap"))
    backend = tiny_backend("clap")
    assert_parallel(ours(backend, TEXTS), theirs(reference, TEXTS))
    # Exactly one 2 s window: no padding, where the two differ (zeros vs CLAP's repeat-padding).
    clips = [audio(0, seconds=2.0, rate=48_000), audio(1, seconds=2.0, rate=48_000)]
    expected = theirs(reference, [{"array": c.samples, "sampling_rate": 48_000} for c in clips])
    assert_parallel(ours(backend, clips), expected)


def test_embeddinggemma2_text_only_checkpoint(
    tiny_dir: Callable[[str], Path], tiny_backend: Callable[..., Backend]
) -> None:
    reference = st_model(tiny_dir("eg2-text"))
    backend = tiny_backend("eg2-text")
    assert_parallel(ours(backend, TEXTS), theirs(reference, TEXTS))
    # ... and the full model's text vectors are the same vectors.
    assert_parallel(ours(tiny_backend("eg2"), TEXTS), theirs(reference, TEXTS))


def test_embeddinggemma2_task_prompts_through_the_service(
    tiny_dir: Callable[[str], Path], tmp_path: Path
) -> None:
    reference = st_model(tiny_dir("eg2-text"))
    with Embedder([f"eg2={tiny_dir('eg2')}"], data_dir=tmp_path, device="cpu", offline=True) as embedder:
        query = embedder.embed_content("eg2", TEXTS[1], task_type="RETRIEVAL_QUERY").values
        document = embedder.embed_content("eg2", TEXTS[0], task_type="RETRIEVAL_DOCUMENT").values
        cut = embedder.embed_content(
            "eg2", TEXTS[1], task_type="RETRIEVAL_QUERY", output_dimensionality=8
        ).values
    assert_parallel(query[None], reference.encode_query([TEXTS[1]], normalize_embeddings=True))
    assert_parallel(document[None], reference.encode_document([TEXTS[0]], normalize_embeddings=True))
    expected = reference.encode_query([TEXTS[1]], truncate_dim=8, normalize_embeddings=True)
    assert cut.shape == (8,)
    assert_parallel(cut[None], expected)
