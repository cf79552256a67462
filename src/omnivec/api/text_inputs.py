"""What the non-Gemini dialects share: lists of texts through the one EmbeddingService.

Each dialect turns its request into texts and options; the embedding, its limits, task prompts
and Matryoshka cut are the service's, exactly as for ``batchEmbedContents``.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request

from omnivec.api.context import container, owner, with_deadline
from omnivec.errors import InvalidArgument
from omnivec.types import Embedding, EmbedInput, EmbedOptions, Part, TextPart


def check_count(request: Request, field: str, count: int) -> None:
    """The same per-request limit as ``batchEmbedContents``."""
    limit = container(request).settings.limits.max_batch_requests
    if count == 0:
        raise InvalidArgument.at(field, "must contain at least one input")
    if count > limit:
        raise InvalidArgument.at(
            field, f"at most {limit} inputs can be embedded in one request (got {count})"
        )


async def embed_parts(
    request: Request, model: str, contents: Sequence[Sequence[Part]], options: EmbedOptions, field: str
) -> list[Embedding]:
    check_count(request, field, len(contents))
    inputs = [EmbedInput(tuple(parts), options) for parts in contents]
    c = container(request)
    return await with_deadline(
        request, c.embeddings.embed(model, inputs, field_prefix=field, owner=owner(request))
    )


async def embed_texts(
    request: Request, model: str, texts: Sequence[str], options: EmbedOptions, field: str
) -> list[Embedding]:
    return await embed_parts(request, model, [(TextPart(t),) for t in texts], options, field)
