"""OpenAI's Files and Batch API for embeddings, on omnivec's own Files and batch-job machinery
(same storage, durability, worker and priority lane as Gemini batch jobs).

A batch's input file is read at submission and turned into batch items; the job's display name
records the input file id (``openai:<file id>``), which also marks the job as an OpenAI batch.
Its output file ``<batch id>-output`` is made from the stored results when downloaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, StrictStr
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from omnivec.api.context import container, owner, read_json
from omnivec.api.openai.batch_lines import EMBEDDINGS_ENDPOINT, output_lines, parse_line, requests_of
from omnivec.api.responses import JSONResponse
from omnivec.errors import InvalidArgument, NotFound, OmnivecError
from omnivec.storage.records import BatchJob, StoredFile
from omnivec.types import BatchState

_MARK = "openai:"
_OUTPUT = "-output"
_UPLOAD_CHUNK = 1 << 20


class CreateBatchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    input_file_id: StrictStr
    endpoint: Literal["/v1/embeddings"]
    completion_window: StrictStr = "24h"
    metadata: dict[str, StrictStr] | None = None


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value else None


def file_json(record: StoredFile, purpose: str = "batch") -> dict[str, Any]:
    return {
        "id": record.file_id,
        "object": "file",
        "bytes": record.size_bytes,
        "created_at": _ts(record.create_time),
        "expires_at": _ts(record.expire_time),
        "filename": record.display_name or record.file_id,
        "purpose": purpose,
        "status": "processed",
    }


_STATUS = {
    BatchState.PENDING: "validating",
    BatchState.RUNNING: "in_progress",
    BatchState.SUCCEEDED: "completed",
    BatchState.FAILED: "failed",
    BatchState.CANCELLED: "cancelled",
    BatchState.EXPIRED: "expired",
}


def batch_json(job: BatchJob) -> dict[str, Any]:
    status = _STATUS[job.state]
    if job.cancel_requested and not job.state.is_terminal:
        status = "cancelling"
    done = job.state.is_terminal
    return {
        "id": job.job_id,
        "object": "batch",
        "endpoint": EMBEDDINGS_ENDPOINT,
        "errors": None,
        "input_file_id": job.display_name[len(_MARK) :],
        "completion_window": "24h",
        "status": status,
        "output_file_id": job.job_id + _OUTPUT if done and job.request_count else None,
        "error_file_id": None,
        "created_at": _ts(job.create_time),
        "in_progress_at": _ts(job.start_time),
        "expires_at": _ts(job.expire_time),
        "finalizing_at": None,
        "completed_at": _ts(job.end_time) if job.state is BatchState.SUCCEEDED else None,
        "failed_at": _ts(job.end_time) if job.state is BatchState.FAILED else None,
        "expired_at": _ts(job.end_time) if job.state is BatchState.EXPIRED else None,
        "cancelling_at": None,
        "cancelled_at": _ts(job.end_time) if job.state is BatchState.CANCELLED else None,
        "request_counts": {"total": job.request_count, "completed": job.succeeded, "failed": job.failed},
        "metadata": {},
    }


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(_UPLOAD_CHUNK):
        yield chunk


async def upload_file(request: Request) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidArgument.at(
            "file", "upload the file as multipart/form-data with fields file and purpose"
        )
    async with request.form(max_files=1, max_fields=8) as form:
        purpose = form.get("purpose")
        upload = form.get("file")
        if purpose != "batch":
            raise InvalidArgument.at("purpose", "must be batch: files here are inputs of embedding batches")
        if not isinstance(upload, UploadFile):
            raise InvalidArgument.at("file", "is required")
        record = await container(request).files.create(
            owner(request),
            _chunks(upload),
            display_name=(upload.filename or "")[:512],
            mime_type="application/jsonl",
        )
    return JSONResponse(file_json(record))


async def get_file(request: Request, file_id: str) -> JSONResponse:
    if file_id.endswith(_OUTPUT):
        job = await _job(request, file_id[: -len(_OUTPUT)])
        return JSONResponse(
            {
                "id": file_id,
                "object": "file",
                "bytes": None,
                "created_at": _ts(job.end_time),
                "filename": f"{job.job_id}_output.jsonl",
                "purpose": "batch_output",
                "status": "processed",
            }
        )
    return JSONResponse(file_json(await container(request).files.get(owner(request), file_id)))


async def file_content(request: Request, file_id: str) -> StreamingResponse:
    c = container(request)
    if file_id.endswith(_OUTPUT):
        job = await _job(request, file_id[: -len(_OUTPUT)])
        if not job.state.is_terminal:
            raise InvalidArgument(f"Batch {job.job_id} has not finished; its output is not ready.")
        results = await c.batches.results(job)
        return StreamingResponse(
            iter(list(output_lines(job.job_id, results))), media_type="application/jsonl"
        )
    record, chunks = await c.files.download(owner(request), file_id)
    return StreamingResponse(chunks, media_type=record.mime_type)


async def create_batch(request: Request) -> JSONResponse:
    parsed = await read_json(request, CreateBatchRequest)
    c = container(request)
    record = await c.files.get(owner(request), parsed.input_file_id)

    def parsed_lines() -> Iterator[tuple[int, Any]]:
        """Read as the job is stored: the file is never held in memory whole."""
        index = 0
        for line in c.files.lines(record):
            if line.strip():
                try:
                    yield index, parse_line(index, line)
                except OmnivecError as exc:
                    yield index, exc
                index += 1

    def first_model() -> str | None:
        return next((p.body.model for _, p in parsed_lines() if not isinstance(p, OmnivecError)), None)

    model = await asyncio.to_thread(first_model)
    if model is None:
        raise InvalidArgument.at("input_file_id", "the file holds no valid request line")
    descriptor = c.catalogue.resolve(model)
    job = await c.batches.create(
        owner(request),
        descriptor.name,
        requests_of(parsed_lines(), model),
        display_name=_MARK + record.file_id,
    )
    return JSONResponse(batch_json(job))


async def _job(request: Request, batch_id: str) -> BatchJob:
    job = await container(request).batches.get(owner(request), batch_id)
    if not job.display_name.startswith(_MARK):
        raise NotFound(f"Batch {batch_id[:80]} does not exist.")
    return job


async def get_batch(request: Request, batch_id: str) -> JSONResponse:
    return JSONResponse(batch_json(await _job(request, batch_id)))


async def cancel_batch(request: Request, batch_id: str) -> JSONResponse:
    await _job(request, batch_id)
    return JSONResponse(batch_json(await container(request).batches.cancel(owner(request), batch_id)))


async def list_batches(request: Request) -> JSONResponse:
    c = container(request)
    try:
        limit = max(1, min(100, int(request.query_params.get("limit", "20"))))
    except ValueError:
        raise InvalidArgument.at("limit", "must be an integer") from None
    after = request.query_params.get("after")
    jobs, _ = await c.batches.list_jobs(owner(request), 0, 10_000)
    ours = [j for j in jobs if j.display_name.startswith(_MARK)]
    if after:
        ids = [j.job_id for j in ours]
        ours = ours[ids.index(after) + 1 :] if after in ids else []
    page = ours[:limit]
    return JSONResponse(
        {
            "object": "list",
            "data": [batch_json(j) for j in page],
            "first_id": page[0].job_id if page else None,
            "last_id": page[-1].job_id if page else None,
            "has_more": len(ours) > limit,
        }
    )


def add_routes(router: Any, prefix: str) -> None:
    router.add_api_route(f"{prefix}/files", upload_file, methods=["POST"])
    router.add_api_route(f"{prefix}/files/{{file_id}}", get_file, methods=["GET"])
    router.add_api_route(f"{prefix}/files/{{file_id}}/content", file_content, methods=["GET"])
    router.add_api_route(f"{prefix}/batches", create_batch, methods=["POST"])
    router.add_api_route(f"{prefix}/batches", list_batches, methods=["GET"])
    router.add_api_route(f"{prefix}/batches/{{batch_id}}", get_batch, methods=["GET"])
    router.add_api_route(f"{prefix}/batches/{{batch_id}}/cancel", cancel_batch, methods=["POST"])
