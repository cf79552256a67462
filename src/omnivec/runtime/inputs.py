"""What the runtime embeds: one ``ModelInput`` per Content, with the task it is embedded for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omnivec.types import Modality, TaskType, Truncation


@dataclass(frozen=True, slots=True)
class ModelInput:
    """The parts of one Content, in order. Text parts are ``str``, as the client sent them;
    media parts are the decoded objects of ``omnivec.media``; a ``TokenIdsPart`` is a Content
    given as the model's own token ids. ``task`` and ``title`` are rendered into the model's own
    prompt convention by its backend. ``truncation`` is the side an over-long input loses (None:
    the tokenizer's own)."""

    parts: tuple[Any, ...]
    task: TaskType | None = None
    title: str | None = None
    truncation: Truncation | None = None

    @property
    def is_text_only(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    def text(self) -> str:
        """All text parts of the Content as one passage."""
        return "\n".join(p for p in self.parts if isinstance(p, str))


@dataclass(slots=True)
class PreparedItem:
    """One input after the CPU step (tokenisation, media preprocessing), ready for the device.

    ``cost`` is what the batcher budgets: tokens for text, the model's equivalent for media.
    """

    cost: int
    token_count: int
    payload: Any
    truncated: bool = False
    tokens_by_modality: dict[Modality, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EncodedItem:
    """The runtime's answer for one ModelInput: the model's own full-width vector."""

    vector: Any  # np.ndarray, float32, shape (dimensions,)
    token_count: int
    tokens_by_modality: dict[Modality, int]
    truncated: bool
