"""The ONNX Runtime engines against sentence-transformers on the real all-MiniLM-L6-v2 weights.

The model is exported and quantised once for this module, into a temporary directory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from omnivec.benchmark.corpus import build_corpus
from omnivec.errors import ModelLoadError
from omnivec.library import Embedder
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.inputs import ModelInput

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
# Texts the engines' own probe set does not contain: prose of mixed length, some past the limit.
_CORPUS = build_corpus(48, 4, 8, seed=7)
TEXTS = [*_CORPUS.texts, *_CORPUS.long_texts, *_CORPUS.short_texts, "word " * 400]


@pytest.fixture(scope="module")
def torch_backend() -> Backend:
    return load_backend(MODEL, "default")


@pytest.fixture(scope="module")
def reference(torch_backend: Backend) -> np.ndarray:
    """What sentence-transformers' own encode gives."""
    return np.asarray(torch_backend.model.encode(TEXTS, batch_size=16), dtype=np.float32)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def _embed(backend: Backend) -> np.ndarray:
    items = backend.prepare([ModelInput((t,)) for t in TEXTS], auto_truncate=True)
    # Unsorted, ragged batches on purpose: padding must not change a vector.
    batches = [items[i : i + 13] for i in range(0, len(items), 13)]
    return np.concatenate([backend.finalize(backend.forward(b)) for b in batches])


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_torch_engine_matches_sentence_transformers(torch_backend: Backend, reference: np.ndarray) -> None:
    assert _cosines(_embed(torch_backend), reference).min() >= 0.9999


@pytest.mark.parametrize(("engine", "threshold"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_onnx_engines_match_sentence_transformers(
    engine: str, threshold: float, reference: np.ndarray, cache_dir: Path
) -> None:
    backend = load_backend(MODEL, "default", engine=engine, cache_dir=cache_dir, threads=2)
    try:
        assert engine in backend.info.description
        cos = _cosines(_embed(backend), reference)
        assert cos.min() >= threshold, f"worst cosine {cos.min():.5f}"
    finally:
        backend.close()


def test_a_model_that_fails_the_probe_is_refused(cache_dir: Path, tmp_path: Path) -> None:
    load_backend(MODEL, "default", engine="onnx", cache_dir=cache_dir, threads=2).close()  # the export exists
    broken = tmp_path / "data"
    shutil.copytree(cache_dir, broken)
    [exported] = list((broken / "onnx").glob("*/model.onnx"))
    model = onnx.load(str(exported))
    weight = max(model.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 else 0)
    weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight) * 1.5, weight.name))
    onnx.save(model, str(exported))
    with pytest.raises(ModelLoadError, match="probe set"):
        load_backend(MODEL, "default", engine="onnx", cache_dir=broken, threads=2)


def test_library_serves_the_int8_engine(cache_dir: Path, reference: np.ndarray) -> None:
    with Embedder(
        ["default"], backend_engine={"*": "onnx-int8"}, data_dir=cache_dir, offline=True
    ) as embedder:
        assert "onnx-int8" in embedder.get_model(MODEL).description
        vectors = np.stack([e.values for e in embedder.batch_embed_contents(MODEL, TEXTS[:10])])
    assert _cosines(vectors, reference[:10]).min() >= 0.99
