"""`omnivec batch run` as a Ray Data pipeline on a two-node cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ray_cluster import run_scenario

SCENARIOS = Path(__file__).parent / "scenarios"
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.timeout(900)]


def test_ray_data_run_is_exactly_once_and_equal_to_single_process(tmp_path: Path) -> None:
    result = run_scenario(tmp_path, SCENARIOS / "ray_data_batch.py", timeout_s=840)
    assert result["clean_rc"] == 0, result["clean_err"]
    for run in ("clean", "killed"):
        stats = result[run]
        assert stats is not None, result[f"{run}_err" if run == "killed" else "clean_err"]
        assert stats["keys"] == 20_000
        assert stats["missing"] == 0
        assert stats["duplicates"] == 0
        assert stats["max_diff"] <= 1e-6
        assert stats["error_keys"] == ["bad-empty", "bad-model"]
    # A model actor's process really died mid-job, and the run still finished.
    assert result["killed_pid"] is not None
    assert result["killed_rc"] == 0, result["killed_err"]
    assert result["parquet_rc"] == 0, result["parquet_err"]
    assert result["parquet_rows"] == 300
    assert result["parquet_max_diff"] <= 1e-6
    assert result["folder_rc"] == 0
    assert result["folder_keys"] == [f"docs/doc{i}.txt" for i in range(5)]
    assert result["folder_max_diff"] <= 1e-6
