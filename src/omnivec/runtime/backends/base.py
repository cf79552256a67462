"""The backend protocol every model implementation follows.

``prepare`` runs on a CPU worker thread (tokenise, preprocess), ``forward`` and ``finalize`` on
the model's own executor thread. Only ``forward`` touches the device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from omnivec.errors import InvalidArgument
from omnivec.types import Modality

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
    prompt_style: str
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


class InputTooLong(InvalidArgument):
    """Raised by ``prepare`` when ``auto_truncate`` is off and an input exceeds the token limit."""

    def __init__(self, index: int, tokens: int, limit: int) -> None:
        super().__init__(
            f"Input {index} has {tokens} tokens, more than the model's limit of {limit}; "
            "shorten it or set autoTruncate to true."
        )
        self.index = index
        self.tokens = tokens
        self.limit = limit


class Backend(Protocol):
    info: BackendInfo

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]: ...

    def forward(self, items: Sequence[PreparedItem]) -> Any: ...

    def finalize(self, output: Any) -> np.ndarray: ...

    def close(self) -> None: ...
