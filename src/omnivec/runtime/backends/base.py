"""The backend protocol every model implementation follows.

``prepare`` runs on a CPU worker thread (tokenise, preprocess), ``forward`` and ``finalize`` on
the model's own executor thread. Only ``forward`` touches the device.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from omnivec.errors import InvalidArgument
from omnivec.types import Modality, ModelKind, PromptStyle, ScoreActivation, Truncation

if TYPE_CHECKING:
    import numpy as np

    from omnivec.runtime.inputs import ModelInput, PreparedItem


@dataclass(frozen=True, slots=True)
class BackendInfo:
    model_id: str
    dimensions: int
    max_tokens: int
    modalities: frozenset[Modality]
    matryoshka: bool
    prompt_style: PromptStyle
    normalized: bool
    source: str
    description: str = ""
    # Whether several parts of one Content are embedded together (interleaved) by the model
    # itself; otherwise the backend averages per-part vectors.
    interleaved: bool = False
    # The sample rate the model's audio front end expects (Hz), for the media layer to resample
    # to; None when the model takes no audio.
    audio_sample_rate: int | None = None
    # How the model computes: "fp32", "bf16", "onnx", "onnx-int8" for text models, "torch" for
    # backends that run in the checkpoint's own precision.
    engine: str = "torch"
    # The size of the tokenizer's vocabulary, for inputs given as token ids; None when the
    # backend cannot take token ids.
    vocab_size: int | None = None
    # An embedding model, or a reranker that scores pairs (``PairScorer``).
    kind: ModelKind = ModelKind.EMBEDDING
    # A reranker's logit -> score (the runtime hands back logits); None for embedding models.
    score_activation: ScoreActivation | None = None
    # Whether several threads may run ``forward`` on this one object at once (torch on the CPU:
    # the weights are only read). Such a model's executors share its weights instead of each
    # loading a copy.
    concurrent_forward: bool = False


class InputError(InvalidArgument):
    """One input of a ``prepare`` call cannot be embedded. ``index`` is its position in that
    call, ``description`` says why (for the client, without the position): the caller maps the
    index back to the request's own field (``requests[i].content``)."""

    def __init__(self, index: int, description: str) -> None:
        super().__init__(f"Input {index}: {description}")
        self.index = index
        self.description = description


class InputTooLong(InputError):
    """Raised by ``prepare`` when ``auto_truncate`` is off and an input exceeds the token limit."""

    def __init__(self, index: int, tokens: int, limit: int) -> None:
        super().__init__(
            index,
            f"the input has {tokens} tokens, more than the model's limit of {limit}; "
            "shorten it or set autoTruncate to true",
        )
        self.tokens = tokens
        self.limit = limit


def refuse_start_cut(index: int, item: ModelInput, model_id: str) -> None:
    """For a backend that can cut only the end of an over-long input, about to cut one: a cut
    of the start is refused, never silently made at the other end."""
    if item.truncation is Truncation.START:
        raise InputError(
            index,
            f"the input is over the token limit of model {model_id}, which can cut only its end "
            "(truncation at the START is not supported for it); shorten it",
        )


@contextlib.contextmanager
def preparing(index: int) -> Iterator[None]:
    """Around the CPU step of input ``index``: a refusal raised without its position (by a
    media helper, say) becomes an ``InputError`` that carries it."""
    try:
        yield
    except InputError:
        raise
    except InvalidArgument as exc:
        raise InputError(index, exc.message) from None


class Backend(Protocol):
    info: BackendInfo

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        """The CPU step, one ``PreparedItem`` per input, in order.

        Thread-safe by contract: several worker threads call it at once on one backend, with
        different ``auto_truncate`` settings, so it must not switch shared state (a fast
        tokenizer's truncation setting, say) per call. An input that cannot be embedded raises
        an ``InputError`` carrying its index (``InputTooLong`` when it is over the token limit and
        ``auto_truncate`` is off: never cut silently).
        """
        ...

    def forward(self, items: Sequence[PreparedItem]) -> Any: ...

    def finalize(self, output: Any) -> np.ndarray: ...

    def close(self) -> None: ...


class CompileState(enum.Enum):
    """Where a backend that compiles its model in the background stands."""

    OFF = "off"  # not asked to, or not possible here (no C++ compiler, not a CPU)
    COMPILING = "compiling"  # the eager model serves meanwhile
    COMPILED = "compiled"  # the compiled model serves
    FAILED = "failed"  # compiling failed or its vectors failed the probe; the eager model serves


@runtime_checkable
class CompilesInBackground(Protocol):
    """A backend that can compile its model while it serves eagerly (the bf16 engine on a CPU)."""

    @property
    def compile_state(self) -> CompileState: ...

    def start_compiling(self, thread_counts: Sequence[int]) -> None:
        """Start compiling for passes run with each of ``thread_counts`` torch threads; returns
        at once. A backend that cannot compile here stays ``OFF``."""
        ...


class PairScorer(Backend, Protocol):
    """A backend that scores (query, document) pairs (a cross-encoder). Its ``prepare_pairs`` is
    the CPU step for pairs; ``forward``/``finalize`` then give one row per pair whose first value
    is the pair's logit, through the same runner, batcher and token budget as embeddings."""

    def prepare_pairs(
        self, query: str, documents: Sequence[str], *, auto_truncate: bool
    ) -> list[PreparedItem]:
        """One ``PreparedItem`` per document, in order; thread-safe like ``prepare``. A pair that
        does not fit the model raises an ``InputError`` with the document's index."""
        ...
