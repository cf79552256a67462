"""The command line and the in-process library run the same services as the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omnivec.cli.main import main
from omnivec.library import Embedder
from omnivec.types import TextPart
from tests.support.server import RunningServer


def run_cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_is_fast_and_light() -> None:
    # --help must not import torch, transformers or the web stack.
    probe = "import sys; from omnivec.cli.main import build_parser; build_parser(); print(sorted(m for m in ('torch','transformers','fastapi','uvicorn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_embed_in_process(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run_cli(
        "embed", "hello", "world", "--model", "fake:16", "--use", "fake", "--dim", "8", "--task-type", "clustering",
        capsys=capsys,
    )  # fmt: skip
    assert code == 0
    body = json.loads(out)
    assert [len(e["values"]) for e in body["embeddings"]] == [8, 8]


def test_embed_remote(capsys: pytest.CaptureFixture[str], fake_server: RunningServer) -> None:
    code, out, _ = run_cli(
        "embed", "hello", "--remote", fake_server.base_url, "--use", "gemini-embedding-001", capsys=capsys
    )
    assert code == 0 and len(json.loads(out)["embeddings"][0]["values"]) == 64


def test_models_lists_aliases(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli("models", "--model", "fake:8", "--alias", "my-name=fake", capsys=capsys)
    rows = {r["name"]: r for r in json.loads(out)["models"]}
    assert code == 0
    # Listed from the settings alone: names, what each alias resolves to, and the source.
    assert rows["models/my-name"]["aliasOf"] == "models/fake"
    assert rows["models/gemini-embedding-001"]["aliasOf"] == "models/fake"
    assert rows["models/fake"]["source"] == "fake:8" and rows["models/fake"]["aliasOf"] is None


def test_user_errors_one_line_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli("embed", "x", "--model", "fake", "--use", "nope", capsys=capsys)
    assert code == 4 and "not found" in err and "Traceback" not in err
    code, _, err = run_cli("serve", "--host", "0.0.0.0", "--model", "fake", capsys=capsys)
    assert code == 2 and "without API keys" in err
    code, _, err = run_cli("embed", "x", "--model", "/nonexistent/model/dir", capsys=capsys)
    assert code == 3 and "does not exist" in err


def test_sync_embedder(tmp_path: Path) -> None:
    with Embedder(["fake:32"], data_dir=tmp_path) as embedder:
        one = embedder.embed_content("gemini-embedding-001", "hello", output_dimensionality=16)
        again = embedder.embed_content("fake", [TextPart("hello")], output_dimensionality=16)
        many = embedder.batch_embed_contents("fake", ["a", "b", "c"], task_type="RETRIEVAL_DOCUMENT")
        assert one.values.shape == (16,)
        np.testing.assert_array_equal(one.values, again.values)
        assert len(many) == 3
        assert {m.name for m in embedder.list_models()} >= {"fake", "gemini-embedding-001"}
        assert embedder.get_model("gemini-embedding-2").alias_of == "fake"
