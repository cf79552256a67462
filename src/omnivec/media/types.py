"""Decoded media, as the runtime's backends receive them.

Plain containers: numpy arrays and PIL images, plus the facts a backend or the usage accounting
needs. ``content_hash`` identifies the original bytes (for caches and the fake backend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from omnivec.types import Modality


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    modality: ClassVar[Modality] = Modality.IMAGE
    image: Any  # PIL.Image.Image, RGB
    width: int
    height: int
    content_hash: str


@dataclass(frozen=True, slots=True, eq=False)
class DecodedAudio:
    modality: ClassVar[Modality] = Modality.AUDIO
    samples: Any  # np.ndarray float32, mono, shape (n,)
    sample_rate: int
    duration_s: float
    content_hash: str


@dataclass(frozen=True, slots=True, eq=False)
class DecodedVideo:
    modality: ClassVar[Modality] = Modality.VIDEO
    frames: Any  # np.ndarray uint8, shape (T, H, W, 3), sampled at ``fps``
    fps: float
    duration_s: float
    content_hash: str
    audio: DecodedAudio | None = None


@dataclass(frozen=True, slots=True, eq=False)
class DocumentPage:
    text: str
    image: Any | None = None  # PIL.Image.Image when the model takes images


@dataclass(frozen=True, slots=True, eq=False)
class DecodedDocument:
    modality: ClassVar[Modality] = Modality.DOCUMENT
    pages: tuple[DocumentPage, ...]
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)
