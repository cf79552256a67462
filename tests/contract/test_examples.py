"""Every script in examples/ runs, through the official SDK, against one real server with the
default model, and prints what its docstring promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.server import RunningServer

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(server: RunningServer, name: str) -> str:
    env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": server.base_url}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=EXAMPLES,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_example_is_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")} - {"omnivec_client.py"}
    assert scripts == set(CHECKS)


def semantic_similarity(out: str) -> None:
    assert "most similar pair: 'What is the meaning of life?' and 'What is the purpose of existence?'" in out


def semantic_search(out: str) -> None:
    assert "Which tower was built in Paris in 1889? -> [0]" in out
    assert "How do plants turn sunlight into energy? -> [1]" in out
    assert "What is the tallest mountain in the world? -> [3]" in out


def rag_retrieval(out: str) -> None:
    assert "best passage: Refunds are issued within 14 days" in out and "context:\n- Refunds" in out


def classification(out: str) -> None:
    assert "accuracy: 3/3" in out


def clustering(out: str) -> None:
    assert "each topic in its own cluster: True" in out


def anomaly_detection(out: str) -> None:
    assert "anomalies: ['Quantum chromodynamics describes the strong interaction between quarks']" in out


def vector_database(out: str) -> None:
    assert "stored 4 vectors of 384 dimensions" in out
    assert "top result: Solar panels convert sunlight into electricity." in out


def matryoshka_dimensions(out: str) -> None:
    rows = [line.split() for line in out.splitlines()[1:]]
    dims = [int(r[0]) for r in rows]
    correlation = [float(r[3]) for r in rows]
    assert dims[0] == 384 and dims[-1] == 4 and [int(r[1]) for r in rows] == [d * 4 for d in dims]
    assert correlation[0] == 1.0 and correlation == sorted(correlation, reverse=True)
    assert float(rows[0][2]) == 1.0


def multimodal_search(out: str) -> None:
    # The default model is text-only: the example says so and how to serve one that is not.
    assert "does not take images here" in out and "omnivec serve --model" in out


CHECKS = {f"{check.__name__}.py": check for check in (
    semantic_similarity, semantic_search, rag_retrieval, classification, clustering,
    anomaly_detection, vector_database, matryoshka_dimensions, multimodal_search,
)}  # fmt: skip


@pytest.mark.parametrize("script", sorted(CHECKS))
def test_example(minilm_server: RunningServer, script: str) -> None:
    CHECKS[script](run_example(minilm_server, script))


def test_multimodal_search_with_a_model_that_takes_images(
    serve: Callable[..., RunningServer], tmp_path: Path
) -> None:
    """The success path, on a tiny random-weight CLIP: which image wins is meaningless with
    random weights, but the example runs through and names one of its images."""
    from tests.support.tiny_multimodal_models import build_clip

    server = serve(backends=None, models=[f"clip={build_clip(tmp_path / 'clip')}"], device="cpu")
    out = run_example(server, "multimodal_search.py")
    assert re.search(r"best image for 'a plain red square': (red|green|blue)$", out.strip())
