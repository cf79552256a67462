"""``RayRuntime``: the Runtime of the API process when models are Ray Serve deployments.

The API process keeps what a single process does in front of the runtime (admission, the
service, the API); ``embed`` sends the already prompted inputs to the model's deployment handle,
and a replica runs the CPU step, its batcher and the forward pass. A replica that dies while it
holds a request gets that request retried once on another replica; if that fails too the caller
gets 503 UNAVAILABLE with RetryInfo, never a hang or a 500. Serve starts a replacement.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import ray
from ray import serve
from ray.serve.config import ProxyLocation

from omnivec.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted, Unavailable
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.inputs import EncodedItem, ModelInput
from omnivec.runtime.ray.board import REPORT_INTERVAL_S, board_name, open_board
from omnivec.runtime.ray.cluster import NAMESPACE, ClusterError
from omnivec.runtime.ray.replica import ModelReplica, ModelSpec
from omnivec.runtime.ray.transport import RemoteFailure
from omnivec.runtime.replicas import ReplicaReport
from omnivec.runtime.runtime import Runtime
from omnivec.types import Priority

log = get_logger(__name__)

APP_PREFIX = "omnivec"
RETRY_AFTER_S = 1.0
# Failures of the replica or its actor, as opposed to an answer from the model.
_REPLICA_LOST: tuple[type[BaseException], ...] = (
    ray.exceptions.RayActorError,
    ray.exceptions.ActorUnavailableError,
    ray.exceptions.RayTaskError,
    ray.exceptions.ObjectLostError,
)


@dataclass(frozen=True, slots=True)
class ReplicaOptions:
    replicas: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None
    cpus: float = 0.5
    gpus: float = 0.0
    max_ongoing_requests: int = 64
    # A forward pass running longer than this fails the replica's health check.
    stall_after_s: float = 120.0

    def deployment_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "ray_actor_options": {"num_cpus": self.cpus, "num_gpus": self.gpus},
            "max_ongoing_requests": self.max_ongoing_requests,
            "health_check_period_s": 2.0,
            "health_check_timeout_s": 10.0,
            # A model that does not load fails the same way on every try: report it promptly.
            "max_constructor_retry_count": 2,
        }
        if self.max_replicas is not None:
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas or 0,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": max(1, self.max_ongoing_requests // 2),
            }
        else:
            options["num_replicas"] = self.replicas
        return options

    @property
    def most_replicas(self) -> int:
        return self.max_replicas if self.max_replicas is not None else self.replicas


def app_name(model_id: str) -> str:
    return f"{APP_PREFIX}-" + re.sub(r"[^A-Za-z0-9_.-]", "-", model_id)


class RayRuntime(Runtime):
    def __init__(self, limits: BatchLimits, options: ReplicaOptions) -> None:
        super().__init__([], limits)
        self.limits = limits
        self.options = options
        self._handles: dict[str, Any] = {}
        self._infos: dict[str, BackendInfo] = {}
        self._gates: dict[str, _AdmissionGate] = {}
        self._reports: list[ReplicaReport] = []
        self._closed = False
        self._stop_polling = threading.Event()
        self._board: Any = None
        self._poller: threading.Thread | None = None

    # --- deployment ----------------------------------------------------------------------------
    def deploy(self, specs: Sequence[ModelSpec]) -> None:
        """Deploy every model and wait for its replicas; a replica that cannot load its model
        makes this raise ``ClusterError`` with the model's own error."""
        serve.start(proxy_location=ProxyLocation.Disabled)
        board = (board_name(APP_PREFIX), NAMESPACE)
        self._board = open_board(*board)
        capacity = self.limits.max_queue_items * self.options.most_replicas
        for spec in specs:
            deployment = serve.deployment(name=app_name(spec.model_id), **self.options.deployment_options())(
                ModelReplica
            )
            app = deployment.bind(spec, self.limits, board, self.options.stall_after_s)
            try:
                handle = serve.run(app, name=app_name(spec.model_id), route_prefix=None)
            except Exception as exc:
                reason = _root_cause(f"{exc}\n{_deployment_messages(app_name(spec.model_id))}")
                with contextlib.suppress(Exception):  # leave no failed application behind
                    serve.delete(app_name(spec.model_id))
                raise ClusterError(
                    f"model {spec.model_id} did not start on the Ray cluster: {reason}"
                ) from None
            info: BackendInfo = handle.info.remote().result(timeout_s=60)
            self._handles[info.model_id] = handle
            self._infos[info.model_id] = info
            self._gates[info.model_id] = _AdmissionGate(capacity)
        self._poller = threading.Thread(target=self._poll_board, name="omnivec-ray-board", daemon=True)
        self._poller.start()
        # Ready once every model's replicas have reported (they start reporting once loaded).
        deadline = time.monotonic() + 10 * REPORT_INTERVAL_S
        while self.unready_models() and time.monotonic() < deadline:
            time.sleep(REPORT_INTERVAL_S / 4)

    # --- Runtime -------------------------------------------------------------------------------
    def start(self) -> None:
        self._started = True

    def refuse_queued(self) -> None:
        self._closed = True

    def stop(self) -> None:
        self._closed = True
        self._stop_polling.set()
        for model_id in list(self._handles):
            with contextlib.suppress(Exception):
                serve.delete(app_name(model_id))
        self._handles.clear()
        if self._board is not None:
            with contextlib.suppress(Exception):
                ray.kill(self._board)
        with contextlib.suppress(Exception):
            ray.shutdown()

    def stalled(self, threshold_s: float) -> list[str]:
        return sorted({r.model_id for r in self._reports if r.forward_running_for > threshold_s})

    def unready_models(self) -> list[str]:
        live = {r.model_id for r in self._reports}
        return [m for m in self._infos if m not in live]

    def compiling_models(self) -> list[str]:
        # Replicas serve the engine they loaded; none compiles in the background.
        return []

    def replica_reports(self) -> list[ReplicaReport]:
        return list(self._reports)

    def model_ids(self) -> list[str]:
        return list(self._infos)

    def info(self, model_id: str) -> BackendInfo:
        self._check_model(model_id)
        return self._infos[model_id]

    @property
    def queue_depth(self) -> int:
        return sum(r.queue_depth for r in self._reports)

    def admit(self, model_id: str, items: int) -> AbstractContextManager[None]:
        self._check_model(model_id)
        if self._closed:
            raise Unavailable("The server is shutting down; retry on another instance.")
        return self._gates[model_id].hold(items)

    async def embed(
        self,
        model_id: str,
        inputs: Sequence[ModelInput],
        *,
        auto_truncate: bool = True,
        priority: Priority = Priority.ONLINE,
    ) -> list[EncodedItem]:
        self._check_model(model_id)
        if not inputs:
            return []
        handle = self._handles[model_id]
        payload = list(inputs)
        for attempt in (1, 2):
            try:
                reply = await handle.embed.remote(payload, auto_truncate, priority.value)
            except asyncio.CancelledError:
                raise
            except _REPLICA_LOST as exc:
                log.warning(
                    "a replica of %s failed (%s); attempt %d of 2", model_id, type(exc).__name__, attempt
                )
                continue
            if isinstance(reply, RemoteFailure):
                raise reply.error()
            return list(reply)
        raise Unavailable(
            f"The replicas of model {model_id} are restarting; retry after a short wait.",
            details=(
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{RETRY_AFTER_S:g}s"},
            ),
        )

    async def score_pairs(
        self,
        model_id: str,
        query: str,
        documents: Sequence[str],
        *,
        auto_truncate: bool = True,
        priority: Priority = Priority.ONLINE,
    ) -> list[EncodedItem]:
        self._check_model(model_id)
        raise FailedPrecondition(
            f"Model {model_id} is served by Ray replicas, which embed only; serve rerankers in-process."
        )

    # --- helpers ---------------------------------------------------------------------------------
    def _check_model(self, model_id: str) -> None:
        if model_id not in self._infos:
            raise NotFound(f"Model {model_id} is not loaded.")

    def _poll_board(self) -> None:
        while not self._stop_polling.wait(REPORT_INTERVAL_S / 2):
            try:
                self._reports = ray.get(self._board.fresh.remote(), timeout=5 * REPORT_INTERVAL_S)
            except Exception:  # the board restarts; the last reports age out on their own
                self._reports = []


