"""The torch engines (fp32, bf16, auto) on the real all-MiniLM-L6-v2 weights: parity with
sentence-transformers in fp32, the automatic choice, its fallback, and the remembered verdicts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from google import genai
from google.genai import types

from omnivec.errors import ModelLoadError
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.engines import EngineRequest, auto_engine
from omnivec.runtime.backends.loader import bundled_minilm_dir, load_backend
from omnivec.runtime.backends.parity import cosines
from omnivec.runtime.inputs import ModelInput
from tests.support.server import RunningServer

pytestmark = pytest.mark.slow

MODEL = "all-MiniLM-L6-v2"
# Texts the probe set does not contain, short and long (bf16 is emulated, and slow, on CPUs
# without native bf16, so the set is small).
TEXTS = [
    "A man is eating food.",
    "The new movie is awesome, I loved every minute of it.",
    "Quantum computers use qubits, which can hold a superposition of states.",
    "import numpy as np\nprint(np.arange(10).reshape(2, 5))",
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "Refund policy: items may be returned within 30 days of delivery with the original receipt. " * 4,
]


def _native_cpu_bf16() -> bool:
    """Read here independently of the code under test."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    flags = {f for line in text.splitlines() if line.startswith("flags") for f in line.split(":")[1].split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@pytest.fixture(scope="module")
def reference(minilm_reference: Any) -> np.ndarray:
    return np.asarray(minilm_reference.encode(TEXTS), dtype=np.float32)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engines")


def _embed(backend: Backend) -> np.ndarray:
    items = backend.prepare([ModelInput((t,)) for t in TEXTS], auto_truncate=True)
    return np.asarray(backend.finalize(backend.forward(items)), dtype=np.float32)


def test_bf16_engine_matches_fp32_sentence_transformers(reference: np.ndarray, data_dir: Path) -> None:
    backend = load_backend(MODEL, "default", engine="bf16", cache_dir=data_dir)
    assert backend.info.engine == "bf16"
    assert "[bf16]" in backend.info.description
    vectors = _embed(backend)
    cos = cosines(vectors, reference)
    assert cos.min() >= 0.9999, f"worst cosine {cos.min():.6f}"
    # Pooling and normalisation ran in fp32: unit vectors to fp32 rounding.
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_a_second_load_reuses_the_probe_verdict(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    load_backend(MODEL, "default", engine="bf16", cache_dir=data_dir)  # probed or remembered
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="omnivec"):
        load_backend(MODEL, "default", engine="bf16", cache_dir=data_dir)
    assert "probe verdict of an earlier start" in caplog.text
    assert list((data_dir / "engine-probes").glob("*.json"))


def test_fp32_engine_is_exactly_sentence_transformers(reference: np.ndarray) -> None:
    backend = load_backend(MODEL, "default", engine="fp32")
    assert backend.info.engine == "fp32"
    assert cosines(_embed(backend), reference).min() >= 0.999999


def test_auto_follows_the_cpus_bf16_support(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="omnivec"):
        backend = load_backend(MODEL, "default", engine="auto", cache_dir=data_dir)
    expected = "bf16" if _native_cpu_bf16() else "fp32"
    assert backend.info.engine == expected
    reason = "the CPU has" if expected == "bf16" else "neither avx512_bf16 nor amx_bf16"
    assert f"engine auto for {MODEL}: {expected}" in caplog.text
    assert reason in caplog.text


def test_auto_on_a_native_device_takes_bf16_when_the_probe_passes_and_falls_back_when_not(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = load_backend(MODEL, "default", engine="fp32")
    request = EngineRequest("auto", data_dir, 2, bundled_minilm_dir())
    native = (True, "the device computes bf16")
    assert auto_engine(base, request, native).info.engine == "bf16"
    # No bf16 vector reaches cosine 1.0 to fp32 on every probe: the real probe fails.
    impossible = EngineRequest("auto", data_dir, 2, bundled_minilm_dir(), min_cosine=1.0)
    with caplog.at_level(logging.WARNING, logger="omnivec"):
        chosen = auto_engine(base, impossible, native)
    assert chosen.info.engine == "fp32"
    assert "fp32, because bf16 reached cosine 0.99" in caplog.text
    assert "below the 1.0 required" in caplog.text


def test_forced_bf16_below_the_threshold_refuses_to_start(data_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"below the 1\.0 required; serve it with engine fp32 or auto"):
        load_backend(MODEL, "default", engine="bf16", cache_dir=data_dir, engine_min_cosine=1.0)


def test_the_engine_is_reported_by_models_get_and_the_sdk_gets_bf16_vectors(
    data_dir: Path, reference: np.ndarray, serve: Callable[..., RunningServer]
) -> None:
    server = serve(models=["default"], backend_engine={"*": "bf16"}, data_dir=data_dir, offline=True)
    raw = httpx.get(f"{server.base_url}/v1beta/models/{MODEL}").json()
    assert raw["omnivec"]["engine"] == "bf16"
    client = genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=server.base_url))
    assert "[bf16]" in (client.models.get(model=MODEL).description or "")
    result = client.models.embed_content(model=MODEL, contents=TEXTS)
    vectors = np.array([e.values for e in result.embeddings or []], dtype=np.float32)
    assert cosines(vectors, reference).min() >= 0.9999


def test_the_default_server_reports_its_engine(minilm_server: RunningServer) -> None:
    raw = httpx.get(f"{minilm_server.base_url}/v1beta/models/{MODEL}").json()
    assert raw["omnivec"]["engine"] == ("bf16" if _native_cpu_bf16() else "fp32")
