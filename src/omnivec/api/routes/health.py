"""Liveness, readiness and metrics; no request data, no auth."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from omnivec.api.context import container
from omnivec.api.responses import JSONResponse

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    """Alive unless a model or the batch worker is stuck: a forward pass running longer than a
    whole request may take means a hung device, a batch worker that stopped or makes no progress
    leaves every tenant's jobs waiting; only a restart cures either."""
    c = container(request)
    stalled = c.runtime.stalled(c.settings.limits.request_timeout_s)
    worker = c.worker.stuck()
    if stalled or worker:
        body: dict[str, object] = {"status": "stalled", "models": stalled}
        if worker:
            body["batchWorker"] = worker
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    c = container(request)
    # Models served by replicas elsewhere (Ray) are ready while at least one replica is live.
    unready = c.runtime.unready_models()
    # Models whose compiled engine is being built answer requests meanwhile (on their eager
    # engine), but a load balancer should wait: they are slower, and the build takes the CPU.
    compiling = c.runtime.compiling_models()
    ready = c.is_started and not unready and not compiling
    status = "ready" if ready else ("compiling" if c.is_started and not unready else "starting")
    body: dict[str, object] = {"status": status, "models": c.runtime.model_ids()}
    if unready:
        body["unavailableModels"] = unready
    if compiling:
        body["compilingModels"] = compiling
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
