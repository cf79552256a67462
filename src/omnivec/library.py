"""The Python library door: the same services as the server, in-process, without HTTP.

The common case is one call::

    from omnivec import Embedder, similarity

    with Embedder() as embedder:                      # the bundled all-MiniLM-L6-v2
        docs = embedder.embed(["a cat on a mat", "stock prices fell"], task_type="RETRIEVAL_DOCUMENT")
        query = embedder.embed("where is the cat?", task_type="RETRIEVAL_QUERY")
        print(similarity(query, docs))                # [0.40.. 0.02..]: the cat wins

``embed`` takes a text, a ``Path``, ``bytes``, a PIL image or a ``Part`` (one vector), or a list
of them (one vector each; a list inside the list is the parts of one input). Media types are
inferred from the bytes. ``embed_content`` / ``batch_embed_contents`` mirror the REST methods
and return ``Embedding`` values with token counts. Nothing is printed: no progress bars, and
log lines only if the application configures logging.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from omnivec.bootstrap import Container, build
from omnivec.media.sniff import sniff
from omnivec.runtime.backends.base import Backend
from omnivec.settings import Settings
from omnivec.types import (
    BlobPart,
    DocumentState,
    Embedding,
    EmbedInput,
    EmbedOptions,
    FileRefPart,
    MetadataEntry,
    ModelDescriptor,
    Part,
    RelevantChunk,
    SearchStore,
    StoreDocument,
    TaskType,
    TextPart,
    TokenIdsPart,
)

T = TypeVar("T")
# One input: a text, a file path, raw bytes, a PIL image, or a Part.
PartLike = str | Path | bytes | Part | Any
# One Content: one input, or a list of inputs that become one vector together.
ContentLike = PartLike | Sequence[PartLike] | EmbedInput

DEFAULT_MODEL_NAME = "gemini-embedding-001"


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity: a vector against a vector is a float array of shape ``()``; against a
    matrix of rows, one value per row; a matrix against a matrix, the ``len(a) x len(b)`` table."""
    a2 = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b2 = np.atleast_2d(np.asarray(b, dtype=np.float32))
    a2 = a2 / np.maximum(np.linalg.norm(a2, axis=1, keepdims=True), 1e-12)
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=1, keepdims=True), 1e-12)
    table = a2 @ b2.T
    if np.ndim(a) == 1 and np.ndim(b) == 1:
        return table[0, 0]
    if np.ndim(a) == 1:
        return table[0]
    if np.ndim(b) == 1:
        return table[:, 0]
    return table


def to_part(item: PartLike) -> Part:
    """A text, ``Path``, ``bytes``/``bytearray``, PIL image or Part as a Part; the media type of
    bytes and files is read from their content (PNG, JPEG, WebP, WAV, MP3, MP4, PDF…)."""
    if isinstance(item, TextPart | BlobPart | FileRefPart | TokenIdsPart):
        return item
    if isinstance(item, str):
        return TextPart(item)
    if isinstance(item, Path):
        return _blob(item.read_bytes(), f"file {item}")
    if isinstance(item, bytes | bytearray | memoryview):
        return _blob(bytes(item), "bytes")
    if callable(getattr(item, "save", None)) and hasattr(item, "mode") and hasattr(item, "size"):
        buffer = io.BytesIO()  # a PIL image: lossless PNG, whatever it was loaded from
        item.save(buffer, format="PNG")
        return BlobPart("image/png", buffer.getvalue())
    raise TypeError(
        f"cannot embed a {type(item).__name__}: pass a str, pathlib.Path, bytes, a PIL image or a Part"
    )


def _blob(data: bytes, what: str) -> BlobPart:
    mime_type = sniff(data)
    if mime_type is None:
        raise ValueError(f"cannot tell the media type of {what}; pass BlobPart(mime_type, data)")
    return BlobPart(mime_type, data)


def _is_one_part(content: Any) -> bool:
    return isinstance(
        content, str | bytes | bytearray | memoryview | Path | TextPart | BlobPart | FileRefPart
    ) or (not isinstance(content, Sequence))


