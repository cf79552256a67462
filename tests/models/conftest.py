"""Tiny multimodal checkpoints, built once per test session and loaded through ``load_backend``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from omnivec.media.types import DecodedAudio, DecodedImage, DecodedVideo
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.runtime import Runtime
from omnivec.types import Modality
from tests.support import tiny_multimodal_models as tiny

BUILDERS: dict[str, Callable[[Path], Path]] = {
    "clip": tiny.build_clip,
    "siglip": tiny.build_siglip,
    "siglip2": tiny.build_siglip2,
    "clap": tiny.build_clap,
    "eg2": tiny.build_embeddinggemma2,
    "qwen3vl": tiny.build_qwen3_vl,
}
ARCHITECTURES = list(BUILDERS)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The directory of a tiny checkpoint by name; ``eg2-text`` is the full EG2's own text tower
    saved as a text-only checkpoint."""
    built: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in built:
            directory = tmp_path_factory.mktemp(name)
            if name == "eg2-text":
                built[name] = tiny.build_embeddinggemma2_text(directory, full_model_dir=get("eg2"))
            else:
                built[name] = BUILDERS[name](directory)
        return built[name]

    return get


@pytest.fixture(scope="session")
def tiny_backend(tiny_dir: Callable[[str], Path]) -> Callable[..., Backend]:
    """A loaded backend per (name, modalities), shared by the session's tests."""
    loaded: dict[tuple[str, frozenset[Modality] | None], Backend] = {}

    def get(name: str, modalities: frozenset[Modality] | None = None) -> Backend:
        key = (name, modalities)
        if key not in loaded:
            source = str(tiny_dir(name))
            loaded[key] = load_backend(name, source, device="cpu", offline=True, modalities=modalities)
        return loaded[key]

    return get


@pytest.fixture(scope="session")
def mm_runtime(tiny_backend: Callable[..., Backend]) -> Iterator[Runtime]:
    """The real runtime (batcher, one executor thread per model) over every tiny architecture."""
    runtime = Runtime([tiny_backend(name) for name in ARCHITECTURES], BatchLimits(8192, 32, 0.002, 1024))
    runtime.start()
    yield runtime
    for runner in runtime.runners.values():
        runner.stop()


# --- decoded media, as the media layer hands them over --------------------------------------------


def image(seed: int = 0, size: tuple[int, int] = (40, 50)) -> DecodedImage:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
    return DecodedImage(Image.fromarray(pixels), size[1], size[0], f"image-{seed}")


def audio(seed: int = 0, seconds: float = 1.0, rate: int = 16_000) -> DecodedAudio:
    samples = (np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)
    return DecodedAudio(samples, rate, seconds, f"audio-{seed}")


def video(seed: int = 0, frames: int = 4, with_audio: bool = False) -> DecodedVideo:
    pixels = np.random.default_rng(seed).integers(0, 255, (frames, 40, 50, 3), dtype=np.uint8)
    track = audio(seed, seconds=float(frames)) if with_audio else None
    return DecodedVideo(pixels, 1.0, float(frames), f"video-{seed}", track)
