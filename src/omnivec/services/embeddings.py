"""The embedding use case: validate, resolve parts, apply task prompts, run, cut (MRL).

Every door (HTTP, the library, batch jobs) comes through ``EmbeddingService.embed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.media.limits import MediaTally
from omnivec.runtime.backends.base import InputTooLong
from omnivec.runtime.inputs import ModelInput
from omnivec.runtime.runtime import Runtime
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.matryoshka import cut
from omnivec.services.memory_budget import MemoryBudget
from omnivec.services.prompts import apply_prompt
from omnivec.types import (
    BlobPart,
    Embedding,
    EmbedInput,
    FileRefPart,
    Modality,
    ModelDescriptor,
    Priority,
    TextPart,
)


class PartDecoder(Protocol):
    """Turns non-text parts into what the model takes (decoded media, or extracted text).

    ``field`` is the request path of the part, for error messages. ``tally`` is what the earlier
    parts of the same Content used (images, PDF pages, seconds), for the per-Content limits.
    """

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
        budget: MemoryBudget | None = None,
    ) -> None:
        self.runtime = runtime
        self.catalogue = catalogue
        self.max_parts = max_parts_per_content
        self.max_text_chars = max_text_chars
        self.decoder: PartDecoder = decoder or TextOnlyParts()
        self.files = files
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
        descriptor = self.catalogue.resolve(model)
        # Admission comes first: under overload a request is refused before any decoding or
        # tokenising is spent on it, and what is admitted is bounded.
        with self.runtime.admit(descriptor.name, len(inputs)), self.budget.scope():
            return await self._embed(descriptor, inputs, priority, field_prefix, owner)

    async def _embed(
        self,
        descriptor: ModelDescriptor,
        inputs: Sequence[EmbedInput],
        priority: Priority,
        field_prefix: str,
        owner: str,
    ) -> list[Embedding]:
        model_inputs = [
            await self._model_input(descriptor, item, _field(field_prefix, i), owner)
            for i, item in enumerate(inputs)
        ]
        results: list[Embedding | None] = [None] * len(inputs)
        # autoTruncate is per request; at most two runtime calls, one for each setting.
        for auto_truncate in (True, False):
            indices = [i for i, item in enumerate(inputs) if item.options.auto_truncate is auto_truncate]
            if not indices:
                continue
            try:
                encoded = await self.runtime.embed(
                    descriptor.name,
                    [model_inputs[i] for i in indices],
                    auto_truncate=auto_truncate,
                    priority=priority,
                )
            except InputTooLong as exc:
                where = _field(field_prefix, indices[exc.index]) + "content"
                raise InvalidArgument.at(
                    where,
                    f"the input has {exc.tokens} tokens, more than the {exc.limit} that model "
                    f"{descriptor.name} takes; shorten it or set autoTruncate to true",
                ) from None
            for i, item in zip(indices, encoded, strict=True):
                results[i] = Embedding(
                    values=cut(np.asarray(item.vector), inputs[i].options.output_dimensionality),
                    token_count=item.token_count,
                    tokens_by_modality=item.tokens_by_modality,
                    truncated=item.truncated,
                )
        return [r for r in results if r is not None]

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
                if isinstance(part, FileRefPart) and self.files is not None:
                    # Stored files reach the decoder as the bytes they hold, like inline_data.
                    part = await self.files.resolve(part, owner, where)
                parts.extend(await self.decoder.decode(part, model, where, owner, tally))
        return ModelInput(_prompted(model, parts, options.task_type, options.title))


def _prompted(
    model: ModelDescriptor, parts: list[object], task: object, title: str | None
) -> tuple[object, ...]:
    """Apply the task prompt once per Content, to its text only.

    Media parts never get a prefix, and a Content of media alone is left as it is (EmbeddingGemma's
    card: pass images, video and audio without one). For most models all text parts form one
    passage, placed where the first text part stood; media parts keep their order around it. A
    natively interleaved model reads the parts in order, so its text parts stay where they are
    and the prompt goes on the first one.
    """
    texts = [p for p in parts if isinstance(p, str)]
    if not texts:
        return tuple(parts)
    if Modality.TEXT not in model.modalities:
        return tuple(parts)
    interleaved = bool(model.extra.get("interleaved"))
    first = texts[0] if interleaved else "\n".join(texts)
    passage = apply_prompt(model.prompt_style, first, task, title)  # type: ignore[arg-type]
    out: list[object] = []
    placed = False
    for p in parts:
        if isinstance(p, str):
            if not placed:
                out.append(passage)
                placed = True
            elif interleaved:
                out.append(p)
        else:
            out.append(p)
    return tuple(out)


def _field(prefix: str, index: int) -> str:
    return f"{prefix}[{index}]." if prefix else ""