def to_embed_input(
    content: ContentLike,
    *,
    task_type: str | TaskType | None = None,
    title: str | None = None,
    output_dimensionality: int | None = None,
    auto_truncate: bool = True,
) -> EmbedInput:
    """One Content (one vector): an input, or a list of inputs embedded together."""
    if isinstance(content, EmbedInput):
        return content
    options = EmbedOptions(
        task_type=TaskType(task_type.upper()) if isinstance(task_type, str) else task_type,
        title=title,
        output_dimensionality=output_dimensionality,
        auto_truncate=auto_truncate,
    )
    items: Sequence[Any] = [content] if _is_one_part(content) else content  # type: ignore[assignment]
    return EmbedInput(tuple(to_part(p) for p in items), options)


class AsyncEmbedder:
    """Async twin of ``Embedder``; use it inside an event loop (``async with AsyncEmbedder()``)."""

    def __init__(
        self,
        models: str | Sequence[str] | None = None,
        *,
        settings: Settings | None = None,
        backends: list[Backend] | None = None,
        **overrides: Any,
    ) -> None:
        """``models``: one model source or a list (as ``omnivec serve --model``): ``"default"``
        (the bundled all-MiniLM-L6-v2), a local directory, a hub id in the local cache, or
        ``"fake:DIM"``. ``overrides`` are settings (``data_dir=``, ``device=``, ``offline=``…);
        ``settings`` replaces them all."""
        if settings is None:
            sources = [models] if isinstance(models, str) else list(models) if models else None
            settings = Settings.load(models=sources, **overrides)
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

    async def embed(
        self,
        inputs: ContentLike | Sequence[ContentLike],
        *,
        model: str = DEFAULT_MODEL_NAME,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        dimensions: int | None = None,
        auto_truncate: bool = True,
    ) -> np.ndarray:
        """See ``Embedder.embed``."""
        single = _is_one_part(inputs) or isinstance(inputs, EmbedInput)
        contents: Sequence[Any] = [inputs] if single else inputs  # type: ignore[assignment]
        options: dict[str, Any] = {
            "task_type": task_type,
            "title": title,
            "output_dimensionality": dimensions,
            "auto_truncate": auto_truncate,
        }
        results = await self.container.embeddings.embed(
            model, [to_embed_input(c, **options) for c in contents]
        )
        matrix = np.stack([r.values for r in results]) if results else np.zeros((0, 0), np.float32)
        return matrix[0] if single else matrix

    async def embed_content(
        self,
        model: str,
        content: ContentLike,
        *,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
        auto_truncate: bool = True,
    ) -> Embedding:
        """See ``Embedder.embed_content``."""
        _refuse_ambiguous_list(content)
        [result] = await self.container.embeddings.embed(
            model,
            [to_embed_input(content, task_type=task_type, title=title,
                            output_dimensionality=output_dimensionality, auto_truncate=auto_truncate)],
            field_prefix="",
        )  # fmt: skip
        return result

    async def batch_embed_contents(
        self,
        model: str,
        contents: Sequence[ContentLike],
        *,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
        auto_truncate: bool = True,
    ) -> list[Embedding]:
        """See ``Embedder.batch_embed_contents``."""
        options: dict[str, Any] = {
            "task_type": task_type,
            "title": title,
            "output_dimensionality": output_dimensionality,
            "auto_truncate": auto_truncate,
        }
        return await self.container.embeddings.embed(model, [to_embed_input(c, **options) for c in contents])

    def list_models(self) -> list[ModelDescriptor]:
        return self.container.catalogue.list()

    def get_model(self, name: str) -> ModelDescriptor:
        return self.container.catalogue.get(name)


def _refuse_ambiguous_list(content: Any) -> None:
    """A list of several plain strings reads as "one vector each" to most people and as "one
    Content of several parts" to the REST API; refuse it rather than guess."""
    if (
        isinstance(content, Sequence)
        and not isinstance(content, str | bytes)
        and len(content) > 1
        and all(isinstance(c, str) for c in content)
    ):
        raise ValueError(
            "embed_content embeds one Content into one vector. For one vector per text use "
            "embed([...]) or batch_embed_contents; for one vector of several texts pass "
            "parts: [TextPart('a'), TextPart('b')]."
        )


