"""`omnivec serve --ray` on a two-node cluster, driven by the official SDK. One cluster and one
server serve every check of this module (starting them is most of the time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.ray_cluster import run_scenario

SCENARIO = Path(__file__).parent / "scenarios" / "serve_on_ray.py"
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_scenario(tmp_path_factory.mktemp("serve-on-ray"), SCENARIO, timeout_s=840)


def test_a_model_that_cannot_load_stops_the_server_with_its_error(observed: dict[str, Any]) -> None:
    rc, last_line, traceback = observed["broken"]
    assert rc == 3 and not traceback  # unavailable: the model cannot be loaded
    assert last_line == [
        "omnivec: model broken did not start on the Ray cluster: Model directory /no/such/model does not exist."
    ]


def test_sdk_vectors_on_ray_equal_the_single_process_server(observed: dict[str, Any]) -> None:
    result = observed["parity"]
    assert len(result["plain"]) == 6
    assert min(result["plain"]) >= 0.9999
    assert min(result["query"]) >= 0.9999
    assert result["shapes"] == [128]
    on_ray, local = result["errors"]
    assert on_ray == local
    assert on_ray["error"]["status"] == "INVALID_ARGUMENT"
    assert "autoTruncate" in on_ray["error"]["message"]
    status, body = result["readyz"]
    assert status == 200 and body["models"] == ["all-MiniLM-L6-v2"]
    # Both replicas report their queue.
    assert len(result["replica_lines"]) == 2


def test_killing_replicas_under_load_loses_no_request(observed: dict[str, Any]) -> None:
    result = observed["kill"]
    assert result["bad"] == []
    assert result["hung"] == 0
    assert len(result["killed"]) == 2
    assert result["outcomes"].get("ok", 0) > 0
    # The deployment replaced what was killed and serves again.
    assert result["replicas_after"] == 2
    assert result["status_after"] == 200
