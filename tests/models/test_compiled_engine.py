"""The bf16 engine compiled by TorchInductor on a CPU (``runtime/backends/compiled.py``): it takes
over from the eager engine with the same vectors, serves every batch size without compiling
again, leaves the eager engine serving where it cannot be built, and keeps ``omnivec serve``
unready (answering all the same) until it serves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from torch._dynamo.utils import counters

from omnivec.runtime.backends.base import Backend, CompileState
from omnivec.runtime.backends.device import in_passing_thread, set_torch_threads
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.backends.precision import MixedPrecisionTextBackend
from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.inputs import ModelInput, PreparedItem

pytestmark = pytest.mark.slow

TEXTS = [
    f"Paragraph {i}: {'the committee reviewed the quarterly figures and ' * (1 + i % 9)}adjourned."
    for i in range(40)
] + ["A", "Short one.", "def f(x): return x * 2"]


def _vectors(backend: Backend | _Fp32View, texts: Sequence[str], batch: int, threads: int) -> np.ndarray:
    """The backend's vectors, ``batch`` texts per pass, on a thread running ``threads``."""

    def run() -> np.ndarray:
        set_torch_threads(threads)
        rows = []
        for start in range(0, len(texts), batch):
            items = backend.prepare(
                [ModelInput((t,)) for t in texts[start : start + batch]], auto_truncate=True
            )
            rows.append(np.asarray(backend.finalize(backend.forward(items))))
        return np.concatenate(rows)

    return in_passing_thread(run)


class _Fp32View:
    """The bf16 backend's model computed in fp32 (the base class's pass, on the same weights)."""

    def __init__(self, backend: MixedPrecisionTextBackend) -> None:
        self.backend = backend
        self.prepare = backend.prepare
        self.finalize = backend.finalize

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        return SentenceTransformerBackend.forward(self.backend, items)


def _wait_compiled(backend: MixedPrecisionTextBackend, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while backend.compile_state is CompileState.COMPILING and time.monotonic() < deadline:
        time.sleep(0.2)


def test_the_compiled_engine_serves_the_same_vectors_at_every_batch_size_without_compiling_again() -> None:
    backend = load_backend("all-MiniLM-L6-v2", "default", engine="bf16", offline=True)
    fp32 = load_backend("all-MiniLM-L6-v2", "default", engine="fp32", offline=True)
    assert isinstance(backend, MixedPrecisionTextBackend)
    assert backend.compile_state is CompileState.OFF  # only when asked
    eager = _vectors(backend, TEXTS, 3, 1)
    weights = _vectors(_Fp32View(backend), TEXTS, 8, 1)  # the same weights, in fp32

    before = counters["stats"]["unique_graphs"]
    backend.start_compiling([1])
    assert backend.compile_state is CompileState.COMPILING
    served_meanwhile = _vectors(backend, TEXTS[:3], 3, 1)  # the eager engine answers while it builds
    np.testing.assert_allclose(served_meanwhile, eager[:3], atol=1e-6)
    _wait_compiled(backend)
    assert backend.compile_state is CompileState.COMPILED

    graphs = counters["stats"]["unique_graphs"]
    assert graphs - before == 1  # one per thread count, its probe included
    reference = _vectors(fp32, TEXTS, 8, 1)
    for batch in (1, 3, 8, len(TEXTS)):  # a single text too: sizes of 1 are not a graph of their own
        compiled = _vectors(backend, TEXTS, batch, 1)
        cosines = (compiled * reference).sum(axis=1) / (
            np.linalg.norm(compiled, axis=1) * np.linalg.norm(reference, axis=1)
        )
        assert cosines.min() >= 0.9999, (batch, cosines.min())
        if batch == 3:  # computed differently: not the eager engine's vectors
            assert not np.array_equal(compiled, eager)
    assert counters["stats"]["unique_graphs"] == graphs  # no pass compiled anything
    # Freezing copied what it needed: the model's own weights, the eager engine's, are intact.
    np.testing.assert_array_equal(_vectors(_Fp32View(backend), TEXTS, 8, 1), weights)


def test_without_a_cpp_compiler_the_eager_engine_serves_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    backend = load_backend("all-MiniLM-L6-v2", "default", engine="bf16", offline=True)
    assert isinstance(backend, MixedPrecisionTextBackend)
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++, c++ or clang++ to be found
    backend.start_compiling([1])
    assert backend.compile_state is CompileState.OFF
    assert _vectors(backend, TEXTS[:2], 2, 1).shape == (2, 384)


def test_serve_is_unready_but_answering_while_it_compiles_then_ready(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {**os.environ, "OMNIVEC_ENGINE_COMPILE": "true", "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "omnivec", "serve", "--port", "0", "--engine", "bf16",
             "--data-dir", str(tmp_path / "data")],
            stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        body = {"content": {"parts": [{"text": "How do I reset my password?"}]}}
        with httpx.Client(base_url=found.group(1), timeout=60) as client:
            probe = client.get("/readyz")
            assert probe.status_code == 503, probe.text
            assert probe.json()["status"] == "compiling"
            assert probe.json()["compilingModels"] == ["all-MiniLM-L6-v2"]
            first = client.post("/v1beta/models/all-MiniLM-L6-v2:embedContent", json=body)
            assert first.status_code == 200  # answered meanwhile, by the eager engine
            deadline = time.monotonic() + 600
            while (probe := client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.5)
            assert probe.json() == {"status": "ready", "models": ["all-MiniLM-L6-v2"]}
            after = client.post("/v1beta/models/all-MiniLM-L6-v2:embedContent", json=body)
            assert after.status_code == 200
        a, b = (np.asarray(r.json()["embedding"]["values"]) for r in (first, after))
        assert float(a @ b) / float(np.linalg.norm(a) * np.linalg.norm(b)) >= 0.9999
        # Built for every thread count its executors use (2/1 on two cores), before it served.
        assert re.search(
            r"engine bf16 for all-MiniLM-L6-v2: compiled in \d+ s for [\d/]+ torch threads", log.read_text()
        )
    finally:
        process.terminate()
        process.wait(timeout=60)
