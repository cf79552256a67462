"""Decoded media as the multimodal backends consume them: shared, model-independent steps.

The media layer hands over decoded objects (``omnivec.media.types``); each backend then needs
the same few conversions before its own processor runs: audio at the model's sample rate and cut
into windows the model's front end takes whole, video frames at the model's frame rate and under
its frame budget, PDF pages as images and text. They live here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.media.types import DecodedAudio, DecodedDocument, DecodedImage, DecodedVideo
from omnivec.runtime.backends.base import InputError
from omnivec.types import Modality

_NAMES = {
    Modality.IMAGE: "images",
    Modality.AUDIO: "audio",
    Modality.VIDEO: "video",
    Modality.DOCUMENT: "documents",
    Modality.TEXT: "text",
}


def part_modality(part: object) -> Modality:
    if isinstance(part, str):
        return Modality.TEXT
    modality = getattr(part, "modality", None)
    if isinstance(modality, Modality):
        return modality
    raise TypeError(f"not a decoded part: {type(part).__name__}")


def unsupported(model_id: str, index: int, modality: Modality) -> InputError:
    return InputError(index, f"model {model_id} does not take {_NAMES[modality]}")


def check_modalities(
    model_id: str, index: int, parts: tuple[Any, ...], accepted: frozenset[Modality]
) -> None:
    for part in parts:
        modality = part_modality(part)
        if modality not in accepted:
            raise unsupported(model_id, index, modality)


# --- audio ----------------------------------------------------------------------------------------


def audio_at(audio: DecodedAudio, rate: int) -> np.ndarray:
    """Mono float32 samples at ``rate``. The media layer already resamples to the rate the
    backend states; this polyphase fallback only runs for callers that did not."""
    samples = np.asarray(audio.samples, dtype=np.float32).reshape(-1)
    if audio.sample_rate == rate or samples.size == 0:
        return samples
    from scipy.signal import resample_poly

    ratio = Fraction(rate, audio.sample_rate).limit_denominator(1000)
    return resample_poly(samples, ratio.numerator, ratio.denominator).astype(np.float32)


def audio_windows(samples: np.ndarray, window: int) -> list[np.ndarray]:
    """Equal, consecutive windows of at most ``window`` samples covering the whole clip.

    Models whose audio front end sees a fixed span (CLAP: 10 s, EmbeddingGemma 2: 30 s) would
    otherwise drop or randomly crop the rest; equal splits avoid a tiny, over-weighted tail.
    """
    if samples.size <= window:
        return [samples]
    count = -(-samples.size // window)
    return list(np.array_split(samples, count))


# --- video ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frames:
    """Frames sampled for a model: uint8 (T, H, W, 3) and each frame's time in seconds."""

    frames: np.ndarray
    times: tuple[float, ...]

    def images(self) -> list[Any]:
        from PIL import Image

        return [Image.fromarray(np.ascontiguousarray(f)) for f in self.frames]


def sample_frames(video: DecodedVideo, *, fps: float | None, max_frames: int) -> Frames:
    """Frames at (at most) ``fps``, then uniformly thinned to ``max_frames``, the way the models'
    own video processors sample (EmbeddingGemma 2: 1 fps, 32 frames; Qwen3-VL: fps, max_frames)."""
    frames = np.asarray(video.frames)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise InvalidArgument("The video has no frames.")
    source_fps = float(video.fps) if video.fps and video.fps > 0 else 1.0
    indices = np.arange(frames.shape[0])
    if fps is not None and fps < source_fps:
        step = source_fps / fps
        count = max(1, int(frames.shape[0] / step))
        indices = np.minimum((np.arange(count) * step).astype(int), frames.shape[0] - 1)
    if max_frames and indices.size > max_frames:
        indices = indices[np.linspace(0, indices.size - 1, max_frames).astype(int)]
    return Frames(frames[indices], tuple(float(i) / source_fps for i in indices))


# --- documents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PagePart:
    """One piece of a PDF page: its rendered image or its text."""

    image: Any | None = None
    text: str | None = None


def document_pieces(document: DecodedDocument, *, with_images: bool) -> Iterator[PagePart]:
    """Each page in order: its image (when the model takes images and one was rendered), then
    its text (when it has any)."""
    for page in document.pages:
        if with_images and page.image is not None:
            yield PagePart(image=page.image)
        if page.text and page.text.strip():
            yield PagePart(text=page.text)


def rgb(image: Any) -> Any:
    """PIL images in RGB (the media layer delivers RGB; pages rendered elsewhere may not be)."""
    return image if getattr(image, "mode", "RGB") == "RGB" else image.convert("RGB")


def image_of(part: DecodedImage) -> Any:
    return rgb(part.image)


def l2_normalised(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
