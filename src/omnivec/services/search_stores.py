"""The File Search stores use case: stores, documents, their operations, and retrieval.

Stores, documents and operations belong to one owner (API key); another owner's are reported
exactly like missing ones. A store's chunks live in one collection of the vector store, named
after the store; the rows here are the truth about which documents exist and in what state.
Ingestion itself runs in the background (``services/search_store_ingestion.py`` driven by
``jobs/ingestion.py``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from omnivec.errors import FailedPrecondition, InvalidArgument, NotFound, OmnivecError
from omnivec.index.base import Filter, Hit, SearchMode
from omnivec.logging import get_logger
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.services.files import FilesService, file_id_of
from omnivec.services.store_points import VectorStoreHandle, collection_of
from omnivec.services.uploads import ResumableUploads
from omnivec.storage.interfaces import BlobStore, OverQuota
from omnivec.storage.local_blobs import new_blob_id
from omnivec.storage.records import Clock, StoredFile, UploadSession, utc_now
from omnivec.storage.sqlite_search_stores import SqliteSearchStoreStore, StoreGone
from omnivec.types import (
    ChunkingConfig,
    DocumentState,
    EmbedInput,
    EmbedOptions,
    MetadataEntry,
    ModelDescriptor,
    ModelKind,
    Part,
    RelevantChunk,
    SearchStore,
    StoreChunk,
    StoreDocument,
    TaskType,
    TextPart,
)

log = get_logger(__name__)

_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
_ALPHABET = string.ascii_lowercase + string.digits
_SUFFIX = 12
MAX_DISPLAY_NAME = 512
MAX_RESULTS = 100
MAX_QUERY_CHARS = 10_000
MAX_FILTER_CHARS = 4_096
MAX_STORES_PER_QUERY = 10
# Hits fetched beyond resultsCount, so documents still being ingested can be dropped.
_OVERFETCH = 10

FilterParser = Callable[[str], Filter | None]


@dataclass(frozen=True, slots=True)
class SearchStoreLimits:
    max_document_bytes: int = 100 * 1024 * 1024


def new_id(display_name: str) -> str:
    """Google's shape: a slug of the display name and 12 random characters, at most 40."""
    slug = re.sub(r"[^a-z0-9]+", "-", display_name.lower()).strip("-")[: 40 - _SUFFIX - 1].strip("-")
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(_SUFFIX))
    return f"{slug}-{suffix}" if slug else suffix


