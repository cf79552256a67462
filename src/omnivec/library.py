"""The Python library door: the same services as the server, in-process, without HTTP.

Methods are named after the REST methods::

    from omnivec import Embedder
    with Embedder() as e:
        vec = e.embed_content("gemini-embedding-001", "Hello world", task_type="RETRIEVAL_QUERY")
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from omnivec.bootstrap import Container, build
from omnivec.runtime.backends.base import Backend
from omnivec.settings import Settings
from omnivec.types import (
    DocumentState,
    Embedding,
    EmbedInput,
    EmbedOptions,
    MetadataEntry,
    ModelDescriptor,
    Part,
    RelevantChunk,
    SearchStore,
    StoreDocument,
    TaskType,
    TextPart,
)

T = TypeVar("T")
ContentLike = str | Part | Sequence[str | Part] | EmbedInput


def to_embed_input(
    content: ContentLike,
    *,
    task_type: str | TaskType | None = None,
    title: str | None = None,
    output_dimensionality: int | None = None,
    auto_truncate: bool = True,
) -> EmbedInput:
    if isinstance(content, EmbedInput):
        return content
    options = EmbedOptions(
        task_type=TaskType(task_type.upper()) if isinstance(task_type, str) else task_type,
        title=title,
        output_dimensionality=output_dimensionality,
        auto_truncate=auto_truncate,
    )
    items = [content] if isinstance(content, str | TextPart) or not isinstance(content, Sequence) else content
    parts = tuple(TextPart(p) if isinstance(p, str) else p for p in items)
    return EmbedInput(parts, options)


class AsyncEmbedder:
    """Async twin of ``Embedder``; use it inside an event loop."""

    def __init__(
        self,
        models: Sequence[str] | None = None,
        *,
        settings: Settings | None = None,
        backends: list[Backend] | None = None,
        **overrides: Any,
    ) -> None:
        if settings is None:
            settings = Settings.load(models=list(models) if models else None, **overrides)
        self.container: Container = build(settings, backends)

    async def __aenter__(self) -> AsyncEmbedder:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        await self.container.start(background_jobs=False)  # batch jobs are the server's business

    async def close(self) -> None:
        await self.container.stop()

    async def embed_content(self, model: str, content: ContentLike, **options: Any) -> Embedding:
        [result] = await self.container.embeddings.embed(
            model, [to_embed_input(content, **options)], field_prefix=""
        )
        return result

    async def batch_embed_contents(
        self, model: str, contents: Sequence[ContentLike], **options: Any
    ) -> list[Embedding]:
        return await self.container.embeddings.embed(model, [to_embed_input(c, **options) for c in contents])

    def list_models(self) -> list[ModelDescriptor]:
        return self.container.catalogue.list()

    def get_model(self, name: str) -> ModelDescriptor:
        return self.container.catalogue.get(name)


class Embedder:
    """Synchronous embedder: runs an ``AsyncEmbedder`` on a private event-loop thread."""

    def __init__(self, models: Sequence[str] | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="omnivec-embedder", daemon=True)
        self._thread.start()
        self._stores: Stores | None = None
        try:
            self._async = AsyncEmbedder(models, **kwargs)
            self._call(self._async.start())
        except BaseException:
            self._shutdown_loop()
            raise

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def container(self) -> Container:
        return self._async.container

    def close(self) -> None:
        if self._loop.is_running():
            self._call(self._async.close())
            self._shutdown_loop()

    def embed_content(self, model: str, content: ContentLike, **options: Any) -> Embedding:
        return self._call(self._async.embed_content(model, content, **options))

    def batch_embed_contents(
        self, model: str, contents: Sequence[ContentLike], **options: Any
    ) -> list[Embedding]:
        return self._call(self._async.batch_embed_contents(model, contents, **options))

    def list_models(self) -> list[ModelDescriptor]:
        return self._async.list_models()

    @property
    def stores(self) -> Stores:
        """File Search stores in-process (see ``Stores``)."""
        if self._stores is None:
            self._stores = Stores(self)
        return self._stores

    def get_model(self, name: str) -> ModelDescriptor:
        return self._async.get_model(name)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


# --- File Search stores ------------------------------------------------------------------------
MetadataLike = Mapping[str, str | float | Sequence[str]]


def _metadata(values: MetadataLike | None) -> tuple[MetadataEntry, ...]:
    entries = []
    for key, value in (values or {}).items():
        if isinstance(value, str):
            entries.append(MetadataEntry(key, value))
        elif isinstance(value, bool):
            raise TypeError(f"metadata {key!r}: use a string, a number or a list of strings")
        elif isinstance(value, int | float):
            entries.append(MetadataEntry(key, float(value)))
        else:
            entries.append(MetadataEntry(key, tuple(str(v) for v in value)))
    return entries_checked(entries)


def entries_checked(entries: list[MetadataEntry]) -> tuple[MetadataEntry, ...]:
    from omnivec.wire.search_stores import custom_metadata_json, parse_custom_metadata

    return parse_custom_metadata(custom_metadata_json(entries), "metadata")


class AsyncStores:
    """File Search stores in-process: the same service as ``fileSearchStores`` over HTTP.
    Documents added here are ingested before the call returns (the library runs no background
    worker)."""

    def __init__(self, container: Container, owner: str = "") -> None:
        if container.search_stores is None or container.ingestion is None:
            raise RuntimeError("File Search stores need a data directory (SQLite).")
        self._service = container.search_stores
        self._ingestion = container.ingestion
        self._owner = owner

    async def create(self, display_name: str = "", embedding_model: str | None = None) -> SearchStore:
        return await self._service.create_store(self._owner, display_name, embedding_model)

    async def list_stores(self) -> list[SearchStore]:
        found: list[SearchStore] = []
        while True:
            page, more = await self._service.list_stores(self._owner, len(found), 100)
            found.extend(page)
            if not more:
                return found

    async def get(self, name: str) -> SearchStore:
        return await self._service.get_store(self._owner, name)

    async def delete(self, name: str, *, force: bool = False) -> None:
        await self._service.delete_store(self._owner, name, force=force)

    async def add_text(
        self, store: str, text: str, *, display_name: str = "", metadata: MetadataLike | None = None
    ) -> StoreDocument:
        data = text.encode()
        doc = await self._service.add_bytes(
            self._owner,
            store,
            data,
            display_name=display_name,
            mime_type="text/plain",
            sha256_hex=hashlib.sha256(data).hexdigest(),
            custom_metadata=_metadata(metadata),
        )
        await self._ingestion.drain()
        return await self._service.get_document(self._owner, store, doc.document_id)

    async def index(
        self, store: str, *paths: str | Path, metadata: MetadataLike | None = None
    ) -> dict[str, str]:
        """Add files and folders (recursively); unchanged files are skipped. Returns each
        file's outcome: ``added``, ``replaced``, ``unchanged`` or ``failed: reason``."""
        from omnivec.errors import OmnivecError
        from omnivec.services.store_indexer import StoreIndexer, find_files

        indexer = StoreIndexer(self._service)
        outcomes: dict[str, str] = {}
        added: dict[str, str] = {}
        for f in find_files(Path(p) for p in paths):
            try:
                outcome, doc = await indexer.add_file(
                    self._owner, store, f, custom_metadata=_metadata(metadata)
                )
            except OmnivecError as exc:
                outcomes[f.display_name] = f"failed: {exc.message}"
                continue
            outcomes[f.display_name] = outcome.value
            if doc is not None:
                added[f.display_name] = doc.document_id
        await self._ingestion.drain()
        for name, doc_id in added.items():
            doc = await self._service.get_document(self._owner, store, doc_id)
            if doc.state is DocumentState.FAILED:
                outcomes[name] = f"failed: {doc.error}"
        return outcomes

    async def documents(self, store: str) -> list[StoreDocument]:
        found: list[StoreDocument] = []
        while True:
            page, more = await self._service.list_documents(self._owner, store, len(found), 100)
            found.extend(page)
            if not more:
                return found

    async def query(
        self,
        store: str | Sequence[str],
        query: ContentLike,
        *,
        k: int = 10,
        filter: str | None = None,
        mode: str = "HYBRID",
    ) -> list[RelevantChunk]:
        from omnivec.index.base import SearchMode

        stores = [store] if isinstance(store, str) else list(store)
        text = query if isinstance(query, str) else None
        parts = None if text is not None else list(to_embed_input(query).parts)
        return await self._service.query(
            self._owner,
            stores,
            text=text,
            parts=parts,
            results_count=k,
            metadata_filter=filter,
            mode=SearchMode(mode),
        )


