"""Prometheus metrics: HTTP requests by route and status, the runtime's stages, queue and batches.

The runtime knows nothing about Prometheus: ``Metrics`` observes it through its timing hooks
(``runtime/observer.py``) and reads its counters and queue depths when scraped. Labels are route
templates, methods, statuses and served model ids only: no request data, and a bounded number
of series whatever clients send. Each app has its own registry (no global state).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivec.runtime.observer import BatchReport
from omnivec.runtime.runtime import Runtime

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_ITEM_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_TOKEN_BUCKETS = tuple(2**k for k in range(4, 18))
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class Metrics:
    """The registry of one app, and the runtime observer that feeds its stage histograms."""

    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "omnivec_http_requests", "HTTP requests answered.", ["route", "method", "status"], registry=r
        )
        self.duration = Histogram(
            "omnivec_http_request_duration_seconds",
            "Time from request to the end of the response.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("omnivec_http_requests_in_flight", "HTTP requests in progress.", registry=r)
        self.prepare = Histogram(
            "omnivec_prepare_duration_seconds",
            "CPU step per request (tokenise, preprocess), including the wait for a worker thread.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_wait = Histogram(
            "omnivec_queue_wait_seconds",
            "Time an input waited in the batcher before its forward pass.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.forward = Histogram(
            "omnivec_forward_duration_seconds",
            "Forward pass per batch, on the model's device.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_items = Histogram(
            "omnivec_batch_items", "Inputs per forward pass.", ["model"], buckets=_ITEM_BUCKETS, registry=r
        )
        self.batch_tokens = Histogram(
            "omnivec_batch_padded_tokens",
            "Padded tokens per forward pass (what the token budget counts).",
            ["model"],
            buckets=_TOKEN_BUCKETS,
            registry=r,
        )
        r.register(RuntimeCollector(runtime))
        runtime.add_observer(self)

    # --- RuntimeObserver -------------------------------------------------------------------
    def on_prepare(self, model_id: str, items: int, seconds: float) -> None:
        self.prepare.labels(model_id).observe(seconds)

    def on_batch(self, report: BatchReport) -> None:
        waits = self.queue_wait.labels(report.model_id)
        for wait in report.queue_waits_s:
            waits.observe(wait)
        if not report.failed:
            self.forward.labels(report.model_id).observe(report.forward_s)
            self.batch_items.labels(report.model_id).observe(report.items)
            self.batch_tokens.labels(report.model_id).observe(report.padded_tokens)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RuntimeCollector(Collector):
    """Reads the runners' counters (``RunnerStats``) and queue state at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily("omnivec_queue_depth", "Inputs waiting in the batcher.", labels=["model"])
        admitted = GaugeMetricFamily(
            "omnivec_admitted_inputs",
            "Inputs admitted and not yet answered (being prepared, queued or on the device).",
            labels=["model"],
        )
        capacity = GaugeMetricFamily(
            "omnivec_queue_capacity", "Admitted inputs beyond which requests get 429.", labels=["model"]
        )
        counters = {
            name: CounterMetricFamily(f"omnivec_runner_{name}", help_text, labels=["model"])
            for name, help_text in (
                ("batches", "Forward passes that succeeded."),
                ("items", "Inputs embedded."),
                ("tokens", "Tokens embedded (without padding)."),
                ("padded_tokens", "Tokens including padding."),
                ("forward_seconds", "Time spent in successful forward passes."),
                ("failed_batches", "Forward passes that raised."),
            )
        }
        for model_id, runner in self.runtime.runners.items():
            depth.add_metric([model_id], runner.batcher.depth)
            admitted.add_metric([model_id], runner.admitted)
            capacity.add_metric([model_id], runner.batcher.limits.max_queue_items)
            stats = runner.stats
            for name, family in counters.items():
                family.add_metric([model_id], getattr(stats, name))
        yield from (depth, admitted, capacity, *counters.values())
        yield from _replica_families(self.runtime)


def _replica_families(runtime: Runtime) -> Iterable[Metric]:
    """Per-replica gauges for models served by replicas outside this process (Ray Serve)."""
    reports = runtime.replica_reports()
    if not reports:
        return
    labels = ["model", "replica", "node"]
    depth = GaugeMetricFamily(
        "omnivec_replica_queue_depth", "Inputs waiting in a replica's batcher.", labels=labels
    )
    admitted = GaugeMetricFamily(
        "omnivec_replica_admitted_inputs", "Inputs a replica has taken and not yet answered.", labels=labels
    )
    items = CounterMetricFamily("omnivec_replica_items", "Inputs a replica has embedded.", labels=labels)
    for r in reports:
        key = [r.model_id, r.replica_id, r.node_id]
        depth.add_metric(key, r.queue_depth)
        admitted.add_metric(key, r.admitted)
        items.add_metric(key, r.items)
    yield from (depth, admitted, items)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (not by path: no request data).

    ``routes`` are the app's own routes, used to name the route of a request that was refused
    before routing (bad key, limits).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            route = self._route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.duration.labels(route).observe(time.perf_counter() - started)

    def _route(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        if route is not None:
            return str(route.path)
        # Refused before routing (auth, limits): find the route it was meant for.
        for candidate in self.routes:
            match, _ = candidate.matches(scope)
            if match is not Match.NONE:
                return str(getattr(candidate, "path", "unmatched"))
        return "unmatched"