class Embedder:
    """Embeddings in-process, synchronously (an ``AsyncEmbedder`` on a private event-loop
    thread). Use it as a context manager, or call ``close()``.

    >>> with Embedder() as e:                         # doctest: +SKIP
    ...     e.embed(["first text", "second text"]).shape
    (2, 384)
    """

    def __init__(
        self,
        models: str | Sequence[str] | None = None,
        *,
        settings: Settings | None = None,
        backends: list[Backend] | None = None,
        **overrides: Any,
    ) -> None:
        """``models``: one model source or a list of them, as ``omnivec serve --model`` takes
        (default: the bundled all-MiniLM-L6-v2). The first is what the ``gemini-embedding-*``
        names reach. ``overrides`` are settings such as ``data_dir=``, ``device="cpu"``,
        ``offline=True``; ``settings`` gives a whole ``Settings`` instead. Loads quietly."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="omnivec-embedder", daemon=True)
        self._thread.start()
        self._stores: Stores | None = None
        try:
            self._async = AsyncEmbedder(models, settings=settings, backends=backends, **overrides)
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

    def embed(
        self,
        inputs: ContentLike | Sequence[ContentLike],
        *,
        model: str = DEFAULT_MODEL_NAME,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        dimensions: int | None = None,
        auto_truncate: bool = True,
    ) -> np.ndarray:
        """Embed and return float32 vectors.

        ``inputs``: one input — a ``str``, a ``pathlib.Path`` or ``bytes`` (image, audio, video or
        PDF; the type is read from the bytes), a PIL image or a ``Part`` — gives one vector of
        shape ``(d,)``; a list of inputs gives a matrix ``(len(inputs), d)``, one row each. A list
        inside the list is one input made of several parts (one vector for them together).

        ``model``: the served model or alias to use. ``task_type``: what the vectors are for
        (``"RETRIEVAL_QUERY"``, ``"RETRIEVAL_DOCUMENT"``, ``"SEMANTIC_SIMILARITY"``,
        ``"CLASSIFICATION"``, ``"CLUSTERING"``…), mapped to the model's prompt convention.
        ``title``: a document title (``RETRIEVAL_DOCUMENT``). ``dimensions``: keep the first
        *k* values and re-normalise (Matryoshka), 1 … the model's width. ``auto_truncate``:
        cut over-long inputs to the model's limit (False: raise instead).
        """
        return self._call(
            self._async.embed(inputs, model=model, task_type=task_type, title=title,
                              dimensions=dimensions, auto_truncate=auto_truncate)
        )  # fmt: skip

    def embed_content(
        self,
        model: str,
        content: ContentLike,
        *,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
        auto_truncate: bool = True,
    ) -> Embedding:
        """The REST ``embedContent``: one Content -> one ``Embedding`` (``values``,
        ``token_count``). ``content`` is one input or a list of Parts embedded together; a list
        of several plain strings is refused as ambiguous (use ``embed`` for one vector each).
        Options as in ``embed`` (``output_dimensionality`` is ``dimensions``)."""
        return self._call(
            self._async.embed_content(model, content, task_type=task_type, title=title,
                                      output_dimensionality=output_dimensionality,
                                      auto_truncate=auto_truncate)
        )  # fmt: skip

    def batch_embed_contents(
        self,
        model: str,
        contents: Sequence[ContentLike],
        *,
        task_type: str | TaskType | None = None,
        title: str | None = None,
        output_dimensionality: int | None = None,
        auto_truncate: bool = True,
    ) -> list[Embedding]:
        """The REST ``batchEmbedContents``: one ``Embedding`` per item of ``contents``, in order.
        Options as in ``embed``, applied to every item."""
        return self._call(
            self._async.batch_embed_contents(model, contents, task_type=task_type, title=title,
                                             output_dimensionality=output_dimensionality,
                                             auto_truncate=auto_truncate)
        )  # fmt: skip

    def list_models(self) -> list[ModelDescriptor]:
        """The served models and their aliases."""
        return self._async.list_models()

    def get_model(self, name: str) -> ModelDescriptor:
        """One served model or alias (``dimensions``, ``modalities``, ``alias_of``…)."""
        return self._async.get_model(name)

    @property
    def stores(self) -> Stores:
        """File Search stores in-process (see ``Stores``)."""
        if self._stores is None:
            self._stores = Stores(self)
        return self._stores

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
