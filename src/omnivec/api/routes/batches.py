"""The Batch API: asyncBatchEmbedContent and the batches collection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from omnivec.api.context import container, owner, read_json
from omnivec.api.openapi import json_body
from omnivec.api.pagination import decode_token, encode_token, page_size
from omnivec.api.responses import JSONResponse, dumps
from omnivec.api.schemas.batches import (
    AsyncBatchEmbedContentRequestSchema,
    RequestReader,
    operation_json,
)
from omnivec.errors import InvalidArgument
from omnivec.services.batch_items import result_json
from omnivec.services.batches import BatchService
from omnivec.storage.records import BatchJob

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
        limit = c.settings.batches.max_inline_requests
        if len(config.requests.requests) > limit:
            raise InvalidArgument.at(
                "batch.inputConfig.requests.requests",
                f"an inline batch may hold at most {limit} requests (got {len(config.requests.requests)}); "
                "put larger batches in a JSONL file uploaded with the Files API and name it in "
                "inputConfig.fileName",
            )
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
async def get_batch(request: Request, batch_id: str) -> Response:
    service = container(request).batches
    job = await service.get(owner(request), batch_id)
    if job.state.is_terminal and job.input_file is None and job.checkpoint > 0:
        # An inline job's results can be hundreds of megabytes of JSON: streamed a page at a
        # time, never built whole.
        return StreamingResponse(_streamed_operation(service, job), media_type=JSONResponse.media_type)
    return JSONResponse(operation_json(job))


# Stands for the list of inlined responses in the operation's JSON; the list is streamed there.
_RESPONSES = "\x00inlined-responses\x00"


async def _streamed_operation(service: BatchService, job: BatchJob) -> AsyncIterator[bytes]:
    operation = operation_json(job)
    output = {"inlinedResponses": {"inlinedResponses": _RESPONSES}}
    operation["metadata"]["output"] = output
    if "response" in operation:
        operation["response"]["output"] = output
    pieces = dumps(operation).split(dumps(_RESPONSES))
    yield pieces[0]
    for piece in pieces[1:]:
        pages = service.result_pages(job)
        separator = b"["
        while page := await asyncio.to_thread(next, pages, None):
            yield separator + b",".join(dumps(result_json(i, r)) for i, r in page)
            separator = b","
        yield (b"[]" if separator == b"[" else b"]") + piece


@router.delete("/batches/{batch_id}")
async def delete_batch(request: Request, batch_id: str) -> JSONResponse:
    await container(request).batches.delete(owner(request), batch_id)
    return JSONResponse({})
