"""models.list, models.get (and the empty tunedModels collection)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omnivec.api.context import container
from omnivec.api.pagination import decode_token, encode_token, page_size
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.models import model_json

router = APIRouter()


@router.get("/models")
async def list_models(request: Request) -> JSONResponse:
    models = container(request).catalogue.list()
    size = page_size(request.query_params.get("pageSize"), default=50, maximum=1000)
    start = decode_token("models", request.query_params.get("pageToken"))
    page = models[start : start + size]
    body: dict[str, object] = {"models": [model_json(m) for m in page]}
    if start + size < len(models):
        body["nextPageToken"] = encode_token("models", start + size)
    return JSONResponse(body)


@router.get("/models/{model}")
async def get_model(request: Request, model: str) -> JSONResponse:
    return JSONResponse(model_json(container(request).catalogue.get(model)))


@router.get("/tunedModels")
async def list_tuned_models(request: Request) -> JSONResponse:
    return JSONResponse({})
