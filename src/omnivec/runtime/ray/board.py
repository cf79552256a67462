"""The replica board: a small named actor every replica reports to once a second (queue depth,
load, a forward pass that hangs). The API process reads it for /readyz, /healthz and /metrics;
a replica that stops reporting (killed, its node gone) drops off after ``STALE_S``."""

from __future__ import annotations

import time
from typing import Any

import ray

from omnivec.runtime.replicas import ReplicaReport

REPORT_INTERVAL_S = 1.0
STALE_S = 3.0 * REPORT_INTERVAL_S


@ray.remote(num_cpus=0, max_restarts=-1)
class ReplicaBoard:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[float, ReplicaReport]] = {}

    def report(self, row: ReplicaReport) -> None:
        self._rows[row.replica_id] = (time.monotonic(), row)

    def fresh(self, max_age_s: float = STALE_S) -> list[ReplicaReport]:
        now = time.monotonic()
        self._rows = {k: v for k, v in self._rows.items() if now - v[0] <= max_age_s}
        return [row for _, row in self._rows.values()]


def board_name(app_prefix: str) -> str:
    return f"{app_prefix}-replica-board"


def open_board(name: str, namespace: str) -> Any:
    """The board of this server's deployments, created by the API process (or found again)."""
    return ReplicaBoard.options(name=name, namespace=namespace, get_if_exists=True).remote()  # type: ignore[attr-defined]
