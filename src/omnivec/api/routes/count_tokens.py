"""countTokens (and the legacy countTextTokens): the tokens embedContent would embed for each
Content — task prompt, truncation and media tokens as the model counts them — without
running the model."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from omnivec.api.context import container, owner, read_json, with_deadline
from omnivec.api.responses import JSONResponse
from omnivec.api.schemas.common import WireModel
from omnivec.api.schemas.embeddings import ContentSchema, EmbedContentConfigSchema
from omnivec.errors import InvalidArgument
from omnivec.types import EmbedInput, EmbedOptions, Modality, TextPart

router = APIRouter()


class GenerateContentRequestSchema(WireModel):
    model: str | None = None
    contents: list[ContentSchema] = Field(default_factory=list)


class CountTokensRequestSchema(WireModel):
    contents: list[ContentSchema] | None = None
    generate_content_request: GenerateContentRequestSchema | None = None
    # omnivec extension: count with the task prompt and title an embedContent call would use.
    embed_content_config: EmbedContentConfigSchema | None = None


class TextPromptSchema(WireModel):
    text: str


class CountTextTokensRequestSchema(WireModel):
    prompt: TextPromptSchema


async def _count(request: Request, model: str, inputs: list[EmbedInput]) -> tuple[int, dict[Modality, int]]:
    limit = container(request).settings.limits.max_batch_requests
    if not inputs:
        raise InvalidArgument.at("contents", "must contain at least one content")
    if len(inputs) > limit:
        raise InvalidArgument.at("contents", f"at most {limit} contents can be counted in one call")
    c = container(request)
    counted = await with_deadline(
        request, c.embeddings.count_tokens(model, inputs, field_prefix="contents", owner=owner(request))
    )
    by_modality: dict[Modality, int] = {}
    for item in counted:
        for modality, n in item.tokens_by_modality.items():
            by_modality[modality] = by_modality.get(modality, 0) + n
    return sum(item.token_count for item in counted), by_modality


@router.post("/models/{model}:countTokens")
async def count_tokens(request: Request, model: str) -> JSONResponse:
    parsed = await read_json(request, CountTokensRequestSchema)
    if parsed.contents is not None and parsed.generate_content_request is not None:
        raise InvalidArgument.at("contents", "send contents or generateContentRequest, not both")
    contents = parsed.contents
    if contents is None and parsed.generate_content_request is not None:
        contents = parsed.generate_content_request.contents
    config = parsed.embed_content_config or EmbedContentConfigSchema()
    options = EmbedOptions(task_type=config.task_type, title=config.title)
    inputs = [EmbedInput(tuple(p.to_domain() for p in c.parts), options) for c in contents or []]
    total, by_modality = await _count(request, model, inputs)
    return JSONResponse(
        {
            "totalTokens": total,
            "promptTokensDetails": [{"modality": m.value, "tokenCount": n} for m, n in by_modality.items()],
        }
    )


@router.post("/models/{model}:countTextTokens")
async def count_text_tokens(request: Request, model: str) -> JSONResponse:
    parsed = await read_json(request, CountTextTokensRequestSchema)
    total, _ = await _count(request, model, [EmbedInput((TextPart(parsed.prompt.text),))])
    return JSONResponse({"tokenCount": total})
