"""Liveness and readiness; no data, no auth."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omnivec.api.context import container
from omnivec.api.responses import JSONResponse

router = APIRouter()


@router.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    c = container(request)
    ready = c.is_started
    return JSONResponse(
        {"status": "ready" if ready else "starting", "models": c.runtime.model_ids()},
        status_code=200 if ready else 503,
    )
