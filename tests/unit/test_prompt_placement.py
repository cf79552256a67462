"""Where the task prompt lands in a Content with several parts."""

from __future__ import annotations

from omnivec.runtime.backends.prompts import prompted_parts
from omnivec.types import PromptStyle, TaskType

IMAGE = object()  # stands for a decoded media part; only its position matters here


def test_interleaved_models_keep_text_parts_in_place() -> None:
    parts = ("shoe", IMAGE, "sound")
    out = prompted_parts(PromptStyle.GEMMA, parts, TaskType.RETRIEVAL_QUERY, None, interleaved=True)
    assert out == ("task: search result | query: shoe", IMAGE, "sound")


def test_other_models_get_one_passage() -> None:
    parts = ("shoe", IMAGE, "sound")
    out = prompted_parts(PromptStyle.GEMMA, parts, TaskType.RETRIEVAL_QUERY, None, interleaved=False)
    assert out == ("task: search result | query: shoe\nsound", IMAGE)


def test_media_only_contents_get_no_prompt() -> None:
    assert prompted_parts(PromptStyle.GEMMA, (IMAGE,), TaskType.RETRIEVAL_QUERY, "t", interleaved=True) == (
        IMAGE,
    )
