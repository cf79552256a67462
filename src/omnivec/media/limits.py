"""Per-Content media budgets: how many images, PDF pages and seconds of audio and video one
Content may hold, and the refusals that name the limit and what was found."""

from __future__ import annotations

from dataclasses import dataclass

from omnivec.errors import InvalidArgument
from omnivec.settings import MediaSettings

# Encoders pad their output (MP3 frames of 26 ms, AAC priming samples), so a clip cut to exactly
# the limit decodes a little longer; lengths are compared with this much slack.
LENGTH_TOLERANCE_S = 0.25


@dataclass(slots=True)
class MediaTally:
    """What the earlier media parts of one Content have used. The service makes one per
    Content; the decoder checks and charges it part by part."""

    images: int = 0
    pdf_pages: int = 0
    audio_s: float = 0.0
    video_s: float = 0.0

    def take_image(self, settings: MediaSettings, field: str) -> None:
        if self.images >= settings.max_images:
            raise InvalidArgument.at(
                field,
                f"a content may hold at most {settings.max_images} images; this is image {self.images + 1}",
            )
        self.images += 1

    def pages_left(self, settings: MediaSettings) -> PageLimit:
        return PageLimit(settings.max_pdf_pages, self.pdf_pages)

    def audio_left(self, settings: MediaSettings) -> LengthLimit:
        return LengthLimit("audio", settings.max_audio_s, self.audio_s)

    def video_left(self, settings: MediaSettings) -> LengthLimit:
        return LengthLimit("video", settings.max_video_s, self.video_s)


@dataclass(frozen=True, slots=True)
class LengthLimit:
    """The seconds one audio or video part may still last."""

    kind: str
    limit_s: float
    used_s: float = 0.0

    @property
    def available_s(self) -> float:
        return self.limit_s - self.used_s

    def exceeded_by(self, seconds: float) -> bool:
        return seconds > self.available_s + LENGTH_TOLERANCE_S

    def refusal(self, field: str, seconds: float, *, at_least: bool = False) -> InvalidArgument:
        found = f"{'at least ' if at_least else ''}{seconds:.1f} s"
        if self.used_s:
            return InvalidArgument.at(
                field,
                f"the {self.kind} is {found} long; with the {self.used_s:.1f} s of {self.kind} before it in "
                f"this content that is more than the {self.limit_s:g} s limit",
            )
        return InvalidArgument.at(
            field, f"the {self.kind} is {found} long, more than the {self.limit_s:g} s limit"
        )


@dataclass(frozen=True, slots=True)
class PageLimit:
    limit: int
    used: int = 0

    def check(self, field: str, pages: int) -> None:
        if pages > self.limit - self.used:
            before = f" (with the {self.used} PDF pages before it in this content)" if self.used else ""
            raise InvalidArgument.at(
                field, f"the PDF has {pages} pages; a content may hold at most {self.limit} PDF pages{before}"
            )


def scaled_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(width, height) shrunk to fit ``max_side``, aspect kept; never enlarged."""
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    ratio = max_side / longest
    return max(1, round(width * ratio)), max(1, round(height * ratio))