class _AdmissionGate:
    """The API process's bound on inputs in flight to one model (all its replicas together)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.admitted = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self, items: int) -> Iterator[None]:
        if items > self.capacity:
            raise InvalidArgument(
                f"The request has {items} inputs; this server queues at most {self.capacity} at a time. "
                "Send them in smaller requests."
            )
        with self._lock:
            if self.admitted + items > self.capacity:
                raise ResourceExhausted(
                    "The model's queue is full; retry after a short wait.", retry_after_s=1.0
                )
            self.admitted += items
        try:
            yield
        finally:
            with self._lock:
                self.admitted -= items


# The last "SomeError: message" line of a remote traceback: the replica's own error.
_CAUSE_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Za-z_]\w*(?:Error|Exception)): (.+)$")


def _deployment_messages(app: str) -> str:
    """What Serve recorded about an application's deployments (a failed replica's traceback)."""
    try:
        status = serve.status().applications.get(app)
    except Exception:
        return ""
    if status is None:
        return ""
    return "\n".join([status.message, *(d.message for d in status.deployments.values())])


def _root_cause(text: str) -> str:
    """What made a replica fail to start, from Serve's deployment errors (which carry the
    replica's traceback as text), without the traceback."""
    text = text.strip()
    causes = [m.group(2) for line in text.splitlines() if (m := _CAUSE_LINE.match(line.strip()))]
    if causes:
        return causes[-1]
    return text.splitlines()[0] if text else "no reason was given"
