"""The runtime facade: the served models, each with its runner, behind one ``embed`` call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager

import numpy as np

from omnivec.errors import FailedPrecondition, NotFound
from omnivec.runtime.backends.base import Backend, BackendInfo, CompilesInBackground, CompileState
from omnivec.runtime.backends.tokens import TokenSpan, token_spans
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.executors import CoreShare
from omnivec.runtime.inputs import EncodedItem, ModelInput
from omnivec.runtime.observer import RuntimeObserver, notify_prepare
from omnivec.runtime.replicas import ReplicaReport
from omnivec.runtime.runner import ModelRunner
from omnivec.types import Priority

_NO_VECTOR = np.zeros(0, dtype=np.float32)

# The longest a model's compiled engine may keep the server unready (a first build took 25-40 s
# on 2 cores; a later start reuses TorchInductor's cache).
COMPILE_READY_WAIT_S = 300.0


class Runtime:
    def __init__(
        self, backends: Sequence[Backend], limits: BatchLimits, *, compile_engines: bool = False
    ) -> None:
        """Backends sharing a model id are replicas of one model: one runner, one queue.
        ``compile_engines``: models that can compile in the background (the bf16 engine on a
        CPU) start doing so when the runtime starts."""
        self.observers: list[RuntimeObserver] = []
        by_model: dict[str, list[Backend]] = {}
        for backend in backends:
            by_model.setdefault(backend.info.model_id, []).append(backend)
        self.runners: dict[str, ModelRunner] = {
            model_id: ModelRunner(
                first,
                limits,
                self.observers,
                replicas=rest,
                cores=_core_share(first, rest),
                compile_engine=compile_engines,
            )
            for model_id, (first, *rest) in by_model.items()
        }
        self._started = False
        self._started_at: float | None = None

    def start(self) -> None:
        if not self._started:
            for runner in self.runners.values():
                runner.start()
            self._started = True
            self._started_at = time.monotonic()

    def refuse_queued(self) -> None:
        """Answer every queued item with UNAVAILABLE and take no more (the start of shutdown)."""
        for runner in self.runners.values():
            runner.refuse_queued()

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        for runner in self.runners.values():
            runner.close_backends()

    def stalled(self, threshold_s: float) -> list[str]:
        """Models whose forward pass has been running for longer than ``threshold_s``."""
        return [m for m, r in self.runners.items() if r.forward_running_for() > threshold_s]

    def unready_models(self) -> list[str]:
        """Served models that cannot take work now (no live replica); in-process models always can."""
        return []

    def compiling_models(self) -> list[str]:
        """Models whose compiled engine is being built: they serve, on their eager engine, and
        the server is not ready yet (it would be slower, and the build takes the CPU). Not after
        ``COMPILE_READY_WAIT_S`` from the start: a build that hangs must not keep it unready."""
        if self._started_at is not None and time.monotonic() - self._started_at > COMPILE_READY_WAIT_S:
            return []
        return [
            model_id
            for model_id, runner in self.runners.items()
            if isinstance(runner.backend, CompilesInBackground)
            and runner.backend.compile_state is CompileState.COMPILING
        ]

    def replica_reports(self) -> list[ReplicaReport]:
        """Models served by replicas outside this process report here; in-process ones do not."""
        return []

    def add_observer(self, observer: RuntimeObserver) -> None:
        self.observers.append(observer)

    def model_ids(self) -> list[str]:
        return list(self.runners)

    def info(self, model_id: str) -> BackendInfo:
        """What the backend serving ``model_id`` says of itself (the catalogue is built from it,
        for local and remote runtimes alike)."""
        return self._runner(model_id).backend.info

    @property
    def queue_depth(self) -> int:
        return sum(r.batcher.depth for r in self.runners.values())

    def admit(self, model_id: str, items: int) -> AbstractContextManager[None]:
        """Reserve room for ``items`` inputs before any work is done on them; 429 when full."""
        return self._runner(model_id).admit(items)

    async def embed(
        self,
        model_id: str,
        inputs: Sequence[ModelInput],
        *,
        auto_truncate: bool = True,
        priority: Priority = Priority.ONLINE,
    ) -> list[EncodedItem]:
        runner = self._runner(model_id)
        if not inputs:
            return []
        # The CPU step (tokenisation, media preprocessing) runs off the event loop, concurrently
        # with the forward pass of earlier batches.
        started = time.perf_counter()
        prepared = await asyncio.to_thread(runner.backend.prepare, inputs, auto_truncate=auto_truncate)
        notify_prepare(self.observers, model_id, len(inputs), time.perf_counter() - started)
        vectors = await runner.run(prepared, priority)
        return [
            EncodedItem(v, p.token_count, p.tokens_by_modality, p.truncated)
            for v, p in zip(vectors, prepared, strict=True)
        ]

    async def score_pairs(
        self,
        model_id: str,
        query: str,
        documents: Sequence[str],
        *,
        auto_truncate: bool = True,
        priority: Priority = Priority.ONLINE,
    ) -> list[EncodedItem]:
        """A reranker's logit for each (query, document) pair, in order (``vector[0]``), through
        the model's own queue, batcher and executor thread, like ``embed``."""
        runner = self._runner(model_id)
        prepare = getattr(runner.backend, "prepare_pairs", None)
        if prepare is None:
            raise FailedPrecondition(f"Model {model_id} is an embedding model; it does not score pairs.")
        if not documents:
            return []
        started = time.perf_counter()
        prepared = await asyncio.to_thread(prepare, query, documents, auto_truncate=auto_truncate)
        notify_prepare(self.observers, model_id, len(documents), time.perf_counter() - started)
        logits = await runner.run(prepared, priority)
        return [
            EncodedItem(v, p.token_count, p.tokens_by_modality, p.truncated)
            for v, p in zip(logits, prepared, strict=True)
        ]

    async def count_tokens(
        self, model_id: str, inputs: Sequence[ModelInput], *, auto_truncate: bool = True
    ) -> list[EncodedItem]:
        """What ``embed`` would report for ``inputs`` (tokens, per modality, truncation), from the
        backend's own CPU step, without a forward pass. The vectors are empty."""
        runner = self._runner(model_id)
        if not inputs:
            return []
        prepared = await asyncio.to_thread(runner.backend.prepare, inputs, auto_truncate=auto_truncate)
        return [EncodedItem(_NO_VECTOR, p.token_count, p.tokens_by_modality, p.truncated) for p in prepared]

    async def tokenize(self, model_id: str, text: str, *, add_special_tokens: bool = True) -> list[TokenSpan]:
        """The model's tokens of ``text``: the backend's own ``tokenize`` when it has one, else
        its Hugging Face tokenizer's."""
        backend = self._runner(model_id).backend
        own = getattr(backend, "tokenize", None)
        if own is not None:
            spans: list[TokenSpan] = await asyncio.to_thread(own, text, add_special_tokens=add_special_tokens)
            return spans
        tokenizer = getattr(backend, "tokenizer", None)
        if tokenizer is None or not getattr(tokenizer, "is_fast", False):
            raise FailedPrecondition(f"Model {model_id} does not expose its tokenizer.")
        return await asyncio.to_thread(token_spans, tokenizer, text, add_special_tokens=add_special_tokens)

    def _runner(self, model_id: str) -> ModelRunner:
        try:
            return self.runners[model_id]
        except KeyError:
            raise NotFound(f"Model {model_id} is not loaded.") from None


def _core_share(first: Backend, rest: Sequence[Backend]) -> CoreShare | None:
    """Executors running one backend object (torch on the CPU) share the process's torch
    threads, pass by pass; copies (each on its own GPU stream) have nothing to share."""
    if not rest or any(b is not first for b in rest):
        return None
    from omnivec.runtime.backends.device import current_torch_threads, set_torch_threads

    return CoreShare(current_torch_threads(), set_torch_threads)
