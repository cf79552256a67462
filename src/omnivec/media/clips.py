"""Clips: a span of an audio or video part (``videoMetadata.startOffset``/``endOffset``, or one
time window of a search-store document), decoded without decoding the rest.

The container is seeked to the clip's start (FFmpeg lands on the keyframe before it), frames
before the start are dropped as they come and decoding stops at the end, so a clip late in a
long file costs about what the clip itself costs. The length limits apply to the clip, not to
the file.
"""

from __future__ import annotations

from typing import Any

from omnivec.errors import InvalidArgument
from omnivec.media.limits import LengthLimit
from omnivec.media.sniff import content_hash
from omnivec.types import Clip

# FFmpeg's AV_TIME_BASE: container-level seek offsets are in microseconds.
_AV_TIME_BASE = 1_000_000


def check_clip(clip: Clip | None, announced: float | None, limit: LengthLimit, field: str, noun: str) -> None:
    """Refuse before decoding: a clip that starts after the media ends, or longer than the limit
    (the whole media's announced length when there is no clip)."""
    if clip is None:
        if announced is not None and limit.exceeded_by(announced):
            raise limit.refusal(field, announced)
        return
    if announced is not None and clip.start_s >= announced:
        raise InvalidArgument.at(
            field,
            f"the clip starts at {clip.start_s:g} s, after the end of the {noun} ({announced:.1f} s)",
        )
    end = clip.end_s if clip.end_s is not None else announced
    if end is not None:
        length = (min(end, announced) if announced is not None else end) - clip.start_s
        if limit.exceeded_by(length):
            raise limit.refusal(field, length)


def windows(length_s: float, window_s: float) -> list[Clip]:
    """``length_s`` cut into consecutive clips of ``window_s``; a tail shorter than a quarter
    window joins the clip before it (a second of trailing silence is no chunk of its own)."""
    starts = [i * window_s for i in range(max(1, int(length_s // window_s) + 1)) if i * window_s < length_s]
    if len(starts) > 1 and length_s - starts[-1] < window_s / 4:
        starts.pop()
    ends = [*starts[1:], length_s]
    return [Clip(round(a, 3), round(b, 3)) for a, b in zip(starts, ends, strict=True)]


def seek_to(container: Any, clip: Clip | None) -> None:
    if clip is not None and clip.start_s > 0:
        container.seek(int(clip.start_s * _AV_TIME_BASE), backward=True)


def clip_hash(data: bytes, clip: Clip | None) -> str:
    """The content key of what is embedded: the bytes, and the span of them when clipped."""
    digest = content_hash(data)
    return (
        digest
        if clip is None
        else f"{digest}@{clip.start_s:g}-{clip.end_s if clip.end_s is not None else ''}"
    )


class SampleWindow:
    """Which decoded samples of a signal at ``rate`` fall in ``clip``, counted from the time of
    the first decoded frame (after a seek, that is the keyframe before the clip's start)."""

    def __init__(self, clip: Clip | None, rate: int) -> None:
        self.clip = clip
        self.rate = rate
        self._skip: int | None = None if clip is not None else 0
        self._stop: int | None = None
        self._position = 0

    def start(self, first_frame_time: float | None) -> None:
        """Called with the first decoded frame's time (None: the clip's own start is assumed)."""
        if self.clip is None or self._skip is not None:
            return
        origin = first_frame_time if first_frame_time is not None else self.clip.start_s
        self._skip = max(0, round((self.clip.start_s - origin) * self.rate))
        if self.clip.end_s is not None:
            self._stop = max(self._skip, round((self.clip.end_s - origin) * self.rate))

    def take(self, count: int) -> slice:
        """The part of the next ``count`` samples to keep."""
        first, self._position = self._position, self._position + count
        skip = self._skip or 0
        lo = max(0, skip - first)
        hi = count if self._stop is None else max(lo, min(count, self._stop - first))
        return slice(lo, hi)

    @property
    def done(self) -> bool:
        return self._stop is not None and self._position >= self._stop
