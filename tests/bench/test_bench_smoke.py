"""The benchmark harness end to end on a tiny corpus with the fake backend: it starts a real
server, drives it, and writes its table, JSON and chart. Numbers are not checked here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnivec.benchmark.command import main

pytestmark = pytest.mark.slow


def test_bench_writes_its_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    code = main(
        [
            "--quick", "--model", "fake:32", "--paragraphs", "40", "--long", "4", "--short", "8",
            "--rounds", "1", "--soak-seconds", "1", "--concurrency", "1", "4", "--no-infinity",
            "--out", str(out), "--data-dir", str(tmp_path / "data"),
        ]
    )  # fmt: skip
    assert code == 0
    assert {p.name for p in out.iterdir()} >= {"latest.txt", "latest.json", "latest.png"}
    data = json.loads((out / "latest.json").read_text())
    keys = {row["key"] for row in data["throughput"]}
    assert {
        "ceiling/paragraphs",
        "library/paragraphs",
        "omnivec/paragraphs/c1",
        "omnivec/paragraphs/c4",
        "batchapi/paragraphs",
    } <= keys
    assert all(row["tokens_per_s"] > 0 for row in data["throughput"])
    assert {row["key"] for row in data["latency"]} == {"ceiling", "omnivec/c1", "omnivec/c16"}
    assert data["memory"][0]["idle_start_mib"] > 0
    assert data["memory"][0]["burst_peak_mib"] > 0 and data["memory"][0]["burst_clients"] == 64
    assert data["memory"][0]["cold_start_s"] > 0
    assert data["machine"]["usable_cores"] >= 1
    assert any("Infinity: skipped" in note for note in data["notes"])
    assert (out / "latest.png").read_bytes().startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert "ceiling: fp32 model forward alone" in printed
    assert "Cold start" in printed and "burst of 64 clients" in printed
