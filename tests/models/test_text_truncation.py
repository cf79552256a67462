"""The text backend's truncation: the same cut as the tokenizer's own, and ``autoTruncate: false``
honoured by every caller even while others ask for truncation on the same model at once."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from omnivec.runtime.backends.base import InputError, InputTooLong
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.backends.prompts import render
from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.inputs import ModelInput
from omnivec.types import TaskType, TokenIdsPart, Truncation
from tests.support import tiny_text_models

LONG = " ".join(["the cat sat on the mat"] * 30)  # far over the tiny models' 48 tokens


def _text_backend(directory: Path) -> SentenceTransformerBackend:
    backend = load_backend("tiny", str(directory), device="cpu", offline=True)
    assert isinstance(backend, SentenceTransformerBackend)
    return backend


@pytest.mark.parametrize(
    "builder",
    [
        tiny_text_models.build_bert_mean,
        tiny_text_models.build_xlmr_cls,
        tiny_text_models.build_qwen3_lasttoken,
    ],
)
@pytest.mark.parametrize("side", ["right", "left"])
def test_cut_equals_the_tokenizers_own_truncation(
    tmp_path: Path, builder: Callable[[Path], Path], side: str
) -> None:
    backend = _text_backend(builder(tmp_path))
    backend.tokenizer.truncation_side = side
    backend.cut = type(backend.cut).of(backend.tokenizer)
    limit = backend.info.max_tokens
    [item] = backend.prepare([ModelInput((LONG,))], auto_truncate=True)
    assert item.truncated and item.token_count == limit == len(item.payload)
    # A separate tokenizer, so the one under test keeps its own settings.
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(backend.tokenizer.name_or_path, truncation_side=side)
    expected = reference(LONG, truncation=True, max_length=limit)["input_ids"]
    assert item.payload.input_ids.tolist() == list(expected)


def test_auto_truncate_false_is_never_ignored_under_concurrency(tmp_path: Path) -> None:
    """Half the threads refuse to truncate, half truncate, on one shared backend: every strict
    call must be refused (the input is over the limit), none cut silently."""
    backend = _text_backend(tiny_text_models.build_bert_mean(tmp_path))
    item = ModelInput((LONG,))
    full = len(backend.tokenizer(LONG)["input_ids"])
    rounds, threads = 150, 4
    start = threading.Barrier(threads)
    silently_cut: list[int] = []
    refused: list[InputTooLong] = []
    truncated_counts: list[int] = []

    def strict() -> None:
        start.wait()
        for _ in range(rounds):
            try:
                silently_cut.append(backend.prepare([item], auto_truncate=False)[0].token_count)
            except InputTooLong as exc:
                refused.append(exc)

    def lax() -> None:
        start.wait()
        for _ in range(rounds):
            truncated_counts.append(backend.prepare([item], auto_truncate=True)[0].token_count)

    workers = [threading.Thread(target=f) for f in (strict, lax) * (threads // 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert silently_cut == []
    assert len(refused) == rounds * threads // 2
    assert {exc.tokens for exc in refused} == {full}  # the true count, never a cut one
    assert set(truncated_counts) == {backend.info.max_tokens}


@pytest.mark.parametrize(
    ("builder", "task", "title"),
    [
        (tiny_text_models.build_bert_mean, None, "the title"),  # no prompt style: the title line
        (tiny_text_models.build_qwen3_lasttoken, TaskType.RETRIEVAL_QUERY, None),  # Instruct: …
    ],
)
def test_truncation_start_keeps_specials_and_prompt(
    tmp_path: Path, builder: Callable[[Path], Path], task: TaskType | None, title: str | None
) -> None:
    """START keeps the end of the text; the special tokens and the prompt before it stay, and
    END still keeps the start."""
    backend = _text_backend(builder(tmp_path))
    tokenizer, limit = backend.tokenizer, backend.info.max_tokens
    text = " ".join(random.Random(0).choices(tiny_text_models.WORDS, k=150))  # no period to hide a shift
    rendered = render(backend.info.prompt_style, text, task, title)
    prompt = rendered[: len(rendered) - len(text)]
    assert prompt  # the case has a prompt to keep
    prefix, suffix = backend.cut.prefix, backend.cut.suffix
    full = tokenizer(rendered)["input_ids"]
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    body = tokenizer(text, add_special_tokens=False)["input_ids"]
    room = limit - prefix - len(prompt_ids) - suffix
    expected = [*full[:prefix], *prompt_ids, *body[-room:], *full[len(full) - suffix :]]
    start, end = backend.prepare(
        [ModelInput((text,), task, title, side) for side in (Truncation.START, Truncation.END)],
        auto_truncate=True,
    )
    assert start.truncated and start.token_count == limit
    assert start.payload.input_ids.tolist() == expected
    assert end.payload.input_ids.tolist() == [*full[: limit - suffix], *full[len(full) - suffix :]]


def test_token_ids_get_the_special_tokens_and_are_cut_like_text(tmp_path: Path) -> None:
    backend = _text_backend(tiny_text_models.build_bert_mean(tmp_path))
    tokenizer, limit = backend.tokenizer, backend.info.max_tokens
    short, long = "the red planet is mars", " ".join(random.Random(1).choices(tiny_text_models.WORDS, k=80))
    items = [
        ModelInput(
            (TokenIdsPart(tuple(tokenizer(t, add_special_tokens=False)["input_ids"])),), truncation=side
        )
        for t, side in ((short, None), (long, None), (long, Truncation.START))
    ]
    as_text = backend.prepare(
        [ModelInput((short,)), ModelInput((long,), truncation=Truncation.START)], auto_truncate=True
    )
    given = backend.prepare(items, auto_truncate=True)
    assert given[0].payload.input_ids.tolist() == tokenizer(short)["input_ids"]
    assert (
        given[1].payload.input_ids.tolist() == tokenizer(long, truncation=True, max_length=limit)["input_ids"]
    )
    assert given[2].payload.input_ids.tolist() == as_text[1].payload.input_ids.tolist()
    assert [g.token_count for g in given] == [len(tokenizer(short)["input_ids"]), limit, limit]
    with pytest.raises(InputTooLong):
        backend.prepare(items[1:2], auto_truncate=False)
    with pytest.raises(InputError, match="token ids"):
        backend.prepare([ModelInput((TokenIdsPart((len(tokenizer),)),))], auto_truncate=True)
