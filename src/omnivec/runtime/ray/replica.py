"""One replica of a model's Serve deployment: omnivec's own backend and dynamic batcher in a
Ray actor. Requests that reach the same replica are batched together exactly as in a single
process; the replica reports its queue to the board and fails its health check when a forward
pass hangs, so Serve replaces it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray import serve

from omnivec.errors import OmnivecError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.inputs import ModelInput
from omnivec.runtime.ray.board import REPORT_INTERVAL_S
from omnivec.runtime.ray.transport import RemoteFailure, Reply
from omnivec.runtime.replicas import ReplicaReport
from omnivec.runtime.runtime import Runtime
from omnivec.types import Priority

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What a replica loads: ``load_backend(model_id, source, **options)``."""

    model_id: str
    source: str
    options: dict[str, Any]


class ModelReplica:
    def __init__(
        self, spec: ModelSpec, limits: BatchLimits, board: tuple[str, str], stall_after_s: float
    ) -> None:
        from omnivec.runtime.backends.loader import load_backend

        backend = load_backend(spec.model_id, spec.source, **spec.options)
        self.model_id = spec.model_id
        self.runtime = Runtime([backend], limits)
        self.runtime.start()
        self.stall_after_s = stall_after_s
        context = serve.get_replica_context()
        self.replica_id = context.replica_id.unique_id if context else "local"
        self.node_id = ray.get_runtime_context().get_node_id()
        self._board_name, self._board_namespace = board
        self._stopping = threading.Event()
        self._reporter = threading.Thread(
            target=self._report_loop, name="omnivec-replica-report", daemon=True
        )
        self._reporter.start()

    def info(self) -> BackendInfo:
        return self.runtime.info(self.model_id)

    async def embed(self, inputs: Sequence[ModelInput], auto_truncate: bool, priority: int) -> Reply:
        try:
            with self.runtime.admit(self.model_id, len(inputs)):
                return await self.runtime.embed(
                    self.model_id, inputs, auto_truncate=auto_truncate, priority=Priority(priority)
                )
        except OmnivecError as exc:
            return RemoteFailure.of(exc)

    def check_health(self) -> None:
        """Serve calls this periodically; raising marks the replica unhealthy and replaces it."""
        if self.runtime.stalled(self.stall_after_s):
            raise RuntimeError(f"a forward pass of {self.model_id} has run for over {self.stall_after_s:g}s")

    def report(self) -> ReplicaReport:
        runner = self.runtime.runners[self.model_id]
        stats = runner.stats
        return ReplicaReport(
            model_id=self.model_id,
            replica_id=self.replica_id,
            node_id=self.node_id,
            queue_depth=runner.batcher.depth,
            admitted=runner.admitted,
            items=stats.items,
            batches=stats.batches,
            forward_seconds=stats.forward_seconds,
            forward_running_for=runner.forward_running_for(),
        )

    def _report_loop(self) -> None:
        board = None
        while not self._stopping.wait(REPORT_INTERVAL_S):
            try:
                if board is None:
                    board = ray.get_actor(self._board_name, namespace=self._board_namespace)
                board.report.remote(self.report())
            except Exception:  # the board restarts or is gone with its server; try again later
                board = None

    def __del__(self) -> None:
        self._stopping.set()
        with contextlib.suppress(Exception):
            self.runtime.stop()
