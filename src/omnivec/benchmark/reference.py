"""The yardsticks measured in-process: the served model's own forward pass (the ceiling) and
sentence-transformers' ``encode``.

Both go through the loaded backend, so the ceiling is exactly the device step the server runs —
pre-tokenised, length-sorted, cut into batches by the server's own token budget — with nothing
around it: no queue, no threads, no HTTP.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from omnivec.runtime.backends.base import Backend
from omnivec.runtime.batcher import BatchLimits, worth_adding
from omnivec.runtime.inputs import ModelInput, PreparedItem


def prepare_texts(backend: Backend, texts: Sequence[str]) -> list[PreparedItem]:
    return backend.prepare([ModelInput((t,)) for t in texts], auto_truncate=True)


def token_budget_batches(items: Sequence[PreparedItem], limits: BatchLimits) -> list[list[PreparedItem]]:
    """The whole corpus sorted by length and cut by the server's own batching rules (token
    budget, item limit, ``worth_adding``). The server's batcher sees only the queued requests;
    this is what it would do if it saw everything at once."""
    batches: list[list[PreparedItem]] = []
    current: list[PreparedItem] = []
    real = 0
    for item in sorted(items, key=lambda i: i.cost):
        # Sorted ascending, so the newcomer is the longest: it sets the padded length.
        cost = max(1, item.cost)
        if current:
            size, longest = len(current), max(1, current[-1].cost)
            grown = cost * (size + 1)
            if (
                size >= limits.max_batch_items
                or grown > limits.max_batch_tokens
                or not worth_adding(real, longest * size, cost, grown, limits.pass_overhead_tokens)
            ):
                batches.append(current)
                current, real = [], 0
        current.append(item)
        real += cost
    if current:
        batches.append(current)
    return batches


def time_forward(backend: Backend, batches: Sequence[Sequence[PreparedItem]]) -> float:
    """Wall seconds for the device step (forward and finalize) over all batches."""
    started = time.perf_counter()
    for batch in batches:
        backend.finalize(backend.forward(batch))
    return time.perf_counter() - started


def single_item_forward_ms(backend: Backend, items: Sequence[PreparedItem]) -> list[float]:
    """One forward pass per item, alone: the least any single request can take."""
    samples = []
    for item in items:
        started = time.perf_counter()
        backend.finalize(backend.forward([item]))
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


def sentence_transformers_model(backend: Backend) -> Any | None:
    """The backend's SentenceTransformer, when it has one (the fake backend does not)."""
    model = getattr(backend, "model", None)
    return model if callable(getattr(model, "encode", None)) else None


def time_st_encode(model: Any, texts: Sequence[str], *, bf16: bool = False) -> float:
    """``SentenceTransformer.encode`` with its default settings, as its users call it; with
    ``bf16``, under ``torch.autocast`` in bfloat16 (its fastest exact-enough CPU setting)."""
    from omnivec.runtime.backends.precision import bf16_autocast

    context = bf16_autocast() if bf16 else contextlib.nullcontext()
    started = time.perf_counter()
    with context:
        model.encode(list(texts))
    return time.perf_counter() - started
