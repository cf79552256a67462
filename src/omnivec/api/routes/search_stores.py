"""The ``fileSearchStores`` collection: stores, documents, operations, media, and ``:query``
(omnivec's retrieval call). Uploads into a store: ``routes/search_store_upload.py``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from omnivec.api.context import container, owner, read_json
from omnivec.api.pagination import decode_token, encode_token, page_size
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.search_stores import (
    CreateFileSearchStoreSchema,
    ImportFileSchema,
    QueryFileSearchStoreSchema,
)
from omnivec.errors import FailedPrecondition, InvalidArgument
from omnivec.index.base import SearchMode
from omnivec.services.search_stores import SearchStoreService
from omnivec.wire.search_stores import (
    document_json,
    operation_json,
    parse_chunking_config,
    parse_custom_metadata,
    parse_search_mode,
    relevant_chunks_json,
    store_json,
)

router = APIRouter()
_MAX_PAGE = 20


def service(request: Request) -> SearchStoreService:
    stores = container(request).search_stores
    if stores is None:
        raise FailedPrecondition(
            "File Search stores need a SQLite data directory, which this server does not use."
        )
    return stores


def force(request: Request) -> bool:
    raw = request.query_params.get("force", "")
    if raw.lower() in ("", "false", "0"):
        return False
    if raw.lower() in ("true", "1"):
        return True
    raise InvalidArgument.at("force", f"must be true or false (got {raw[:20]!r})")


# --- stores ------------------------------------------------------------------------------------
@router.post("/fileSearchStores")
async def create_store(request: Request) -> JSONResponse:
    body = await read_json(request, CreateFileSearchStoreSchema, allow_empty=True)
    store = await service(request).create_store(owner(request), body.display_name, body.embedding_model)
    return JSONResponse(store_json(store))


@router.get("/fileSearchStores")
async def list_stores(request: Request) -> JSONResponse:
    size = page_size(request.query_params.get("pageSize"), default=10, maximum=_MAX_PAGE)
    start = decode_token("fileSearchStores", request.query_params.get("pageToken"))
    stores, more = await service(request).list_stores(owner(request), start, size)
    body: dict[str, object] = {}
    if stores:
        body["fileSearchStores"] = [store_json(s) for s in stores]
    if more:
        body["nextPageToken"] = encode_token("fileSearchStores", start + size)
    return JSONResponse(body)


@router.post("/fileSearchStores:query")
async def query_stores(request: Request) -> JSONResponse:
    body = await read_json(request, QueryFileSearchStoreSchema)
    return await _query(request, body, body.file_search_store_names or [])


@router.get("/fileSearchStores/{store_id}")
async def get_store(request: Request, store_id: str) -> JSONResponse:
    return JSONResponse(store_json(await service(request).get_store(owner(request), store_id)))


@router.delete("/fileSearchStores/{store_id}")
async def delete_store(request: Request, store_id: str) -> JSONResponse:
    await service(request).delete_store(owner(request), store_id, force=force(request))
    return JSONResponse({})


@router.post("/fileSearchStores/{store_id}:importFile")
async def import_file(request: Request, store_id: str) -> JSONResponse:
    body = await read_json(request, ImportFileSchema)
    doc = await service(request).import_file(
        owner(request),
        store_id,
        body.file_name,
        parse_custom_metadata(body.custom_metadata),
        parse_chunking_config(body.chunking_config),
    )
    return JSONResponse(operation_json(doc))


@router.post("/fileSearchStores/{store_id}:query")
async def query_store(request: Request, store_id: str) -> JSONResponse:
    body = await read_json(request, QueryFileSearchStoreSchema)
    if body.file_search_store_names:
        raise InvalidArgument.at(
            "fileSearchStoreNames",
            "name the stores with POST fileSearchStores:query, or query this one alone",
        )
    return await _query(request, body, [store_id])


async def _query(request: Request, body: QueryFileSearchStoreSchema, stores: list[str]) -> JSONResponse:
    parts = [p.to_domain() for p in body.content.parts] if body.content is not None else None
    if body.content is not None and not parts:
        raise InvalidArgument.at("content.parts", "must hold at least one part")
    hits = await service(request).query(
        owner(request),
        stores,
        text=body.query,
        parts=parts,
        results_count=10 if body.results_count is None else body.results_count,
        metadata_filter=body.metadata_filter,
        mode=SearchMode(parse_search_mode(body.search_mode)),
    )
    return JSONResponse(relevant_chunks_json(hits))


# --- operations ----------------------------------------------------------------------------------
@router.get("/fileSearchStores/{store_id}/operations/{op}")
async def get_import_operation(request: Request, store_id: str, op: str) -> JSONResponse:
    doc = await service(request).get_operation(owner(request), f"fileSearchStores/{store_id}/operations/{op}")
    return JSONResponse(operation_json(doc))


@router.get("/fileSearchStores/{store_id}/upload/operations/{op}")
async def get_upload_operation(request: Request, store_id: str, op: str) -> JSONResponse:
    name = f"fileSearchStores/{store_id}/upload/operations/{op}"
    doc = await service(request).get_operation(owner(request), name)
    return JSONResponse(operation_json(doc))


# --- documents and media ---------------------------------------------------------------------------
@router.get("/fileSearchStores/{store_id}/documents")
async def list_documents(request: Request, store_id: str) -> JSONResponse:
    size = page_size(request.query_params.get("pageSize"), default=10, maximum=_MAX_PAGE)
    start = decode_token("documents", request.query_params.get("pageToken"))
    docs, more = await service(request).list_documents(owner(request), store_id, start, size)
    body: dict[str, object] = {}
    if docs:
        body["documents"] = [document_json(d) for d in docs]
    if more:
        body["nextPageToken"] = encode_token("documents", start + size)
    return JSONResponse(body)


@router.get("/fileSearchStores/{store_id}/documents/{document_id}")
async def get_document(request: Request, store_id: str, document_id: str) -> JSONResponse:
    doc = await service(request).get_document(owner(request), store_id, document_id)
    return JSONResponse(document_json(doc))


@router.delete("/fileSearchStores/{store_id}/documents/{document_id}")
async def delete_document(request: Request, store_id: str, document_id: str) -> JSONResponse:
    await service(request).delete_document(owner(request), store_id, document_id, force=force(request))
    return JSONResponse({})


@router.get("/fileSearchStores/{store_id}/media/{media_id}")
async def download_media(request: Request, store_id: str, media_id: str) -> StreamingResponse:
    doc, chunks = await service(request).media(owner(request), store_id, media_id)
    return StreamingResponse(
        chunks,  # a blocking iterator: Starlette reads it on a worker thread
        media_type=doc.mime_type,
        headers={"Content-Length": str(doc.size_bytes)},
    )
