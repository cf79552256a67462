"""``POST /upload/{version}/fileSearchStores/{id}:uploadToFileSearchStore``: the Files API's
resumable protocol (``routes/upload.py``, ``services/uploads.py``), whose last chunk answers
the Operation that ingests the new document instead of a File.

The start request carries the document's settings (``displayName``, ``mimeType``,
``customMetadata``, ``chunkingConfig``) at the top level; they are kept with the session until
the bytes are complete.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from omnivec.api.context import container, owner
from omnivec.api.errors import validation_error
from omnivec.api.json_body import parse_json_body
from omnivec.api.responses import JSONResponse
from omnivec.api.routes.search_stores import service
from omnivec.api.routes.upload import (
    _MAX_START_BODY,
    _STATUS,
    CHUNK_GRANULARITY,
    _error,
    _int_header,
    _internal,
    _nothing,
    _progress,
)
from omnivec.api.schemas.search_stores import DocumentSettingsSchema
from omnivec.api.urls import base_url, request_version
from omnivec.errors import InvalidArgument, NotFound, OmnivecError
from omnivec.logging import get_logger
from omnivec.storage.records import StoredFile
from omnivec.wire.search_stores import operation_json, parse_chunking_config, parse_custom_metadata

log = get_logger(__name__)
router = APIRouter()


@router.post("/upload/fileSearchStores/{store_id}:uploadToFileSearchStore")
async def upload_to_store(request: Request, store_id: str) -> Response:
    upload_id = request.query_params.get("upload_id")
    if upload_id is not None:
        return await _chunk(request, upload_id)
    try:
        protocol = request.headers.get("x-goog-upload-protocol", "").strip().lower()
        if protocol != "resumable" and request.query_params.get("uploadType", "").lower() != "resumable":
            raise InvalidArgument(
                "Upload to a File Search store with the resumable protocol "
                "(X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start)."
            )
        return await _start(request, store_id)
    except OmnivecError as exc:
        return _error(exc, "final")
    except Exception as exc:
        log.error("store upload failed", exc_info=exc)
        return _error(_internal(), "final")


async def _start(request: Request, store_id: str) -> Response:
    command = request.headers.get("x-goog-upload-command", "start").strip().lower()
    if command != "start":
        raise InvalidArgument.at("X-Goog-Upload-Command", "must be 'start' to begin a resumable upload")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > _MAX_START_BODY:
            raise InvalidArgument("The metadata that starts an upload is too large.")
    try:
        settings = DocumentSettingsSchema.model_validate(parse_json_body(bytes(body), allow_empty=True))
    except ValidationError as exc:
        raise validation_error(exc) from None
    session = await service(request).start_upload(
        owner(request),
        store_id,
        display_name=settings.display_name,
        mime_type=request.headers.get("x-goog-upload-header-content-type") or settings.mime_type or "",
        declared_size=_int_header(request, "x-goog-upload-header-content-length"),
        custom_metadata=parse_custom_metadata(settings.custom_metadata),
        chunking=parse_chunking_config(settings.chunking_config),
    )
    version = request_version(request)
    path = f"/upload/{version}/fileSearchStores/" if version else "/upload/fileSearchStores/"
    url = (
        f"{base_url(request)}{path}{quote(store_id)}:uploadToFileSearchStore"
        f"?upload_id={quote(session.upload_id)}&upload_protocol=resumable"
    )
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
    c = container(request)
    uploads = c.uploads
    commands = {x.strip() for x in request.headers.get("x-goog-upload-command", "").lower().split(",")}
    try:
        stores = service(request)
        if not await stores.is_store_upload(upload_id):
            raise NotFound("No upload session has this upload_id: it may be unknown, finished or expired.")
        if "query" in commands:
            session = await uploads.query(upload_id)
            return Response(status_code=200, headers=_progress("active", session.received))
        if "cancel" in commands:
            await uploads.cancel(upload_id)
            await stores.forget_upload(upload_id)
            return Response(status_code=200, headers={_STATUS: "cancelled"})
        if not commands & {"upload", "finalize"}:
            raise InvalidArgument.at(
                "X-Goog-Upload-Command", "must be upload, 'upload, finalize', query or cancel"
            )
        result = await uploads.write(
            upload_id,
            request.stream() if "upload" in commands else _nothing(),
            offset=_int_header(request, "x-goog-upload-offset"),
            finalize="finalize" in commands,
        )
        if isinstance(result, StoredFile):
            doc = await stores.finish_upload(upload_id, result)
            return JSONResponse(operation_json(doc), headers={_STATUS: "final"})
    except OmnivecError as exc:
        if await uploads.is_open(upload_id):
            return _error(exc, "active")
        await _forget(request, upload_id)  # the session is over: so is its planned document
        return _error(exc, "final")
    except ClientDisconnect:
        log.info("store upload chunk interrupted by the client")
        return Response(status_code=400, headers={_STATUS: "active"})
    except Exception as exc:
        log.error("store upload chunk failed", exc_info=exc)
        return _error(_internal(), "active" if await uploads.is_open(upload_id) else "final")
    return Response(status_code=200, headers=_progress("active", result.received))


async def _forget(request: Request, upload_id: str) -> None:
    stores = container(request).search_stores
    if stores is not None:
        await stores.forget_upload(upload_id)
