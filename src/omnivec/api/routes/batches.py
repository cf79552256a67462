"""The Batch API: asyncBatchEmbedContent and the batches collection."""

from __future__ import annotations

from fastapi import APIRouter, Request

from omnivec.api.context import container, owner, read_json
from omnivec.api.openapi import json_body
from omnivec.api.pagination import decode_token, encode_token, page_size
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.batches import AsyncBatchEmbedContentRequestSchema, RequestReader, operation_json
from omnivec.errors import InvalidArgument

router = APIRouter()


@router.post(
    "/models/{model}:asyncBatchEmbedContent", openapi_extra=json_body("AsyncBatchEmbedContentRequest")
)
async def async_batch_embed_content(request: Request, model: str) -> JSONResponse:
    c = container(request)
    batch = (await read_json(request, AsyncBatchEmbedContentRequestSchema)).batch
    reader = RequestReader(c.catalogue, model)
    if batch.model and c.catalogue.resolve(batch.model).name != reader.model:
        raise InvalidArgument.at(
            "batch.model", f"{batch.model} does not match the model in the URL, models/{model}"
        )
    config = batch.input_config
    if (config.file_name is None) == (config.requests is None):
        raise InvalidArgument.at(
            "batch.inputConfig", "give exactly one of fileName (an uploaded JSONL file) or requests (inline)"
        )
    if config.file_name is not None:
        job = await c.batches.create_from_file(
            owner(request),
            model,
            config.file_name,
            reader.jsonl_line,
            display_name=batch.display_name,
            priority=batch.priority,
        )
    else:
        assert config.requests is not None
        requests = [reader.inlined(i, raw) for i, raw in enumerate(config.requests.requests)]
        job = await c.batches.create(
            owner(request), model, requests, display_name=batch.display_name, priority=batch.priority
        )
    return JSONResponse(operation_json(job))


@router.get("/batches")
async def list_batches(request: Request) -> JSONResponse:
    size = page_size(request.query_params.get("pageSize"), default=10, maximum=100)
    start = decode_token("batches", request.query_params.get("pageToken"))
    jobs, more = await container(request).batches.list_jobs(owner(request), start, size)
    # Like Google's, the list leaves inline results out; batches.get has them.
    body: dict[str, object] = {}
    if jobs:
        body["operations"] = [operation_json(j) for j in jobs]
    if more:
        body["nextPageToken"] = encode_token("batches", start + size)
    return JSONResponse(body)


@router.post("/batches/{batch_id}:cancel")
async def cancel_batch(request: Request, batch_id: str) -> JSONResponse:
    await container(request).batches.cancel(owner(request), batch_id)
    return JSONResponse({})


@router.get("/batches/{batch_id}")
async def get_batch(request: Request, batch_id: str) -> JSONResponse:
    service = container(request).batches
    job = await service.get(owner(request), batch_id)
    results = await service.results(job) if job.state.is_terminal and job.input_file is None else None
    return JSONResponse(operation_json(job, results))


@router.delete("/batches/{batch_id}")
async def delete_batch(request: Request, batch_id: str) -> JSONResponse:
    await container(request).batches.delete(owner(request), batch_id)
    return JSONResponse({})
