"""PNG, JPEG and WebP to an RGB PIL image, refusing decompression bombs before any pixel is
decoded."""

from __future__ import annotations

import io
import struct
import warnings
from functools import cache
from typing import Any

from omnivec.errors import InvalidArgument
from omnivec.media.limits import scaled_size
from omnivec.media.sniff import MediaType, content_hash
from omnivec.media.types import DecodedImage
from omnivec.settings import MediaSettings

# Only the plug-ins of the accepted formats are ever consulted: bytes that pass the sniffer
# cannot be handed to a less hardened decoder.
_PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WebP": "WEBP"}


@cache
def _pil() -> Any:
    from PIL import Image

    return Image


def _bomb_warnings_are_errors(Image: Any) -> None:
    """Pillow warns (DecompressionBombWarning) above its MAX_IMAGE_PIXELS and raises above twice
    that. Our own ceiling (at most Pillow's) is checked before decoding, so the warning only comes
    with an image we refuse anyway; as an error it makes that refusal one clean 400 rather than a
    line on stderr first. Re-applied on every call (it is idempotent) because whoever owns the
    process, test runners included, may reset the warning filters."""
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def decode_image(data: bytes, media: MediaType, *, field: str, settings: MediaSettings) -> DecodedImage:
    Image = _pil()
    _bomb_warnings_are_errors(Image)
    errors = _decode_errors(Image)
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[media.label]]) as img:
            width, height = img.size
            if width * height > settings.max_image_pixels:
                raise _too_large(field, settings, f"{width}x{height}")
            if media.label == "JPEG":
                # Decode large JPEGs at a reduced DCT scale: less work and memory, same result
                # once scaled to image_max_side below.
                img.draft("RGB", (settings.image_max_side, settings.image_max_side))
            img.load()
            rgb = _upright_rgb(Image, img)
    except InvalidArgument:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(field, settings, None) from None
    except errors:
        raise InvalidArgument.at(
            field, f"the {media.label} image is corrupt or truncated and cannot be decoded"
        ) from None
    target = scaled_size(rgb.width, rgb.height, settings.image_max_side)
    if target != rgb.size:
        rgb = rgb.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
    return DecodedImage(image=rgb, width=rgb.width, height=rgb.height, content_hash=content_hash(data))


def _upright_rgb(Image: Any, img: Any) -> Any:
    from PIL import ImageOps

    # Phones store rotation in EXIF instead of rotating pixels; the model should see what a
    # viewer shows.
    upright = ImageOps.exif_transpose(img) or img
    if upright.mode == "RGB":
        return upright.copy() if upright is img else upright
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Transparent pixels over white, as transformers' convert_to_rgb does: plain convert()
        # would show whatever colour hides under alpha 0 (often black).
        rgba = upright.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return upright.convert("RGB")


def _too_large(field: str, settings: MediaSettings, size: str | None) -> InvalidArgument:
    found = f"is {size} pixels" if size else "announces more pixels than Pillow will decode"
    return InvalidArgument.at(
        field,
        f"the image {found}, more than the limit of {settings.max_image_pixels} pixels (width x height; "
        "a possible decompression bomb); scale it down before sending",
    )


def _decode_errors(Image: Any) -> tuple[type[BaseException], ...]:
    """What Pillow raises for malformed input: UnidentifiedImageError and 'truncated' are
    OSErrors; broken chunk structure surfaces as SyntaxError, ValueError, EOFError or
    struct.error depending on the plug-in."""
    return (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        struct.error,
        IndexError,
        TypeError,
        Image.UnidentifiedImageError,
    )
