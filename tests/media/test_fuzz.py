"""Mutated media through the whole decoder: every outcome is a decoded part or a 400.

Seeded random mutations (bit flips, overwrites, truncations, insertions, splices, extreme
integers) of valid samples of every accepted format: 30 per format here, so the suite stays fast;
raise CASES_PER_SAMPLE and change SEED locally to search harder (1,500 per format pass).
"""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from omnivec.errors import InvalidArgument
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.media_decoding import MediaPartDecoder
from omnivec.settings import MediaSettings
from omnivec.types import BlobPart, Modality, ModelDescriptor, PromptStyle
from tests.media import samples

CASES_PER_SAMPLE = 30
SEED = 20_261_121

OMNI = ModelDescriptor("omni", "omni", "", 8, 512, frozenset(Modality), False, PromptStyle.NONE)


def noise_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


SAMPLES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "png": ("image/png", noise_png),
    "jpeg": ("image/jpeg", lambda: samples.jpeg(48, 32)),
    "webp": ("image/webp", lambda: samples.webp(48, 32)),
    "wav": ("audio/wav", lambda: samples.wav(seconds=0.3, rate=8_000)),
    "mp3": ("audio/mpeg", lambda: samples.mp3(seconds=0.5, rate=8_000, channels=1)),
    "h264-mp4": ("video/mp4", lambda: samples.video(seconds=1, fps=5, width=32, height=32, audio=True)),
    "hevc-mov": (
        "video/quicktime",
        lambda: samples.video("libx265", "mov", seconds=1, fps=5, width=32, height=32),
    ),
    "vp9-mp4": ("video/mp4", lambda: samples.video("libvpx-vp9", seconds=1, fps=5, width=32, height=32)),
    "av1-mp4": ("video/mp4", lambda: samples.video("libsvtav1", seconds=1, fps=5, width=64, height=64)),
    "pdf-text": ("application/pdf", lambda: samples.pdf_text(["fuzz (text)", "second page"])),
    "pdf-image": ("application/pdf", lambda: samples.pdf_images([samples.gradient(40, 30)])),
}


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    # Mostly past the first bytes, so the mutant still passes the sniffer and reaches a decoder.
    lo = min(len(out) - 1, 16) if rng.random() < 0.9 else 0
    for _ in range(rng.randint(1, 3)):
        if not out:
            break
        at = rng.randrange(lo, len(out)) if lo < len(out) else 0
        match rng.randrange(6):
            case 0:  # bit flips
                for _ in range(rng.randint(1, 16)):
                    i = rng.randrange(lo, len(out)) if lo < len(out) else 0
                    out[i] ^= 1 << rng.randrange(8)
            case 1:  # overwrite with random bytes
                n = rng.randint(1, 64)
                out[at : at + n] = rng.randbytes(n)
            case 2:  # truncate
                del out[max(at, 1) :]
            case 3:  # insert
                out[at:at] = rng.randbytes(rng.randint(1, 64))
            case 4:  # splice a copy of another region
                start = rng.randrange(len(out))
                out[at:at] = out[start : start + rng.randint(1, 256)]
            case 5:  # extreme integers where sizes and counts live
                out[at : at + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
    return bytes(out)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_mutated_media_is_decoded_or_refused_with_a_400(name: str) -> None:
    mime, make = SAMPLES[name]
    original = make()
    rng = random.Random(f"{SEED}-{name}")
    catalogue = ModelCatalogue({"omni": OMNI}, {})
    # Small limits keep each case cheap even when a mutant claims a long or large stream.
    decoder = MediaPartDecoder(
        catalogue, MediaSettings(max_video_s=10, max_audio_s=10, max_image_pixels=4_000_000)
    )
    outcomes = {"decoded": 0, "refused": 0}

    async def run_all() -> None:
        for case in range(CASES_PER_SAMPLE):
            data = mutate(original, rng)
            try:
                await decoder.decode(BlobPart(mime, data), OMNI, "content.parts[0]", "")
                outcomes["decoded"] += 1
            except InvalidArgument as exc:
                assert exc.message and "Traceback" not in exc.message
                outcomes["refused"] += 1
            except Exception as exc:  # pragma: no cover - the failure report
                raise AssertionError(f"{name} case {case}: {type(exc).__name__}: {exc}") from exc

    asyncio.run(run_all())
    assert sum(outcomes.values()) == CASES_PER_SAMPLE
    assert outcomes["refused"] > 0  # the mutations do reach the refusal paths
