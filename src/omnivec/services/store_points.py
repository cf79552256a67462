"""A store's chunks as vector-store points: the collection a store lives in, what each point
carries, and the handle that opens the vector store on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from omnivec.errors import FailedPrecondition
from omnivec.index.base import VectorStore
from omnivec.types import StoreChunk, StoreDocument


def collection_of(store_id: str) -> str:
    return f"store-{store_id}"


def point_payload(doc: StoreDocument, chunk: StoreChunk, *, media: bool = False) -> dict[str, object]:
    """What a chunk's point carries: our own fields at the top, custom metadata below."""
    payload: dict[str, object] = {
        "store": doc.store_id,
        "document": doc.document_id,
        "chunk_index": chunk.index,
        "title": doc.display_name,
        "metadata": {
            e.key: list(e.value) if isinstance(e.value, tuple) else e.value for e in doc.custom_metadata
        },
    }
    if chunk.page_number is not None:
        payload["page_number"] = chunk.page_number
    if media or chunk.page_number is not None:  # the source (image, PDF) is served as media
        payload["media_id"] = doc.document_id
    if chunk.start_offset_s is not None:
        payload["start_offset_s"] = chunk.start_offset_s
    if chunk.end_offset_s is not None:
        payload["end_offset_s"] = chunk.end_offset_s
    return payload


class VectorStoreHandle:
    """Opens the vector store on first use (an embedded engine holds files open; commands that
    never touch a store should not), and closes it with the container."""

    def __init__(self, opener: Callable[[], VectorStore] | None) -> None:
        self._opener = opener
        self._store: VectorStore | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> VectorStore:
        if self._store is None:
            if self._opener is None:
                raise FailedPrecondition(
                    "File Search stores are not available: this server has no vector store "
                    "(install omnivec with the index extra)."
                )
            async with self._lock:
                if self._store is None:
                    self._store = await asyncio.to_thread(self._opener)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
