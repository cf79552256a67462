"""Ingesting one search-store document: read its text, chunk it, embed the chunks at batch
priority, index them, then mark it ACTIVE (or FAILED with the reason). A PDF in a store whose
model takes images gets, after each page's text chunks, one chunk embedded from the page's image
(rendered a step at a time, so a long PDF never holds all its page images at once).

Restart safety: chunking is deterministic and every point's id is derived from (store,
document, chunk index), so running a document again after a crash overwrites the points it had
written instead of adding to them; the document becomes ACTIVE only once all are indexed.
Vectors are kept by content (model, title, text), so the same content is embedded once.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnivec.errors import InvalidArgument, NotFound, OmnivecError
from omnivec.index.base import Point
from omnivec.logging import get_logger
from omnivec.media.chunking import chunk_size, split_words
from omnivec.media.document_text import DocumentReader, resolve_mime
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.services.store_points import VectorStoreHandle, collection_of, point_payload
from omnivec.storage.interfaces import BlobStore
from omnivec.storage.records import Clock, utc_now
from omnivec.storage.sqlite_search_stores import SqliteSearchStoreStore
from omnivec.types import (
    BlobPart,
    DocumentState,
    EmbedInput,
    EmbedOptions,
    Modality,
    ModelDescriptor,
    Part,
    Priority,
    StoreChunk,
    StoreDocument,
    TaskType,
    TextPart,
)

log = get_logger(__name__)

_POINT_NAMESPACE = uuid.UUID("6f1f7a52-3c1e-4c55-9a57-1f4f0d7c2b10")
# Above this a document is refused before it is chunked (a 100 MB text is about 15 M words).
MAX_CHUNKS_PER_DOCUMENT = 200_000


@dataclass(frozen=True, slots=True)
class PageImage:
    """A chunk to be embedded from the image of a PDF page; rendered when its step comes."""

    page_number: int


# What a chunk is embedded from: its text, the document's image, or a PDF page's image.
ChunkSource = Part | PageImage


@dataclass(frozen=True, slots=True)
class IngestionSettings:
    chunks_per_step: int = 32  # chunks embedded and indexed together
    media_window_s: float = 30.0  # audio and video documents: seconds per chunk


def point_id(store_id: str, document_id: str, index: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{store_id}/{document_id}/{index}"))


class DocumentIngestor:
    def __init__(
        self,
        store: SqliteSearchStoreStore,
        blobs: BlobStore,
        catalogue: ModelCatalogue,
        embeddings: EmbeddingService,
        vectors: VectorStoreHandle,
        reader: DocumentReader,
        settings: IngestionSettings | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.catalogue = catalogue
        self.embeddings = embeddings
        self.vectors = vectors
        self.reader = reader
        self.settings = settings or IngestionSettings()
        self.clock = clock

    async def ingest(self, doc: StoreDocument) -> DocumentState | None:
        """Bring ``doc`` to ACTIVE or FAILED; returns the new state, or None when the document
        or its store went away meanwhile. Errors a retry could cure (overload) propagate."""
        store = await asyncio.to_thread(self.store.get_store, None, doc.store_id)
        if store is None:  # cannot happen through the service; never leave it PENDING anyway
            return await self.fail(doc, "The document's store no longer exists.")
        try:
            model = self.catalogue.resolve(store.model)
        except NotFound:
            return await self.fail(
                doc, f"The store's model {store.model} is not served by this server any more."
            )
        data = await asyncio.to_thread(lambda: b"".join(self.blobs.read(doc.blob_id)))
        try:
            pieces = await asyncio.to_thread(self._chunks, doc, model, data)
        except InvalidArgument as exc:
            return await self.fail(doc, exc.message)
        if not pieces:
            return await self.fail(doc, "The document has no text to index.")
        vectors = await self.vectors.get()
        collection = collection_of(doc.store_id)
        await asyncio.to_thread(vectors.create_collection, collection, model.dimensions)
        step = self.settings.chunks_per_step
        for start in range(0, len(pieces), step):
            try:
                batch = await self._with_page_images(pieces[start : start + step], data)
                embedded = await self._vectors(model.name, doc, batch)
            except InvalidArgument as exc:
                first = pieces[start][0].index
                return await self.fail(doc, f"Chunk {first} could not be embedded: {exc.message}")
            points = [
                Point(
                    point_id(doc.store_id, doc.document_id, c.index),
                    v,
                    c.text,
                    point_payload(doc, c, media=isinstance(part, BlobPart)),
                )
                for (c, part), v in zip(batch, embedded, strict=True)
            ]
            await asyncio.to_thread(vectors.upsert, collection, points)
        finished = await asyncio.to_thread(
            self.store.finish_document,
            doc.store_id,
            doc.document_id,
            DocumentState.ACTIVE,
            self.clock(),
            chunk_count=len(pieces),
        )
        if not finished:  # deleted while it was being ingested: take back what was written
            await asyncio.to_thread(vectors.delete_where, collection, "document", doc.document_id)
            return None
        return DocumentState.ACTIVE

    async def optimize(self, store_id: str) -> None:
        """Build the vector store's indexes for a store's new points (searches are exact, and
        slower, on points not yet optimized). A store deleted meanwhile is skipped."""
        vectors = await self.vectors.get()
        collection = collection_of(store_id)
        if not await asyncio.to_thread(vectors.has_collection, collection):
            return
        try:
            await asyncio.to_thread(vectors.optimize, collection)
        except OmnivecError:  # dropped between the check and the call
            log.info("store %s went away before its indexes were built", store_id)

    def _chunks(
        self, doc: StoreDocument, model: ModelDescriptor, data: bytes
    ) -> list[tuple[StoreChunk, ChunkSource]]:
        """The document's chunks, each with what is embedded for it: its text; for an image the
        image itself (one chunk, named by the document's display name); for a PDF page, when
        the model takes images, also the page's image (a chunk named by the page)."""
        mime = resolve_mime(doc.mime_type, doc.display_name, data[:16])
        if mime.startswith("image/"):
            if Modality.IMAGE not in model.modalities:
                raise InvalidArgument(
                    f"Images are not supported by this store's model {model.name}, which takes only "
                    "text; use a store whose model takes images."
                )
            return [(StoreChunk(0, doc.display_name), BlobPart(mime, data))]
        if mime.startswith(("audio/", "video/")):
            return self._time_windows(doc, model, data, mime)
        pages = self.reader.pages(data, mime)
        size = chunk_size(
            doc.chunking.max_tokens_per_chunk, doc.chunking.max_overlap_tokens, model.input_token_limit
        )
        page_images = Modality.IMAGE in model.modalities
        chunks: list[tuple[StoreChunk, ChunkSource]] = []
        for page in pages:
            for text in split_words(page.text, size):
                chunks.append((StoreChunk(len(chunks), text, page.page_number), TextPart(text)))
            if page_images and page.page_number is not None:
                label = f"{doc.display_name or 'document'}, page {page.page_number}"
                chunks.append((StoreChunk(len(chunks), label, page.page_number), PageImage(page.page_number)))
            if len(chunks) > MAX_CHUNKS_PER_DOCUMENT:
                raise InvalidArgument(f"The document has more than {MAX_CHUNKS_PER_DOCUMENT} chunks.")
        return chunks

    def _time_windows(
        self, doc: StoreDocument, model: ModelDescriptor, data: bytes, mime: str
    ) -> list[tuple[StoreChunk, ChunkSource]]:
        """Audio and video: one chunk per time window, each embedded from its clip of the file
        and knowing its start and end seconds."""
        modality, clips = self.reader.media_clips(data, mime, self.settings.media_window_s)
        if modality not in model.modalities:
            noun = modality.value.capitalize()
            raise InvalidArgument(
                f"{noun} is not supported by this store's model {model.name}; use a store whose "
                f"model takes {noun.lower()}."
            )
        if len(clips) > MAX_CHUNKS_PER_DOCUMENT:
            raise InvalidArgument(f"The document has more than {MAX_CHUNKS_PER_DOCUMENT} chunks.")
        name = doc.display_name or "document"
        chunks: list[tuple[StoreChunk, ChunkSource]] = []
        for i, clip in enumerate(clips):
            end = clip.end_s if clip.end_s is not None else clip.start_s
            label = f"{name}, {clip.start_s:g}-{end:g} s"
            chunks.append((StoreChunk(i, label, None, clip.start_s, end), BlobPart(mime, data, clip)))
        return chunks

    async def _with_page_images(
        self, chunks: Sequence[tuple[StoreChunk, ChunkSource]], data: bytes
    ) -> list[tuple[StoreChunk, Part]]:
        """The step's chunks with each page image rendered (in the PDF workers)."""
        wanted = [source.page_number for _, source in chunks if isinstance(source, PageImage)]
        images = await asyncio.to_thread(self.reader.page_images, data, wanted) if wanted else {}
        ready: list[tuple[StoreChunk, Part]] = []
        for chunk, source in chunks:
            if isinstance(source, PageImage):
                if source.page_number not in images:
                    raise InvalidArgument(f"Page {source.page_number} of the PDF could not be rendered.")
                ready.append((chunk, BlobPart("image/png", images[source.page_number])))
            else:
                ready.append((chunk, source))
        return ready

    async def _vectors(
        self, model: str, doc: StoreDocument, chunks: Sequence[tuple[StoreChunk, Part]]
    ) -> list[np.ndarray]:
        # Text is keyed by its own words, media by the document's bytes (and the page).
        keys = [_vector_key(model, doc.display_name, _content_key(doc, c, p)) for c, p in chunks]
        cached = await asyncio.to_thread(self.store.cached_vectors, keys)
        missing = [i for i, k in enumerate(keys) if k not in cached]
        if missing:
            inputs = [
                EmbedInput(
                    (chunks[i][1],),
                    EmbedOptions(task_type=TaskType.RETRIEVAL_DOCUMENT, title=doc.display_name or None),
                )
                for i in missing
            ]
            embedded = await self.embeddings.embed(
                model, inputs, priority=Priority.BATCH, field_prefix="chunks", owner=doc.owner
            )
            fresh = {
                keys[i]: np.asarray(e.values, dtype=np.float32).tobytes()
                for i, e in zip(missing, embedded, strict=True)
            }
            await asyncio.to_thread(self.store.cache_vectors, fresh.items())
            cached.update(fresh)
        return [np.frombuffer(cached[k], dtype=np.float32) for k in keys]

    async def fail(self, doc: StoreDocument, reason: str) -> DocumentState | None:
        log.info("document %s/%s failed: %s", doc.store_id, doc.document_id, reason)
        done = await asyncio.to_thread(
            self.store.finish_document,
            doc.store_id,
            doc.document_id,
            DocumentState.FAILED,
            self.clock(),
            error=reason,
        )
        return DocumentState.FAILED if done else None


def _content_key(doc: StoreDocument, chunk: StoreChunk, part: Part) -> str:
    if isinstance(part, TextPart):
        return chunk.text
    if chunk.page_number is not None:
        return f"{doc.sha256_hex}#page={chunk.page_number}"
    if chunk.start_offset_s is not None:
        return f"{doc.sha256_hex}#t={chunk.start_offset_s:g}-{chunk.end_offset_s:g}"
    return doc.sha256_hex


def _vector_key(model: str, title: str, text: str) -> str:
    digest = hashlib.sha256()
    for piece in (model, title, text):
        digest.update(piece.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying the document for (the model is busy, shutting down)."""
    return isinstance(exc, OmnivecError) and exc.status in (
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
    )
