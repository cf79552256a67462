"""Task types mapped onto each model family's prompt convention."""

from __future__ import annotations

import pytest

from omnivec.runtime.backends.prompts import parse_gemini_prefix, render
from omnivec.types import PromptStyle as S
from omnivec.types import TaskType as T


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        (T.RETRIEVAL_QUERY, "task: search result | query: red planet"),
        (T.QUESTION_ANSWERING, "task: question answering | query: red planet"),
        (T.FACT_VERIFICATION, "task: fact checking | query: red planet"),
        (T.CODE_RETRIEVAL_QUERY, "task: code retrieval | query: red planet"),
        (T.CLASSIFICATION, "task: classification | query: red planet"),
        (T.CLUSTERING, "task: clustering | query: red planet"),
        (T.SEMANTIC_SIMILARITY, "task: sentence similarity | query: red planet"),
        (T.RETRIEVAL_DOCUMENT, "title: none | text: red planet"),
        (None, "red planet"),
        (T.TASK_TYPE_UNSPECIFIED, "red planet"),
    ],
)
def test_gemma_style_covers_every_task(task: T | None, expected: str) -> None:
    assert render(S.GEMMA, "red planet", task, None) == expected


def test_gemma_document_title() -> None:
    assert render(S.GEMMA, "Mars is red.", T.RETRIEVAL_DOCUMENT, "Mars") == "title: Mars | text: Mars is red."
    # A title alone implies a document.
    assert render(S.GEMMA, "Mars is red.", None, "Mars") == "title: Mars | text: Mars is red."


def test_prefixed_text_is_not_prefixed_twice_for_gemma() -> None:
    text = "task: search result | query: red planet"
    assert render(S.GEMMA, text, T.RETRIEVAL_QUERY, None) == text
    doc = "title: Mars | text: Mars is red."
    assert render(S.GEMMA, doc, T.RETRIEVAL_DOCUMENT, "Other") == doc


def test_prefixed_text_is_translated_for_other_families() -> None:
    assert render(S.E5, "task: search result | query: red planet", None, None) == "query: red planet"
    assert render(S.E5, "title: none | text: Mars is red.", None, None) == "passage: Mars is red."
    assert render(S.NONE, "task: fact checking | query: x", None, None) == "x"
    assert render(S.NOMIC, "task: search result | query: x", None, None) == "search_query: x"
    qwen = render(S.QWEN3, "task: search result | query: x", None, None)
    assert qwen.startswith("Instruct: Given a web search query") and qwen.endswith("\nQuery:x")


def test_e5_qwen3_nomic_conventions() -> None:
    assert render(S.E5, "x", T.CLUSTERING, None) == "query: x"
    assert render(S.E5, "x", None, None) == "query: x"
    assert render(S.QWEN3, "doc", T.RETRIEVAL_DOCUMENT, None) == "doc"  # documents get no instruction
    assert render(S.NOMIC, "x", T.CLASSIFICATION, None) == "classification: x"
    assert render(S.NOMIC, "x", T.RETRIEVAL_DOCUMENT, None) == "search_document: x"


def test_plain_models_see_title_as_first_line_and_no_prefix() -> None:
    assert render(S.NONE, "body", T.RETRIEVAL_QUERY, None) == "body"
    assert render(S.NONE, "body", T.RETRIEVAL_DOCUMENT, "Head") == "Head\nbody"


def test_parse_gemini_prefix_ignores_ordinary_text() -> None:
    assert parse_gemini_prefix("the task: is | query: unusual") is None
    assert parse_gemini_prefix("task: unknown thing | query: x") is None
    parsed = parse_gemini_prefix("task: code retrieval | query: def f(): pass")
    assert parsed is not None and parsed.task is T.CODE_RETRIEVAL_QUERY and parsed.text == "def f(): pass"
