"""``POST /upload/{version}/files``: resumable uploads as the SDK and Google's curl sample do
them, plus the single-request ``multipart`` and ``media`` forms.

Resumable: ``start`` answers with ``x-goog-upload-url`` (absolute, carrying an unguessable
``upload_id``, the only credential chunk requests have); chunks say ``upload`` (or
``upload, finalize`` on the last) with ``X-Goog-Upload-Offset``; ``query`` reports the bytes
received so an interrupted upload resumes. Every answer, errors included, carries
``x-goog-upload-status`` (``active`` while the session can go on, ``final`` once it cannot),
without which the SDK retries a chunk and then gives up. Header names are lowercase: the curl
sample greps for ``x-goog-upload-url: `` case-sensitively.

Upload bodies skip the body-size middleware: they stream to disk a piece at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from omnivec.api.context import api_version, container, owner
from omnivec.api.errors import validation_error
from omnivec.api.json_body import parse_json_body
from omnivec.api.multipart import RelatedUpload
from omnivec.api.responses import JSONResponse, error_response
from omnivec.api.schemas.files import FileMetadataSchema, UploadStartSchema, file_json
from omnivec.api.urls import base_url, request_version
from omnivec.errors import Internal, InvalidArgument, OmnivecError
from omnivec.logging import get_logger, request_id_var
from omnivec.storage.records import StoredFile

log = get_logger(__name__)
router = APIRouter()

CHUNK_GRANULARITY = 8 * 1024 * 1024  # what Google advertises; the SDK sends 8 MiB chunks
_MAX_START_BODY = 1 << 20
_STATUS = "x-goog-upload-status"


@router.post("/upload/files")
async def upload(request: Request) -> Response:
    upload_id = request.query_params.get("upload_id")
    if upload_id is not None:
        return await _chunk(request, upload_id)
    protocol = request.headers.get("x-goog-upload-protocol", "").strip().lower()
    upload_type = request.query_params.get("uploadType", "").strip().lower()
    content_type = request.headers.get("content-type", "")
    try:
        if protocol == "resumable" or upload_type == "resumable":
            return await _start(request)
        if protocol == "multipart" or upload_type == "multipart" or content_type.startswith("multipart/"):
            return await _multipart(request)
        if protocol == "raw" or upload_type == "media":
            return await _media(request)
    except OmnivecError as exc:
        return _error(exc, "final")
    except Exception as exc:
        log.error("upload failed", exc_info=exc)
        return _error(_internal(), "final")
    return _error(
        InvalidArgument(
            "Say how the file is sent: X-Goog-Upload-Protocol: resumable (with X-Goog-Upload-Command: "
            "start), multipart, or raw; or ?uploadType=resumable|multipart|media."
        ),
        "final",
    )


# --- resumable -------------------------------------------------------------------------------
async def _start(request: Request) -> Response:
    command = request.headers.get("x-goog-upload-command", "start").strip().lower()
    if command != "start":
        raise InvalidArgument.at("X-Goog-Upload-Command", "must be 'start' to begin a resumable upload")
    meta = await _start_metadata(request)
    declared = _int_header(request, "x-goog-upload-header-content-length")
    if declared is None:
        declared = meta.size_bytes
    session = await container(request).uploads.start(
        owner(request),
        name=meta.name,
        display_name=meta.display_name or "",
        mime_type=request.headers.get("x-goog-upload-header-content-type") or meta.mime_type or "",
        declared_size=declared,
    )
    version = request_version(request)
    path = f"/upload/{version}/files" if version else "/upload/files"
    url = f"{base_url(request)}{path}?upload_id={quote(session.upload_id)}&upload_protocol=resumable"
    return Response(
        status_code=200,
        headers={
            _STATUS: "active",
            "x-goog-upload-url": url,
            "x-goog-upload-control-url": url,
            "x-goog-upload-chunk-granularity": str(CHUNK_GRANULARITY),
        },
    )


async def _chunk(request: Request, upload_id: str) -> Response:
    uploads = container(request).uploads
    commands = {c.strip() for c in request.headers.get("x-goog-upload-command", "").lower().split(",")}
    try:
        if "query" in commands:
            session = await uploads.query(upload_id)
            return Response(status_code=200, headers=_progress("active", session.received))
        if "cancel" in commands:
            await uploads.cancel(upload_id)
            return Response(status_code=200, headers={_STATUS: "cancelled"})
        if not commands & {"upload", "finalize"}:
            raise InvalidArgument.at(
                "X-Goog-Upload-Command", "must be upload, 'upload, finalize', query or cancel"
            )
        chunks = request.stream() if "upload" in commands else _nothing()
        result = await uploads.write(
            upload_id,
            chunks,
            offset=_int_header(request, "x-goog-upload-offset"),
            finalize="finalize" in commands,
        )
    except OmnivecError as exc:
        return _error(exc, "active" if await uploads.is_open(upload_id) else "final")
    except ClientDisconnect:
        # The client went away mid-chunk; nothing of this chunk counts, and the session stays
        # open: the client resumes from the last acknowledged offset (ask with query).
        log.info("upload chunk interrupted by the client")
        return Response(status_code=400, headers={_STATUS: "active"})
    except Exception as exc:
        log.error("upload chunk failed", exc_info=exc)
        return _error(_internal(), "active" if await uploads.is_open(upload_id) else "final")
    if isinstance(result, StoredFile):
        return JSONResponse({"file": _file_json(request, result)}, headers={_STATUS: "final"})
    return Response(status_code=200, headers=_progress("active", result.received))


# --- single request ----------------------------------------------------------------------------
async def _media(request: Request) -> Response:
    """``uploadType=media``: the body is the file; no metadata."""
    record = await container(request).files.create(
        owner(request),
        request.stream(),
        mime_type=request.headers.get("content-type", "").split(";")[0].strip(),
        declared_size=_int_header(request, "content-length"),
    )
    return JSONResponse({"file": _file_json(request, record)}, headers={_STATUS: "final"})


async def _multipart(request: Request) -> Response:
    related = RelatedUpload(request.headers.get("content-type", ""), request.stream())
    meta = _metadata(parse_json_body(await related.read_metadata(), allow_empty=True))
    record = await container(request).files.create(
        owner(request),
        related.media(),
        name=meta.name,
        display_name=meta.display_name or "",
        mime_type=meta.mime_type or related.media_type or "",
    )
    return JSONResponse({"file": _file_json(request, record)}, headers={_STATUS: "final"})


# --- helpers -------------------------------------------------------------------------------------
async def _start_metadata(request: Request) -> FileMetadataSchema:
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > _MAX_START_BODY:
            raise InvalidArgument("The metadata that starts an upload is too large.")
    return _metadata(parse_json_body(bytes(body), allow_empty=True))


def _metadata(data: Any) -> FileMetadataSchema:
    try:
        parsed = UploadStartSchema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None
    return parsed.file or FileMetadataSchema()


def _int_header(request: Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidArgument.at(name, f"must be a whole number of bytes (got {raw[:40]!r})") from None
    if value < 0:
        raise InvalidArgument.at(name, "must not be negative")
    return value


def _progress(status: str, received: int) -> dict[str, str]:
    return {_STATUS: status, "x-goog-upload-size-received": str(received)}


def _file_json(request: Request, record: StoredFile) -> dict[str, Any]:
    return file_json(record, base_url(request), api_version(request))


def _internal() -> Internal:
    return Internal(f"An internal error has occurred (request id {request_id_var.get()}). Please retry.")


def _error(error: OmnivecError, status: str) -> JSONResponse:
    return error_response(error, request_id=request_id_var.get(), headers={_STATUS: status})


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover (makes this an async generator)
