"""Images: RGB out, upright, bounded in size; bombs, truncation and corruption are 400s."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from omnivec.errors import InvalidArgument
from omnivec.media.image import decode_image
from omnivec.media.sniff import SUPPORTED
from omnivec.media.types import DecodedImage
from omnivec.settings import MediaSettings
from tests.media import samples

FIELD = "requests[0].content.parts[0].inline_data"


def decode(data: bytes, mime: str = "image/png", **limits: object) -> DecodedImage:
    return decode_image(data, SUPPORTED[mime], field=FIELD, settings=MediaSettings(**limits))  # type: ignore[arg-type]


def noise_png(width: int = 96, height: int = 64) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (samples.png(), "image/png"),
        (samples.jpeg(), "image/jpeg"),
        (samples.webp(), "image/webp"),
        (samples.png(mode="L"), "image/png"),
        (samples.png(mode="P"), "image/png"),
        (samples.png(mode="I;16"), "image/png"),
        (samples.image_bytes("JPEG", mode="CMYK"), "image/jpeg"),
    ],
)
def test_images_decode_to_rgb_at_their_size(data: bytes, mime: str) -> None:
    out = decode(data, mime)
    assert out.image.mode == "RGB"
    assert out.image.size == (64, 48) == (out.width, out.height)
    assert out.content_hash and out.modality.value == "IMAGE"


def test_png_pixels_survive_exactly() -> None:
    out = decode(samples.png())
    assert np.array_equal(np.asarray(out.image), np.asarray(samples.gradient()))


def test_transparent_pixels_become_white() -> None:
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    pixels = np.asarray(decode(buf.getvalue()).image)
    assert tuple(pixels[0, 0]) == (255, 0, 0)
    assert tuple(pixels[4, 4]) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    image = samples.gradient(64, 48)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes())
    out = decode(buf.getvalue(), "image/jpeg")
    assert out.image.size == (48, 64)


def test_large_images_are_scaled_to_the_configured_side() -> None:
    out = decode(samples.jpeg(3000, 1000), "image/jpeg", image_max_side=512)
    assert out.image.size == (512, 171)
    out = decode(samples.png(1000, 3000), image_max_side=300)
    assert out.image.size == (100, 300)


def test_a_real_decompression_bomb_is_refused_before_decoding() -> None:
    # 48 megapixels of one colour compress to a few kilobytes.
    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(InvalidArgument) as err:
        decode(buf.getvalue())
    assert "8000x6000" in err.value.message and "40000000" in err.value.message
    assert err.value.violations[0].field == FIELD


@pytest.mark.parametrize("size", [(7000, 7000), (10_000, 10_000), (40_000, 40_000)])
def test_headers_announcing_huge_images_are_refused(size: tuple[int, int]) -> None:
    # Below, between and above Pillow's own warning/error thresholds (89 MP / 179 MP).
    with pytest.raises(InvalidArgument) as err:
        decode(samples.png_with_size_claim(*size))
    assert "decompression bomb" in err.value.message


def test_the_pixel_ceiling_is_configurable() -> None:
    assert decode(samples.png(100, 100), max_image_pixels=10_000).width == 100
    with pytest.raises(InvalidArgument, match="100x101"):
        decode(samples.png(100, 101), max_image_pixels=10_000)


def corrupt_png() -> bytes:
    data = bytearray(noise_png())
    at = data.find(b"IDAT") + 100
    data[at : at + 16] = bytes(16)  # the chunk's CRC no longer matches
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (noise_png()[: len(noise_png()) // 2], "image/png"),
        (corrupt_png(), "image/png"),
        (noise_png()[:40], "image/png"),
        (samples.jpeg()[:300], "image/jpeg"),
        (b"\xff\xd8\xff" + bytes(100), "image/jpeg"),
        (samples.webp()[:40], "image/webp"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_truncated_or_corrupt_images_are_refused(data: bytes, mime: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        decode(data, mime)
    assert "corrupt or truncated" in err.value.message