class Stores:
    """Synchronous twin of ``AsyncStores``: ``Embedder().stores``."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._async = AsyncStores(embedder.container)

    def create(self, display_name: str = "", embedding_model: str | None = None) -> SearchStore:
        return self._embedder._call(self._async.create(display_name, embedding_model))

    def list_stores(self) -> list[SearchStore]:
        return self._embedder._call(self._async.list_stores())

    def get(self, name: str) -> SearchStore:
        return self._embedder._call(self._async.get(name))

    def delete(self, name: str, *, force: bool = False) -> None:
        self._embedder._call(self._async.delete(name, force=force))

    def add_text(
        self, store: str, text: str, *, display_name: str = "", metadata: MetadataLike | None = None
    ) -> StoreDocument:
        return self._embedder._call(
            self._async.add_text(store, text, display_name=display_name, metadata=metadata)
        )

    def index(self, store: str, *paths: str | Path, metadata: MetadataLike | None = None) -> dict[str, str]:
        return self._embedder._call(self._async.index(store, *paths, metadata=metadata))

    def documents(self, store: str) -> list[StoreDocument]:
        return self._embedder._call(self._async.documents(store))

    def query(
        self,
        store: str | Sequence[str],
        query: ContentLike,
        *,
        k: int = 10,
        filter: str | None = None,
        mode: str = "HYBRID",
    ) -> list[RelevantChunk]:
        return self._embedder._call(self._async.query(store, query, k=k, filter=filter, mode=mode))
