"""The ONNX Runtime engines against sentence-transformers on the real all-MiniLM-L6-v2 weights.

The model is exported and quantised once for this module, into a temporary directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from google import genai
from google.genai import types
from onnx import numpy_helper

from omnivec.benchmark.corpus import build_corpus
from omnivec.errors import ModelLoadError
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.inputs import ModelInput
from tests.support.server import RunningServer

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
# Texts the engines' own probe set does not contain: prose of mixed length, some past the limit.
_CORPUS = build_corpus(48, 4, 8, seed=7)
TEXTS = [*_CORPUS.texts, *_CORPUS.long_texts, *_CORPUS.short_texts, "word " * 400]


@pytest.fixture(scope="module")
def reference(minilm_reference: Any) -> np.ndarray:
    """What sentence-transformers' own encode gives."""
    return np.asarray(minilm_reference.encode(TEXTS, batch_size=16), dtype=np.float32)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def _embed(backend: Backend, *, bucketed: bool) -> np.ndarray:
    """Vectors in TEXTS order, from batches of 13: in corpus order (ragged on purpose: padding
    must not change an exact vector) or bucketed by length as the server's batcher does."""
    items = backend.prepare([ModelInput((t,)) for t in TEXTS], auto_truncate=True)
    order = sorted(range(len(items)), key=lambda i: items[i].cost) if bucketed else list(range(len(items)))
    vectors = np.zeros((len(items), backend.info.dimensions), dtype=np.float32)
    for start in range(0, len(order), 13):
        chunk = order[start : start + 13]
        vectors[chunk] = backend.finalize(backend.forward([items[i] for i in chunk]))
    return vectors


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# int8 quantises activations per batch (dynamic quantisation), so its vectors move a little with
# the company they keep; it is held to its bound on batches as the server forms them.
@pytest.mark.parametrize(
    ("engine", "threshold", "bucketed"), [("onnx", 0.9999, False), ("onnx-int8", 0.99, True)]
)
def test_onnx_engines_match_sentence_transformers(
    engine: str, threshold: float, bucketed: bool, reference: np.ndarray, cache_dir: Path
) -> None:
    backend = load_backend(MODEL, "default", engine=engine, cache_dir=cache_dir, threads=2)
    try:
        assert engine in backend.info.description
        cos = _cosines(_embed(backend, bucketed=bucketed), reference)
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


def test_the_int8_engine_serves_the_sdk_over_http(
    cache_dir: Path, reference: np.ndarray, serve: Callable[..., RunningServer]
) -> None:
    server = serve(models=["default"], backend_engine={"*": "onnx-int8"}, data_dir=cache_dir, offline=True)
    client = genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))
    assert "onnx-int8" in (client.models.get(model=MODEL).description or "")
    result = client.models.embed_content(model=MODEL, contents=TEXTS[:10])
    vectors = np.array([e.values for e in result.embeddings or []], dtype=np.float32)
    assert _cosines(vectors, reference[:10]).min() >= 0.99
