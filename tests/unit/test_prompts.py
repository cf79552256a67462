"""Task types mapped onto each model family's prompt convention."""

from __future__ import annotations

import pytest

from omnivec.services.prompts import apply_prompt, parse_gemini_prefix
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
    assert apply_prompt("gemma", "red planet", task, None) == expected


def test_gemma_document_title() -> None:
    assert (
        apply_prompt("gemma", "Mars is red.", T.RETRIEVAL_DOCUMENT, "Mars")
        == "title: Mars | text: Mars is red."
    )
    # A title alone implies a document.
    assert apply_prompt("gemma", "Mars is red.", None, "Mars") == "title: Mars | text: Mars is red."


def test_prefixed_text_is_not_prefixed_twice_for_gemma() -> None:
    text = "task: search result | query: red planet"
    assert apply_prompt("gemma", text, T.RETRIEVAL_QUERY, None) == text
    doc = "title: Mars | text: Mars is red."
    assert apply_prompt("gemma", doc, T.RETRIEVAL_DOCUMENT, "Other") == doc


def test_prefixed_text_is_translated_for_other_families() -> None:
    assert apply_prompt("e5", "task: search result | query: red planet", None, None) == "query: red planet"
    assert apply_prompt("e5", "title: none | text: Mars is red.", None, None) == "passage: Mars is red."
    assert apply_prompt("none", "task: fact checking | query: x", None, None) == "x"
    assert apply_prompt("nomic", "task: search result | query: x", None, None) == "search_query: x"
    qwen = apply_prompt("qwen3", "task: search result | query: x", None, None)
    assert qwen.startswith("Instruct: Given a web search query") and qwen.endswith("\nQuery:x")


def test_e5_qwen3_nomic_conventions() -> None:
    assert apply_prompt("e5", "x", T.CLUSTERING, None) == "query: x"
    assert apply_prompt("e5", "x", None, None) == "query: x"
    assert apply_prompt("qwen3", "doc", T.RETRIEVAL_DOCUMENT, None) == "doc"  # documents get no instruction
    assert apply_prompt("nomic", "x", T.CLASSIFICATION, None) == "classification: x"
    assert apply_prompt("nomic", "x", T.RETRIEVAL_DOCUMENT, None) == "search_document: x"


def test_plain_models_see_title_as_first_line_and_no_prefix() -> None:
    assert apply_prompt("none", "body", T.RETRIEVAL_QUERY, None) == "body"
    assert apply_prompt("none", "body", T.RETRIEVAL_DOCUMENT, "Head") == "Head\nbody"


def test_parse_gemini_prefix_ignores_ordinary_text() -> None:
    assert parse_gemini_prefix("the task: is | query: unusual") is None
    assert parse_gemini_prefix("task: unknown thing | query: x") is None
    parsed = parse_gemini_prefix("task: code retrieval | query: def f(): pass")
    assert parsed is not None and parsed.task is T.CODE_RETRIEVAL_QUERY and parsed.text == "def f(): pass"
