"""The GPU check's own logic, run on CPU with the fake backend: ceilings, servers with one and
two replicas, and the table it writes. (On a GPU machine ``bench/gpu.sh`` runs it on CUDA.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from bench.gpu import main

pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_its_rows_and_writes_a_table(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code = main(
        [
            "--device", "cpu", "--model", "fake:32", "--engines", "fp32", "fp16", "--replicas", "1", "2",
            "--paragraphs", "30", "--rounds", "1", "--clients", "2", "--out", str(out),
            "--data-dir", str(tmp_path / "data"),
        ]
    )  # fmt: skip
    assert code == 0
    rows = json.loads((out / "gpu.json").read_text())["rows"]
    assert [r["row"] for r in rows] == [
        "ceiling fp32",
        "ceiling fp16",
        "omnivec HTTP fp32, 1 replica",
        "omnivec HTTP fp32, 2 replicas",
        "omnivec HTTP fp16, 1 replica",
        "omnivec HTTP fp16, 2 replicas",
    ]
    assert rows[0]["x_fp32_ceiling"] == 1.0
    assert all(r["tokens_per_s"] > 0 for r in rows)
    assert "| omnivec HTTP fp32, 2 replicas |" in (out / "gpu.md").read_text()


def test_the_gpu_script_parses() -> None:
    script = Path(__file__).resolve().parents[2] / "bench" / "gpu.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert "set -euo pipefail" in script.read_text()
