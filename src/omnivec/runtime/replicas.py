"""What a model replica that runs outside this process says about itself (queue, load, health),
for readiness, liveness and /metrics. The in-process runtime has none: its runners are read
directly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplicaReport:
    model_id: str
    replica_id: str
    node_id: str
    queue_depth: int
    admitted: int
    items: int
    batches: int
    forward_seconds: float
    # Seconds the replica's current forward pass has been running; 0 when idle.
    forward_running_for: float
