"""The embedding use case: validate, resolve parts, run, cut (MRL).

Every door (HTTP, the library, batch jobs) comes through ``EmbeddingService.embed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, cast

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.media.limits import MediaTally
from omnivec.media.pdf_workers import PdfWorkers
from omnivec.runtime.backends.base import InputError
from omnivec.runtime.inputs import EncodedItem, ModelInput
from omnivec.runtime.runtime import Runtime
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embedding_cache import EmbeddingCache, cache_key
from omnivec.services.matryoshka import cut
from omnivec.services.memory_budget import MemoryBudget
from omnivec.types import (
    BlobPart,
    Embedding,
    EmbedInput,
    FileRefPart,
    ModelDescriptor,
    ModelKind,
    Priority,
    TextPart,
    TokenIdsPart,
)


class PartDecoder(Protocol):
    """Turns non-text parts into what the model takes (decoded media, or extracted text).

    ``field`` is the request path of the part, for error messages. ``tally`` is what the earlier
    parts of the same Content used (images, PDF pages, seconds), for the per-Content limits.
    """

    @property
    def pdf_workers(self) -> PdfWorkers | None:
        """The worker processes that read PDFs, shared with search-store ingestion (None
        without media)."""

    async def decode(
        self,
        part: BlobPart | FileRefPart,
        model: ModelDescriptor,
        field: str,
        owner: str,
        tally: MediaTally | None = None,
    ) -> list[object]: ...

    def close(self) -> None:
        """Release what decoding holds (worker processes); blocking, bounded."""


class FileResolver(Protocol):
    """Turns a ``file_data`` part into the stored bytes it names, looked up for ``owner`` only
    (the Files API service). ``field`` is the request path of the part, for error messages."""

    async def resolve(self, part: FileRefPart, owner: str, field: str) -> BlobPart: ...


class TextOnlyParts:
    """The decoder used when no media support is installed: anything but text is refused."""

    pdf_workers: PdfWorkers | None = None

    async def decode(
        self,
        part: BlobPart | FileRefPart,
        model: ModelDescriptor,
        field: str,
        owner: str,
        tally: MediaTally | None = None,
    ) -> list[object]:
        kind = "inline_data" if isinstance(part, BlobPart) else "file_data"
        raise InvalidArgument.at(
            field,
            f"{kind} parts are not supported by model {model.name}, which takes only text. "
            "Media support needs the media extra (pip install 'omnivec[media]').",
        )

    def close(self) -> None:
        pass


class EmbeddingService:
    def __init__(
        self,
        runtime: Runtime,
        catalogue: ModelCatalogue,
        *,
        max_parts_per_content: int = 64,
        max_text_chars: int = 1_000_000,
        decoder: PartDecoder | None = None,
        files: FileResolver | None = None,
        cache: EmbeddingCache | None = None,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.runtime = runtime
        self.catalogue = catalogue
        self.max_parts = max_parts_per_content
        self.max_text_chars = max_text_chars
        self.decoder: PartDecoder = decoder or TextOnlyParts()
        self.files = files
        self.cache = cache
        # What one call holds (stored files, decoded media) is given back when it returns.
        self.budget = budget or MemoryBudget(None)

    async def embed(
        self,
        model: str,
        inputs: Sequence[EmbedInput],
        *,
        priority: Priority = Priority.ONLINE,
        field_prefix: str = "requests",
        owner: str = "",
    ) -> list[Embedding]:
        """One Embedding per input, in order. Errors name the offending field as
        ``{field_prefix}[i]...`` (``content`` alone when ``field_prefix`` is empty)."""
        descriptor = embedding_model(self.catalogue, model)
        # Admission comes first: under overload a request is refused before any decoding or
        # tokenising is spent on it, and what is admitted is bounded.
        with self.runtime.admit(descriptor.name, len(inputs)), self.budget.scope():
            return await self._embed(descriptor, inputs, priority, field_prefix, owner)

    async def model_input(self, model: str, item: EmbedInput, *, owner: str = "") -> ModelInput:
        """One input validated and decoded (media parts, stored files) as ``embed`` makes it,
        before tokenisation: what a batch pipeline's CPU stage hands to the model's ``prepare``.
        Errors name the field as ``embed`` does with an empty ``field_prefix``."""
        return await self._model_input(self.catalogue.resolve(model), item, "", owner)

    async def count_tokens(
        self, model: str, inputs: Sequence[EmbedInput], *, field_prefix: str = "requests", owner: str = ""
    ) -> list[Embedding]:
        """What ``embed`` would count for ``inputs`` — the same parts, task prompts and
        truncation — without running the model. The returned values are empty."""
        descriptor = embedding_model(self.catalogue, model)
        model_inputs = [
            await self._model_input(descriptor, item, _field(field_prefix, i), owner)
            for i, item in enumerate(inputs)
        ]
        counted = await self.runtime.count_tokens(descriptor.name, model_inputs)
        return [
            Embedding(
                values=c.vector,
                token_count=c.token_count,
                tokens_by_modality=c.tokens_by_modality,
                truncated=c.truncated,
            )
            for c in counted
        ]

    async def _embed(
        self,
        descriptor: ModelDescriptor,
        inputs: Sequence[EmbedInput],
        priority: Priority,
        field_prefix: str,
        owner: str,
    ) -> list[Embedding]:
        model_inputs = await self._model_inputs(descriptor, inputs, field_prefix, owner)
        results: list[Embedding | None] = [None] * len(inputs)
        # autoTruncate is per request; at most two runtime calls, one for each setting.
        for auto_truncate in (True, False):
            indices = [i for i, item in enumerate(inputs) if item.options.auto_truncate is auto_truncate]
            if not indices:
                continue
            try:
                encoded = await self._encode(
                    descriptor.name, [model_inputs[i] for i in indices], auto_truncate, priority
                )
            except InputError as exc:
                # The backend counts within this call; the client counts within its request.
                where = _field(field_prefix, indices[exc.index]) + "content"
                raise InvalidArgument.at(where, exc.description) from None
            for i, item in zip(indices, encoded, strict=True):
                results[i] = Embedding(
                    values=cut(np.asarray(item.vector), inputs[i].options.output_dimensionality),
                    token_count=item.token_count,
                    tokens_by_modality=item.tokens_by_modality,
                    truncated=item.truncated,
                )
        return [r for r in results if r is not None]

    async def _encode(
        self, model: str, inputs: list[ModelInput], auto_truncate: bool, priority: Priority
    ) -> list[EncodedItem]:
        """The runtime's full vectors, through the cache when one is configured (the Matryoshka
        cut comes after, so every output size shares one entry)."""
        if self.cache is None:
            return await self.runtime.embed(model, inputs, auto_truncate=auto_truncate, priority=priority)
        keys = [cache_key(model, item, auto_truncate) for item in inputs]
        found = await self.cache.get_many(keys)
        misses = [i for i, f in enumerate(found) if f is None]
        if misses:
            try:
                computed = await self.runtime.embed(
                    model, [inputs[i] for i in misses], auto_truncate=auto_truncate, priority=priority
                )
            except InputError as exc:  # its index is among the misses: report the caller's
                raise InputError(misses[exc.index], exc.description) from None
            fresh: list[tuple[bytes, EncodedItem]] = []
            for i, item in zip(misses, computed, strict=True):
                found[i] = item
                key = keys[i]
                if key is not None:
                    fresh.append((key, item))
            await self.cache.put_many(fresh)
        return [f for f in found if f is not None]

    async def _model_inputs(
        self, model: ModelDescriptor, inputs: Sequence[EmbedInput], field_prefix: str, owner: str
    ) -> list[ModelInput]:
        """Each input's model input. Inputs with media parts are decoded concurrently (the
        decoder's slots bound how many decodes run at once); a failure is reported for the first
        failing input in request order, as decoding one after another would."""
        fields = [_field(field_prefix, i) for i in range(len(inputs))]
        if all(isinstance(p, TextPart | TokenIdsPart) for item in inputs for p in item.parts):
            # Nothing to decode: no tasks to schedule.
            return [
                await self._model_input(model, item, f, owner) for item, f in zip(inputs, fields, strict=True)
            ]
        results = await asyncio.gather(
            *(self._model_input(model, item, f, owner) for item, f in zip(inputs, fields, strict=True)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return cast("list[ModelInput]", results)

    async def _model_input(
        self, model: ModelDescriptor, item: EmbedInput, field: str, owner: str
    ) -> ModelInput:
        options = item.options
        dims = options.output_dimensionality
        if dims is not None and not 1 <= dims <= model.dimensions:
            raise InvalidArgument.at(
                field + "outputDimensionality",
                f"must be between 1 and {model.dimensions} for model {model.name} (got {dims})",
            )
        if not item.parts:
            raise InvalidArgument.at(field + "content.parts", "must contain at least one part")
        if len(item.parts) > self.max_parts:
            raise InvalidArgument.at(
                field + "content.parts", f"at most {self.max_parts} parts per content (got {len(item.parts)})"
            )
        if any(isinstance(p, TokenIdsPart) for p in item.parts):
            return self._token_ids_input(model, item, field)
        parts: list[object] = []
        tally = MediaTally()
        for j, part in enumerate(item.parts):
            where = f"{field}content.parts[{j}]"
            if isinstance(part, TextPart):
                if len(part.text) > self.max_text_chars:
                    raise InvalidArgument.at(
                        where + ".text", f"at most {self.max_text_chars} characters (got {len(part.text)})"
                    )
                parts.append(part.text)
            else:
                assert not isinstance(part, TokenIdsPart)  # token ids are a whole Content (above)
                if isinstance(part, FileRefPart) and self.files is not None:
                    # Stored files reach the decoder as the bytes they hold, like inline_data.
                    part = await self.files.resolve(part, owner, where)
                parts.extend(await self.decoder.decode(part, model, where, owner, tally))
        # The backend renders the task and title in its model's own prompt convention.
        return ModelInput(tuple(parts), options.task_type, options.title, options.truncation)

    def _token_ids_input(self, model: ModelDescriptor, item: EmbedInput, field: str) -> ModelInput:
        """A Content given as token ids: checked against the model's own vocabulary here, so a
        bad id is named by its position (``input[i][j]``), before any model work."""
        where = field.removesuffix(".") or "content"
        part = item.parts[0]
        if len(item.parts) != 1 or not isinstance(part, TokenIdsPart):
            raise InvalidArgument.at(where, "token ids must be the whole content, not one part of several")
        if model.vocab_size is None:
            raise InvalidArgument.at(where, f"model {model.name} cannot take token ids; send the text itself")
        if item.options.task_type is not None or item.options.title is not None:
            raise InvalidArgument.at(where, "token ids are embedded as given: no task type or title applies")
        if not part.ids:
            raise InvalidArgument.at(where, "must contain at least one token id")
        if len(part.ids) > self.max_text_chars:
            raise InvalidArgument.at(where, f"at most {self.max_text_chars} token ids (got {len(part.ids)})")
        vocab = model.vocab_size
        for j, token in enumerate(part.ids):
            if not 0 <= token < vocab:
                raise InvalidArgument.at(
                    f"{where}[{j}]",
                    f"token id {token} is not in the vocabulary of model {model.name} (0 to {vocab - 1})",
                )
        return ModelInput((part,), truncation=item.options.truncation)


def embedding_model(catalogue: ModelCatalogue, name: str) -> ModelDescriptor:
    """The served embedding model ``name`` names; a reranker is refused with where to send it."""
    descriptor = catalogue.resolve(name)
    if descriptor.kind is ModelKind.RERANK:
        raise InvalidArgument.at(
            "model",
            f"model {descriptor.name} is a reranker; it scores pairs with /v1/rerank and embeds nothing",
        )
    return descriptor


def _field(prefix: str, index: int) -> str:
    return f"{prefix}[{index}]." if prefix else ""
