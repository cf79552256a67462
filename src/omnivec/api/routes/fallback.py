"""Included last: unknown custom methods on known collections get Google's 404."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omnivec.api.responses import JSONResponse
from omnivec.errors import NotFound

router = APIRouter()


@router.post("/models/{target}")
async def unknown_model_method(request: Request, target: str) -> JSONResponse:
    raise NotFound("Method not found.")
