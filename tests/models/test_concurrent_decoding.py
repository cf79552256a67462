"""A request's media parts are decoded concurrently: the vectors are those of decoding one input
at a time, and a failure names the first failing input in request order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from omnivec.bootstrap import Container, build
from omnivec.errors import InvalidArgument
from omnivec.settings import MediaSettings, Settings
from omnivec.types import BlobPart, EmbedInput, TextPart
from tests.media import samples

pytestmark = pytest.mark.slow


@pytest.fixture
def clip(tiny_dir: Callable[[str], Path], tmp_path: Path) -> Iterator[Container]:
    settings = Settings(
        models=[f"clip={tiny_dir('clip')}"],
        data_dir=tmp_path,
        offline=True,
        media=MediaSettings(decode_concurrency=3),
    )
    container = build(settings)
    asyncio.run(container.start(background_jobs=False))
    yield container
    asyncio.run(container.stop())


def _inputs() -> list[EmbedInput]:
    """Images of different sizes and formats, a PDF rendered to page images, and text."""
    parts: list[tuple[object, ...]] = [
        (BlobPart("image/png", samples.png(64 + 8 * i, 48 + 4 * i)),) for i in range(5)
    ]
    parts.append((BlobPart("image/jpeg", samples.jpeg(80, 60)),))
    parts.append((BlobPart("application/pdf", samples.pdf_text(["first page", "second page"])),))
    parts.append((TextPart("a red square"), BlobPart("image/webp", samples.webp(50, 70))))
    parts.append((TextPart("just text"),))
    return [EmbedInput(p) for p in parts]  # type: ignore[arg-type]


def test_concurrent_decoding_gives_the_vectors_of_one_input_at_a_time(clip: Container) -> None:
    inputs = _inputs()

    async def together() -> list[np.ndarray]:
        return [e.values for e in await clip.embeddings.embed("clip", inputs)]

    async def one_by_one() -> list[np.ndarray]:
        return [(await clip.embeddings.embed("clip", [item]))[0].values for item in inputs]

    concurrent = np.stack(asyncio.run(together()))
    sequential = np.stack(asyncio.run(one_by_one()))
    assert concurrent.shape == (len(inputs), clip.catalogue.resolve("clip").dimensions)
    cos = (
        (concurrent * sequential).sum(1)
        / np.linalg.norm(concurrent, axis=1)
        / np.linalg.norm(sequential, axis=1)
    )
    assert cos.min() >= 0.99999, cos


def test_a_failure_names_the_first_failing_input_in_request_order(clip: Container) -> None:
    broken = EmbedInput((BlobPart("image/png", b"\x89PNG\r\n\x1a\n not an image"),))
    inputs = _inputs()
    inputs[2] = broken
    inputs[6] = broken
    with pytest.raises(InvalidArgument) as err:
        asyncio.run(clip.embeddings.embed("clip", inputs))
    assert err.value.violations[0].field.startswith("requests[2].")
