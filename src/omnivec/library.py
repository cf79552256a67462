"""The Python library door: the same services as the server, in-process, without HTTP.

Methods are named after the REST methods::

    from omnivec import Embedder
    with Embedder() as e:
        vec = e.embed_content("gemini-embedding-001", "Hello world", task_type="RETRIEVAL_QUERY")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from omnivec.bootstrap import Container, build
from omnivec.runtime.backends.base import Backend
from omnivec.settings import Settings
from omnivec.types import (
    Embedding,
    EmbedInput,
    EmbedOptions,
    ModelDescriptor,
    Part,
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

    def get_model(self, name: str) -> ModelDescriptor:
        return self._async.get_model(name)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result()

    def _shutdown_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
