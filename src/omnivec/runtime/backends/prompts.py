"""Gemini task types rendered in each model family's own prompt convention.

A model is trained with one convention (EmbeddingGemma's ``task: … | query: …``, e5's
``query:``/``passage:``, Qwen3's ``Instruct:``, nomic's ``search_query:`` …); sending the right
prefix for the requested task matters as much as the model. Text that already carries a
Gemini-2 style prefix is passed through for models that speak it and translated for the rest,
so it is never prefixed twice.

The service passes the task and title along with the content (``ModelInput``); each backend
family renders them here in the style its model was trained with, in its own ``prepare``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from omnivec.types import PromptStyle, TaskType

# EmbeddingGemma / Gemini Embedding 2 task names.
_GEMMA_TASKS: dict[TaskType, str] = {
    TaskType.RETRIEVAL_QUERY: "search result",
    TaskType.QUESTION_ANSWERING: "question answering",
    TaskType.FACT_VERIFICATION: "fact checking",
    TaskType.CODE_RETRIEVAL_QUERY: "code retrieval",
    TaskType.CLASSIFICATION: "classification",
    TaskType.CLUSTERING: "clustering",
    TaskType.SEMANTIC_SIMILARITY: "sentence similarity",
}
_GEMMA_TASK_NAMES = {name: task for task, name in _GEMMA_TASKS.items()}

_QWEN3_INSTRUCTIONS: dict[TaskType, str] = {
    TaskType.RETRIEVAL_QUERY: "Given a web search query, retrieve relevant passages that answer the query",
    TaskType.QUESTION_ANSWERING: "Given a question, retrieve passages that answer the question",
    TaskType.FACT_VERIFICATION: "Given a claim, retrieve documents that support or refute the claim",
    TaskType.CODE_RETRIEVAL_QUERY: (
        "Given a code search query, retrieve relevant code snippets that answer the query"
    ),
    TaskType.CLASSIFICATION: "Classify the given text",
    TaskType.CLUSTERING: "Identify the topic or theme of the given text",
    TaskType.SEMANTIC_SIMILARITY: "Retrieve semantically similar text",
}

_NOMIC_PREFIXES: dict[TaskType, str] = {
    TaskType.RETRIEVAL_QUERY: "search_query: ",
    TaskType.RETRIEVAL_DOCUMENT: "search_document: ",
    TaskType.QUESTION_ANSWERING: "search_query: ",
    TaskType.FACT_VERIFICATION: "search_query: ",
    TaskType.CODE_RETRIEVAL_QUERY: "search_query: ",
    TaskType.CLASSIFICATION: "classification: ",
    TaskType.CLUSTERING: "clustering: ",
    TaskType.SEMANTIC_SIMILARITY: "clustering: ",
}

_QUERY_PREFIX = re.compile(r"^task:\s*(?P<task>[^|]+?)\s*\|\s*query:\s?(?P<body>.*)\Z", re.DOTALL)
_DOCUMENT_PREFIX = re.compile(r"^title:\s*(?P<title>[^|]*?)\s*\|\s*text:\s?(?P<body>.*)\Z", re.DOTALL)


@dataclass(frozen=True, slots=True)
class PromptedText:
    text: str
    task: TaskType | None
    title: str | None


def parse_gemini_prefix(text: str) -> PromptedText | None:
    """Recognise text that already carries a Gemini-2 style prefix."""
    if m := _QUERY_PREFIX.match(text):
        task = _GEMMA_TASK_NAMES.get(m["task"].strip().lower())
        if task is not None:
            return PromptedText(m["body"], task, None)
    if m := _DOCUMENT_PREFIX.match(text):
        title = m["title"].strip()
        return PromptedText(
            m["body"], TaskType.RETRIEVAL_DOCUMENT, None if title.lower() == "none" else title
        )
    return None


def render(style: PromptStyle, text: str, task: TaskType | None, title: str | None) -> str:
    """The text a model of ``style`` should see for ``task`` (and ``title`` for documents)."""
    if style is PromptStyle.GEMMA and parse_gemini_prefix(text) is not None:
        return text  # already in the model's own convention
    text, task, title = _understood(text, task, title)
    match style:
        case PromptStyle.GEMMA:
            return _gemma(text, task, title)
        case PromptStyle.E5:
            return ("passage: " if task is TaskType.RETRIEVAL_DOCUMENT else "query: ") + _with_title(
                text, title
            )
        case PromptStyle.QWEN3:
            instruction, body = instructed(text, task, title)
            return f"Instruct: {instruction}\nQuery:{body}" if instruction else body
        case PromptStyle.NOMIC:
            prefix = _NOMIC_PREFIXES.get(task, "search_document: ") if task else "search_document: "
            return prefix + _with_title(text, title)
        case _:
            return _with_title(text, title)


def instructed(text: str, task: TaskType | None, title: str | None) -> tuple[str | None, str]:
    """Qwen3's convention as its two pieces: the task instruction (None: no task) and the text
    (with the title as its first line). Chat-template models put the instruction in the system
    turn; text models write it as ``Instruct: …\nQuery:…``."""
    text, task, title = _understood(text, task, title)
    instruction = _QWEN3_INSTRUCTIONS.get(task) if task else None
    return instruction, _with_title(text, title)


def prompted_parts(
    style: PromptStyle,
    parts: tuple[object, ...],
    task: TaskType | None,
    title: str | None,
    *,
    interleaved: bool,
) -> tuple[object, ...]:
    """Apply the task prompt once per Content, to its text only.

    Media parts never get a prefix, and a Content of media alone is left as it is (EmbeddingGemma's
    card: pass images, video and audio without one). For most models all text parts form one
    passage, placed where the first text part stood; media parts keep their order around it. A
    natively ``interleaved`` model reads the parts in order, so its text parts stay where they
    are and the prompt goes on the first one.
    """
    texts = [p for p in parts if isinstance(p, str)]
    if not texts:
        return parts
    first = texts[0] if interleaved else "\n".join(texts)
    passage = render(style, first, task, title)
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


def _understood(
    text: str, task: TaskType | None, title: str | None
) -> tuple[str, TaskType | None, str | None]:
    """The task and title the caller meant: a Gemini-2 prefix in the text says them too, and a
    title alone means a document."""
    if task is TaskType.TASK_TYPE_UNSPECIFIED:
        task = None
    prefixed = parse_gemini_prefix(text)
    if prefixed is not None:
        text, task, title = prefixed.text, prefixed.task, prefixed.title or title
    if title is not None and task is None:
        task = TaskType.RETRIEVAL_DOCUMENT  # a title only makes sense for a document
    return text, task, title


def _gemma(text: str, task: TaskType | None, title: str | None) -> str:
    if task is TaskType.RETRIEVAL_DOCUMENT:
        return f"title: {title or 'none'} | text: {text}"
    if task is None:
        return text
    return f"task: {_GEMMA_TASKS[task]} | query: {text}"


def _with_title(text: str, title: str | None) -> str:
    """Models with no title convention see the title as the document's first line."""
    return f"{title}\n{text}" if title else text
