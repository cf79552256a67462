"""files.get, files.list, files.delete and files.download (uploads: routes/upload.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from omnivec.api.context import api_version, container, owner
from omnivec.api.pagination import decode_token, encode_token, page_size
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.files import file_json
from omnivec.api.urls import base_url
from omnivec.errors import NotFound
from omnivec.services.file_names import file_id_from_uri

router = APIRouter()


@router.get("/files")
async def list_files(request: Request) -> JSONResponse:
    size = page_size(request.query_params.get("pageSize"), default=10, maximum=100)
    start = decode_token("files", request.query_params.get("pageToken"))
    page, more = await container(request).files.list_files(owner(request), start, size)
    base, version = base_url(request), api_version(request)
    body: dict[str, object] = {}
    if page:  # Google omits empty lists
        body["files"] = [file_json(f, base, version) for f in page]
    if more:
        body["nextPageToken"] = encode_token("files", start + size)
    return JSONResponse(body)


# Declared before files/{file_id}, which would otherwise also match "ID:download".
@router.get("/files/{file_id}:download")
async def download_file(request: Request, file_id: str) -> StreamingResponse:
    record, chunks = await container(request).files.download(owner(request), file_id)
    return StreamingResponse(
        chunks,  # a blocking iterator: Starlette reads it on a worker thread
        media_type=record.mime_type,
        headers={
            "Content-Length": str(record.size_bytes),
            "Content-Disposition": f'attachment; filename="{record.file_id}"',
        },
    )


# The JavaScript SDK's files.download({file: File}) strips only https:// file uris from the
# path; over http:// it asks for files/http://HOST/v1beta/files/ID:download. That is its
# documented usage, so the whole uri is accepted in place of the id.
@router.get("/files/{scheme}://{rest:path}")
async def download_file_by_uri(request: Request, scheme: str, rest: str) -> StreamingResponse:
    uri, verb, _ = f"{scheme}://{rest}".rpartition(":download")
    file_id = file_id_from_uri(uri) if verb and not _ else None
    if file_id is None:
        raise NotFound(f"{request.url.path[:200]} is not a file of this server.")
    return await download_file(request, file_id)


@router.get("/files/{file_id}")
async def get_file(request: Request, file_id: str) -> JSONResponse:
    record = await container(request).files.get(owner(request), file_id)
    return JSONResponse(file_json(record, base_url(request), api_version(request)))


@router.delete("/files/{file_id}")
async def delete_file(request: Request, file_id: str) -> JSONResponse:
    await container(request).files.delete(owner(request), file_id)
    return JSONResponse({})
