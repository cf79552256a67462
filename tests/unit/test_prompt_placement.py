"""Where the task prompt lands in a Content with several parts."""

from __future__ import annotations

from omnivec.services.embeddings import _prompted
from omnivec.types import Modality, ModelDescriptor, PromptStyle, TaskType

IMAGE = object()  # stands for a decoded media part; only its position matters here


def descriptor(*, interleaved: bool) -> ModelDescriptor:
    return ModelDescriptor(
        name="m",
        display_name="m",
        description="",
        dimensions=8,
        input_token_limit=512,
        modalities=frozenset({Modality.TEXT, Modality.IMAGE}),
        matryoshka=True,
        prompt_style=PromptStyle.GEMMA,
        interleaved=interleaved,
    )


def test_interleaved_models_keep_text_parts_in_place() -> None:
    parts = ["shoe", IMAGE, "sound"]
    out = _prompted(descriptor(interleaved=True), parts, TaskType.RETRIEVAL_QUERY, None)
    assert out == ("task: search result | query: shoe", IMAGE, "sound")


def test_other_models_get_one_passage() -> None:
    parts = ["shoe", IMAGE, "sound"]
    out = _prompted(descriptor(interleaved=False), parts, TaskType.RETRIEVAL_QUERY, None)
    assert out == ("task: search result | query: shoe\nsound", IMAGE)


def test_media_only_contents_get_no_prompt() -> None:
    assert _prompted(descriptor(interleaved=True), [IMAGE], TaskType.RETRIEVAL_QUERY, "t") == (IMAGE,)
