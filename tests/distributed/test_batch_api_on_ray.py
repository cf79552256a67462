"""The Batch API against `serve --ray` on a two-node cluster: jobs run as Ray Data pipelines
with the single-process server's results, progress and cancel, and exactly one result per
request after the server is SIGKILLed mid-job and started again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.ray_cluster import run_scenario

SCENARIO = Path(__file__).parent / "scenarios" / "batch_api_on_ray.py"
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario(tmp_path_factory.mktemp("batch-api-on-ray"), SCENARIO, timeout_s=840)


def test_jobs_on_ray_data_equal_the_single_process_server(observed: dict[str, Any]) -> None:
    p = observed["parity"]
    assert p["inline_states"] == ["JobState.JOB_STATE_SUCCEEDED"] * 2
    assert len(p["inline_cos"]) == 240 and min(p["inline_cos"]) >= 0.9999
    assert p["inline_dims"] == [128]
    on_ray, local = p["inline_stats"]
    assert on_ray == local and on_ray["successfulRequestCount"] == 240
    # The file job: the same keys in the same order, the same errors, metadata and token counts.
    assert p["file_keys"][0] == p["file_keys"][1] and len(p["file_keys"][0]) == 150
    assert min(p["file_cos"]) >= 0.9999
    assert p["file_errors"][0] == p["file_errors"][1] and len(p["file_errors"][0]) == 2
    assert p["file_metadata"][0] == p["file_metadata"][1]
    assert p["file_token_counts"][0] == p["file_token_counts"][1]
    assert p["file_stats"][0] == p["file_stats"][1]
    assert p["file_stats"][0]["failedRequestCount"] == 2


def test_batch_stats_advance_chunk_by_chunk(observed: dict[str, Any]) -> None:
    p = observed["parity"]
    for seen, total in ((p["inline_seen"], 240), (p["file_seen"], 150)):
        assert seen == sorted(seen) and seen[-1] == total
        # Counts move a committed chunk (100 items) at a time.
        assert all(n % 100 == 0 or n == total for n in seen)


def test_cancel_stops_the_pipeline(observed: dict[str, Any]) -> None:
    c = observed["cancel"]
    assert c["state"] == "JobState.JOB_STATE_CANCELLED"
    assert 0 < c["at_end"]["successfulRequestCount"] < 2000
    assert c["later"] == c["at_end"]  # nothing is committed after the cancel
    assert c["pipeline_processes"] == 0


def test_a_server_killed_mid_job_resumes_with_exactly_one_result_per_request(
    observed: dict[str, Any],
) -> None:
    r = observed["restart"]
    assert 0 < r["at_kill"]["successfulRequestCount"] < 600
    assert r["state"] == "JobState.JOB_STATE_SUCCEEDED"
    assert r["final"]["successfulRequestCount"] == 600
    assert r["final"]["failedRequestCount"] == 0
    assert r["results"] == 600 and r["vectors"] == 600
    assert r["max_diff"] <= 1e-6
    assert r["resumed_logged"]