class SearchStoreService:
    def __init__(
        self,
        store: SqliteSearchStoreStore,
        blobs: BlobStore,
        files: FilesService,
        uploads: ResumableUploads,
        catalogue: ModelCatalogue,
        embeddings: EmbeddingService,
        vectors: VectorStoreHandle,
        parse_filter: FilterParser | None,
        limits: SearchStoreLimits | None = None,
        *,
        wake: Callable[[], None] = lambda: None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.files = files
        self.uploads = uploads
        self.catalogue = catalogue
        self.embeddings = embeddings
        self.vectors = vectors
        self.parse_filter = parse_filter
        self.limits = limits or SearchStoreLimits()
        self.wake = wake
        self.clock = clock

    # --- stores -----------------------------------------------------------------------------
    async def create_store(
        self, owner: str, display_name: str | None, embedding_model: str | None
    ) -> SearchStore:
        display = _display_name(display_name, "displayName")
        model = self._model(embedding_model)
        now = self.clock()
        asked = embedding_model.removeprefix("models/") if embedding_model else model.name
        record = SearchStore(owner, new_id(display), display, model.name, now, now, embedding_model=asked)
        vectors = await self.vectors.get()
        await asyncio.to_thread(vectors.create_collection, collection_of(record.store_id), model.dimensions)
        await asyncio.to_thread(self.store.create_store, record)
        return record

    async def get_store(self, owner: str, name: str) -> SearchStore:
        store_id = store_id_of(name)
        record = await asyncio.to_thread(self.store.get_store, owner, store_id)
        if record is None:
            raise NotFound(f"File search store fileSearchStores/{store_id} does not exist.")
        return record

    async def list_stores(self, owner: str, offset: int, limit: int) -> tuple[list[SearchStore], bool]:
        rows = await asyncio.to_thread(self.store.list_stores, owner, offset, limit + 1)
        return rows[:limit], len(rows) > limit

    async def delete_store(self, owner: str, name: str, *, force: bool) -> None:
        record = await self.get_store(owner, name)
        documents = record.active_documents + record.pending_documents + record.failed_documents
        if documents and not force:
            raise FailedPrecondition(
                f"File search store fileSearchStores/{record.store_id} has {documents} documents; "
                "delete them first or pass force=true."
            )
        removed = await asyncio.to_thread(self.store.remove_store, owner, record.store_id)
        if removed is None:
            raise NotFound(f"File search store fileSearchStores/{record.store_id} does not exist.")
        vectors = await self.vectors.get()
        await asyncio.to_thread(vectors.drop_collection, collection_of(record.store_id))
        for doc in removed:
            await asyncio.to_thread(self.blobs.delete, doc.blob_id)

    # --- documents --------------------------------------------------------------------------
    async def start_upload(
        self,
        owner: str,
        store_name: str,
        *,
        display_name: str | None,
        mime_type: str,
        declared_size: int | None,
        custom_metadata: tuple[MetadataEntry, ...],
        chunking: ChunkingConfig,
    ) -> UploadSession:
        """A resumable upload of the Files API, whose bytes become a document when it finishes."""
        record = await self.get_store(owner, store_name)
        self._check_served(record)
        display = _display_name(display_name, "displayName")
        if declared_size is not None:
            self.check_size(declared_size)
        session = await self.uploads.start(
            owner, name=None, display_name=display, mime_type=mime_type, declared_size=declared_size
        )
        doc = self._new_document(
            record, display, session.mime_type, 0, "", "", "upload", custom_metadata, chunking
        )
        await asyncio.to_thread(self.store.open_upload, session.upload_id, doc)
        return session

    async def forget_upload(self, upload_id: str) -> None:
        """An upload ended without a document (cancelled, expired, refused)."""
        await asyncio.to_thread(self.store.close_upload, upload_id)

    async def is_store_upload(self, upload_id: str) -> bool:
        return await asyncio.to_thread(self.store.upload, upload_id) is not None

    async def finish_upload(self, upload_id: str, received: StoredFile) -> StoreDocument:
        """The upload's bytes (received as a file) become the document, in one transaction."""
        planned = await asyncio.to_thread(self.store.upload, upload_id)
        if planned is None:
            raise NotFound("No upload session has this upload_id.")
        doc = replace(
            planned,
            size_bytes=received.size_bytes,
            sha256_hex=received.sha256_hex,
            blob_id=received.blob_id,
            mime_type=received.mime_type,
        )
        try:
            self.check_size(received.size_bytes)
            await asyncio.to_thread(
                self.store.finish_upload,
                upload_id,
                received.file_id,
                doc,
                quota_bytes=self.files.limits.max_total_bytes,
            )
        except (OmnivecError, OverQuota, StoreGone) as exc:
            await asyncio.to_thread(self.store.close_upload, upload_id)
            await self.files.delete(received.owner, received.file_id)
            if isinstance(exc, StoreGone):
                raise NotFound(f"File search store fileSearchStores/{doc.store_id} does not exist.") from None
            if isinstance(exc, OverQuota):
                total = await asyncio.to_thread(self.store.total_bytes, received.owner)
                raise self.files.quota_error(received.size_bytes, total) from None
            raise
        self.wake()
        return doc

    async def import_file(
        self,
        owner: str,
        store_name: str,
        file_name: str | None,
        custom_metadata: tuple[MetadataEntry, ...],
        chunking: ChunkingConfig,
    ) -> StoreDocument:
        """A document from a file of the Files API: its bytes are copied, so the document
        outlives the file's expiry."""
        record = await self.get_store(owner, store_name)
        self._check_served(record)
        if not file_name:
            raise InvalidArgument.at("fileName", "is required: the name (files/ID) of an uploaded file")
        source = await self.files.get(owner, file_id_of(file_name, "fileName"))
        self.check_size(source.size_bytes)
        blob_id = new_blob_id()
        await asyncio.to_thread(self.blobs.write, blob_id, _read(self.blobs, source.blob_id))
        doc = self._new_document(
            record,
            source.display_name or source.file_id,
            source.mime_type,
            source.size_bytes,
            source.sha256_hex,
            blob_id,
            "import",
            custom_metadata,
            chunking,
        )
        await self._add(doc)
        return doc

    async def add_bytes(
        self,
        owner: str,
        store_name: str,
        data: bytes,
        *,
        display_name: str,
        mime_type: str,
        sha256_hex: str,
        custom_metadata: tuple[MetadataEntry, ...] = (),
        chunking: ChunkingConfig | None = None,
    ) -> StoreDocument:
        """A document from bytes in hand (the library and the command line)."""
        record = await self.get_store(owner, store_name)
        self._check_served(record)
        self.check_size(len(data))
        blob_id = new_blob_id()
        await asyncio.to_thread(self.blobs.write, blob_id, [data])
        doc = self._new_document(
            record,
            _display_name(display_name, "displayName"),
            mime_type,
            len(data),
            sha256_hex,
            blob_id,
            "upload",
            custom_metadata,
            chunking or ChunkingConfig(),
        )
        await self._add(doc)
        return doc

    async def documents_named(self, owner: str, store_name: str, display_name: str) -> list[StoreDocument]:
        record = await self.get_store(owner, store_name)
        return await asyncio.to_thread(self.store.documents_named, record.store_id, display_name)

    async def _add(self, doc: StoreDocument) -> None:
        try:
            await asyncio.to_thread(
                self.store.add_document, doc, quota_bytes=self.files.limits.max_total_bytes
            )
        except OverQuota:
            await asyncio.to_thread(self.blobs.delete, doc.blob_id)
            total = await asyncio.to_thread(self.store.total_bytes, doc.owner)
            raise self.files.quota_error(doc.size_bytes, total) from None
        except StoreGone:
            await asyncio.to_thread(self.blobs.delete, doc.blob_id)
            raise NotFound(f"File search store fileSearchStores/{doc.store_id} does not exist.") from None
        except BaseException:
            await asyncio.to_thread(self.blobs.delete, doc.blob_id)
            raise
        self.wake()

    def check_size(self, size: int) -> None:
        if size > self.limits.max_document_bytes:
            raise InvalidArgument(
                f"The document is {size} bytes, more than the {self.limits.max_document_bytes} bytes "
                "a File Search store document may have."
            )

    async def get_document(self, owner: str, store_name: str, document: str) -> StoreDocument:
        store_id = store_id_of(store_name)
        document_id = _part_id(document, "documents")
        doc = await asyncio.to_thread(self.store.get_document, owner, store_id, document_id)
        if doc is None:
            raise NotFound(f"Document fileSearchStores/{store_id}/documents/{document_id} does not exist.")
        return doc

    async def list_documents(
        self, owner: str, store_name: str, offset: int, limit: int
    ) -> tuple[list[StoreDocument], bool]:
        record = await self.get_store(owner, store_name)
        rows = await asyncio.to_thread(self.store.list_documents, record.store_id, offset, limit + 1)
        return rows[:limit], len(rows) > limit

    async def delete_document(self, owner: str, store_name: str, document: str, *, force: bool) -> None:
        doc = await self.get_document(owner, store_name, document)
        if doc.chunk_count and not force:
            raise FailedPrecondition(
                f"Document {doc.document_id} has {doc.chunk_count} chunks; "
                "pass force=true to delete it with them."
            )
        removed = await asyncio.to_thread(self.store.remove_document, owner, doc.store_id, doc.document_id)
        if removed is None:
            raise NotFound(
                f"Document fileSearchStores/{doc.store_id}/documents/{doc.document_id} does not exist."
            )
        vectors = await self.vectors.get()
        await asyncio.to_thread(
            vectors.delete_where, collection_of(doc.store_id), "document", doc.document_id
        )
        await asyncio.to_thread(self.blobs.delete, doc.blob_id)

    async def media(
        self, owner: str, store_name: str, media_id: str
    ) -> tuple[StoreDocument, Iterator[bytes]]:
        """The source bytes behind a chunk's ``mediaId`` (iterate off the event loop)."""
        doc = await self.get_document(owner, store_name, media_id)
        return doc, await asyncio.to_thread(self.blobs.read, doc.blob_id)

    async def get_operation(self, owner: str, name: str) -> StoreDocument:
        """An ingestion operation is its document's life: ``fileSearchStores/S/operations/D``
        (import) or ``fileSearchStores/S/upload/operations/D`` (upload)."""
        match = _OPERATION.match(name)
        if match is None:
            raise NotFound(f"Operation {name[:200]} does not exist.")
        origin = "upload" if match["upload"] else "import"
        try:
            doc = await self.get_document(owner, match["store"], match["op"])
        except (NotFound, InvalidArgument):
            raise NotFound(f"Operation {name[:200]} does not exist.") from None
        if doc.origin != origin:
            raise NotFound(f"Operation {name[:200]} does not exist.")
        return doc

    # --- retrieval ----------------------------------------------------------------------------
    async def query(
        self,
        owner: str,
        store_names: Sequence[str],
        *,
        text: str | None,
        parts: Sequence[Part] | None = None,
        results_count: int = 10,
        metadata_filter: str | None = None,
        mode: SearchMode = SearchMode.HYBRID,
    ) -> list[RelevantChunk]:
        if not store_names:
            raise InvalidArgument.at("fileSearchStoreNames", "name at least one store")
        if len(store_names) > MAX_STORES_PER_QUERY:
            raise InvalidArgument.at(
                "fileSearchStoreNames", f"may name at most {MAX_STORES_PER_QUERY} stores"
            )
        if not 1 <= results_count <= MAX_RESULTS:
            raise InvalidArgument.at("resultsCount", f"must be between 1 and {MAX_RESULTS}")
        if (text is None) == (parts is None):
            raise InvalidArgument("Give exactly one of query (text) or content (a Content to search with).")
        if text is not None and not text.strip():
            raise InvalidArgument.at("query", "must not be empty")
        if text is not None and len(text) > MAX_QUERY_CHARS:
            raise InvalidArgument.at("query", f"must be at most {MAX_QUERY_CHARS} characters")
        if parts is not None and mode is not SearchMode.DENSE:
            # Words for BM25 come only from the text parts of a Content.
            words = " ".join(p.text for p in parts if isinstance(p, TextPart))
            if not words.strip():
                mode = SearchMode.DENSE
        stores = [await self.get_store(owner, n) for n in dict.fromkeys(store_names)]
        models = {s.model for s in stores}
        if len(models) > 1:
            raise InvalidArgument.at(
                "fileSearchStoreNames",
                f"the stores use different embedding models ({', '.join(sorted(models))})",
            )
        model = self._check_served(stores[0])
        where = self._filter(metadata_filter)
        lexical = (
            text if text is not None else " ".join(p.text for p in parts or () if isinstance(p, TextPart))
        )
        vector = None
        if mode is not SearchMode.LEXICAL:
            content = EmbedInput(
                tuple(parts) if parts is not None else (TextPart(text or ""),),
                EmbedOptions(task_type=TaskType.RETRIEVAL_QUERY),
            )
            (embedding,) = await self.embeddings.embed(model.name, [content], field_prefix="", owner=owner)
            vector = np.asarray(embedding.values, dtype=np.float32)
        vectors = await self.vectors.get()
        hits: list[tuple[SearchStore, Hit]] = []
        for s in stores:
            found = await asyncio.to_thread(
                vectors.search,
                collection_of(s.store_id),
                vector=vector,
                text=lexical if mode is not SearchMode.DENSE else None,
                mode=mode,
                limit=results_count + _OVERFETCH,
                where=where,
            )
            hits.extend((s, h) for h in found)
        hits.sort(key=lambda sh: sh[1].score, reverse=True)
        return await self._relevant(hits, results_count)

    async def _relevant(self, hits: list[tuple[SearchStore, Hit]], limit: int) -> list[RelevantChunk]:
        wanted: dict[str, list[str]] = {}
        for s, h in hits:
            wanted.setdefault(s.store_id, []).append(str(h.payload.get("document", "")))
        docs: dict[tuple[str, str], StoreDocument] = {}
        for store_id, ids in wanted.items():
            found = await asyncio.to_thread(self.store.get_documents, store_id, ids)
            docs.update(((store_id, d), doc) for d, doc in found.items())
        out: list[RelevantChunk] = []
        for s, h in hits:
            doc = docs.get((s.store_id, str(h.payload.get("document", ""))))
            if doc is None or doc.state is not DocumentState.ACTIVE:
                continue  # deleted, or still being ingested
            chunk = StoreChunk(
                index=int(h.payload.get("chunk_index", 0)),
                text=h.text,
                page_number=_opt_int(h.payload.get("page_number")),
                start_offset_s=_opt_float(h.payload.get("start_offset_s")),
                end_offset_s=_opt_float(h.payload.get("end_offset_s")),
            )
            media = h.payload.get("media_id")
            media_id = f"fileSearchStores/{s.store_id}/media/{media}" if media else None
            out.append(RelevantChunk(float(h.score), chunk, doc, media_id))
            if len(out) == limit:
                break
        return out

    def _filter(self, expression: str | None) -> Filter | None:
        if expression is None or not expression.strip():
            return None
        if len(expression) > MAX_FILTER_CHARS:
            raise InvalidArgument.at("metadataFilter", f"must be at most {MAX_FILTER_CHARS} characters")
        if self.parse_filter is None:
            raise FailedPrecondition(
                "metadataFilter needs the vector-store filter support, which is not installed."
            )
        return self.parse_filter(expression)

    # --- helpers ----------------------------------------------------------------------------
    def _model(self, requested: str | None) -> ModelDescriptor:
        if requested:
            try:
                model = self.catalogue.resolve(requested)
            except NotFound:
                raise InvalidArgument.at(
                    "embeddingModel", f"{requested[:200]} is not a model this server serves (see models.list)"
                ) from None
            if model.kind is ModelKind.RERANK:
                raise InvalidArgument.at(
                    "embeddingModel", f"{model.name} is a reranker; a store needs an embedding model"
                )
            return model
        served = [m for m in self.catalogue.list() if m.alias_of is None and m.kind is ModelKind.EMBEDDING]
        if not served:
            raise FailedPrecondition("This server serves no embedding model.")
        return served[0]

    def _check_served(self, store: SearchStore) -> ModelDescriptor:
        try:
            return self.catalogue.resolve(store.model)
        except NotFound:
            raise FailedPrecondition(
                f"File search store fileSearchStores/{store.store_id} was made with model {store.model}, "
                "which this server no longer serves; serve it again (--model) to use this store."
            ) from None

    def _new_document(
        self,
        store: SearchStore,
        display_name: str,
        mime_type: str,
        size: int,
        sha256_hex: str,
        blob_id: str,
        origin: str,
        custom_metadata: tuple[MetadataEntry, ...],
        chunking: ChunkingConfig,
    ) -> StoreDocument:
        now = self.clock()
        return StoreDocument(
            owner=store.owner,
            store_id=store.store_id,
            document_id=new_id(display_name),
            display_name=display_name,
            mime_type=mime_type or "application/octet-stream",
            size_bytes=size,
            sha256_hex=sha256_hex,
            blob_id=blob_id,
            origin=origin,
            state=DocumentState.PENDING,
            custom_metadata=custom_metadata,
            chunking=chunking,
            create_time=now,
            update_time=now,
        )


_OPERATION = re.compile(r"^fileSearchStores/(?P<store>[^/]+)/(?P<upload>upload/)?operations/(?P<op>[^/]+)$")


def store_id_of(name: str) -> str:
    return _part_id(name, "fileSearchStores")


def _part_id(name: str, collection: str) -> str:
    """``collection/abc`` (or a longer name ending so) or ``abc`` -> ``abc``; a malformed id is a
    404 like a missing one, since ids name nothing else."""
    value = name.rsplit("/", 1)[-1] if "/" in name else name
    if not _ID.match(value):
        raise NotFound(f"{collection}/{value[:80]} does not exist.")
    return value


def _display_name(value: str | None, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument.at(where, "must be a string")
    if len(value) > MAX_DISPLAY_NAME:
        raise InvalidArgument.at(where, f"must be at most {MAX_DISPLAY_NAME} characters")
    return value


def _read(blobs: BlobStore, blob_id: str) -> Iterator[bytes]:
    yield from blobs.read(blob_id)


def _opt_int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _opt_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
