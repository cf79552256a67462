"""Every test here starts a real local Ray cluster (a head and a second node)."""

from __future__ import annotations

import pytest

from tests.support.ray_cluster import skip_unless_available


@pytest.fixture(autouse=True)
def _ray_cluster_possible() -> None:
    skip_unless_available()
