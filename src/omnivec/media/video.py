"""MP4 and MOV (H.264, H.265, AV1, VP9) to a few RGB frames sampled at a fixed rate, plus the
audio track when the model takes audio.

Frames are sampled WHILE decoding: each decoded frame is either dropped at once or shrunk to a
small RGB array, so memory holds at most a few dozen small frames whatever the video's length
or resolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.media.audio import MonoCollector, av_errors, declared_duration, open_container
from omnivec.media.clips import check_clip, clip_hash, seek_to
from omnivec.media.limits import LengthLimit, scaled_size
from omnivec.media.sniff import MediaType
from omnivec.media.types import DecodedAudio, DecodedVideo
from omnivec.settings import MediaSettings
from omnivec.types import Clip

# Canonical FFmpeg codec names (libdav1d decodes "av1", libvpx-vp9 decodes "vp9").
SUPPORTED_CODECS = {"h264": "H.264", "hevc": "H.265", "av1": "AV1", "vp9": "VP9"}
# Decoding work is bounded by length times frame rate; a stream claiming thousands of frames a
# second would make a short clip arbitrarily expensive.
_MAX_DECODED_FPS = 240


class FrameSampler:
    """Which decoded frames to keep: one every 1/fps seconds, at most ``max_frames``, spread
    evenly over the duration.

    With a known duration the times are fixed up front (``i * duration / n``, as the samplers of
    transformers' video processors do). Without one, frames are kept on a 1/fps grid and the grid
    is coarsened by dropping every other frame whenever ``2 * max_frames`` are held, so memory
    stays bounded; the survivors are thinned evenly at the end.
    """

    def __init__(self, duration_s: float | None, fps: float, max_frames: int) -> None:
        self.max_frames = max_frames
        self.kept: list[tuple[float, np.ndarray]] = []
        self._targets: list[float] | None = None
        self._step = 1.0 / fps
        self._next = 0.0
        if duration_s is not None and duration_s > 0:
            n = min(max_frames, max(1, int(duration_s * fps)))
            self._targets = [i * duration_s / n for i in range(n)]
            self._target_index = 0

    def wants(self, t: float) -> bool:
        """Whether the frame at ``t`` seconds is kept. Times come in increasing order; one frame
        serves every target time it reaches, so a sparse video gives fewer frames, never
        duplicates."""
        if self._targets is not None:
            hit = False
            while self._target_index < len(self._targets) and self._targets[self._target_index] <= t + 1e-6:
                self._target_index += 1
                hit = True
            return hit
        if t + 1e-6 < self._next:
            return False
        self._next = t + self._step if t >= self._next + self._step else self._next + self._step
        return True

    def keep(self, t: float, frame: np.ndarray) -> None:
        self.kept.append((t, frame))
        if self._targets is None and len(self.kept) >= 2 * self.max_frames:
            self.kept = self.kept[::2]
            self._step *= 2
            self._next = self.kept[-1][0] + self._step

    def frames(self) -> list[tuple[float, np.ndarray]]:
        if len(self.kept) <= self.max_frames:
            return self.kept
        picks = np.linspace(0, len(self.kept) - 1, self.max_frames).round().astype(int)
        return [self.kept[i] for i in picks]


def decode_video(
    data: bytes,
    media: MediaType,
    *,
    field: str,
    settings: MediaSettings,
    limit: LengthLimit,
    audio_rate: int | None,
    clip: Clip | None = None,
) -> DecodedVideo:
    """``audio_rate``: decode the audio track (if any) to mono at this rate; None skips it.
    ``clip``: only that span is decoded (see ``clips``)."""
    try:
        with open_container(data, media) as container:
            if not container.streams.video:
                raise InvalidArgument.at(field, f"the {media.label} file holds no video stream")
            stream = container.streams.video[0]
            _check_stream(stream, media, field, settings)
            announced = declared_duration(stream, container)
            check_clip(clip, announced, limit, field, "video")
            audio_stream = container.streams.audio[0] if audio_rate and container.streams.audio else None
            reader = _Reader(stream, field, settings, limit, announced, clip)
            collector = (
                MonoCollector(audio_rate, limit, field, clip)
                if audio_stream is not None and audio_rate
                else None
            )
            seek_to(container, clip)
            stream.thread_type = "AUTO"
            streams = [stream] if audio_stream is None else [stream, audio_stream]
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if collector is not None and packet.stream is audio_stream:
                        collector.add(frame)
                    else:
                        reader.add(frame)
                if reader.done and (collector is None or collector.done):
                    break
            samples = collector.finish() if collector is not None else None
    except InvalidArgument:
        raise
    except av_errors():
        raise InvalidArgument.at(field, f"the {media.label} video is corrupt and cannot be decoded") from None
    frames = reader.sampler.frames()
    if not frames:
        where = "the clip of the" if clip is not None else "the"
        raise InvalidArgument.at(field, f"{where} {media.label} file holds no decodable video frames")
    digest = clip_hash(data, clip)
    audio = None
    if samples is not None and samples.size and audio_rate:
        audio = DecodedAudio(samples, audio_rate, samples.size / audio_rate, digest)
    return DecodedVideo(
        frames=np.stack([f for _, f in frames]),
        fps=_kept_rate([t for t, _ in frames], settings.video_fps),
        duration_s=reader.duration_s,
        content_hash=digest,
        audio=audio,
    )


def _span(announced: float | None, clip: Clip | None) -> float | None:
    """The length to spread sampled frames over: the clip's, or the whole video's."""
    if clip is None or announced is None:
        return announced if clip is None else (clip.end_s - clip.start_s if clip.end_s is not None else None)
    end = min(clip.end_s, announced) if clip.end_s is not None else announced
    return max(0.0, end - clip.start_s)


def _kept_rate(times: list[float], fps: float) -> float:
    """The rate the kept frames are spaced at: ``fps`` for short clips, less once at most
    ``max_video_frames`` are spread over a long one. Backends derive frame times from it."""
    if len(times) < 2 or times[-1] <= times[0]:
        return fps
    return min(fps, (len(times) - 1) / (times[-1] - times[0]))


def _check_stream(stream: Any, media: MediaType, field: str, settings: MediaSettings) -> None:
    context = stream.codec_context  # None (or without a decoder) when FFmpeg does not know the codec
    decoder = context.codec if context is not None else None
    codec = decoder.canonical_name if decoder is not None else None
    if codec not in SUPPORTED_CODECS:
        used = f"the {codec} codec" if codec else "a codec that cannot be identified"
        supported = ", ".join(SUPPORTED_CODECS.values())
        raise InvalidArgument.at(field, f"the {media.label} video uses {used}; supported codecs: {supported}")
    _check_frame_size(context.width, context.height, field, settings)


def _check_frame_size(width: int, height: int, field: str, settings: MediaSettings) -> None:
    if width * height > settings.max_video_frame_pixels:
        raise InvalidArgument.at(
            field,
            f"the video frames are {width}x{height} pixels, more than the limit of "
            f"{settings.max_video_frame_pixels} pixels (width x height); scale the video down",
        )


class _Reader:
    """Video frames in decode order: length enforced, a few kept as small RGB arrays."""

    def __init__(
        self,
        stream: Any,
        field: str,
        settings: MediaSettings,
        limit: LengthLimit,
        announced: float | None,
        clip: Clip | None = None,
    ) -> None:
        self.field = field
        self.settings = settings
        self.limit = limit
        self.clip = clip
        self.done = False  # past the clip's end
        self.sampler = FrameSampler(_span(announced, clip), settings.video_fps, settings.max_video_frames)
        self.start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        rate = stream.average_rate or stream.guessed_rate
        self.frame_s = 1.0 / float(rate) if rate else 0.0
        self.decoded = 0
        self.last_t = 0.0
        self.size: tuple[int, int] | None = None

    def add(self, frame: Any) -> None:
        self.decoded += 1
        t = frame.time - self.start if frame.time is not None else (self.decoded - 1) * self.frame_s
        if self.clip is not None:  # times within the clip
            if self.clip.end_s is not None and t >= self.clip.end_s:
                self.done = True
                return
            if t < self.clip.start_s:
                return  # decoded from the keyframe before the clip
            t -= self.clip.start_s
        t = max(0.0, t)
        self.last_t = max(self.last_t, t)
        if self.limit.exceeded_by(t):
            raise self.limit.refusal(self.field, t, at_least=True)
        if self.decoded > _MAX_DECODED_FPS * (self.limit.available_s + 1):
            raise InvalidArgument.at(
                self.field,
                f"the video has more than {_MAX_DECODED_FPS} frames per second, too many to decode",
            )
        _check_frame_size(frame.width, frame.height, self.field, self.settings)
        if not self.sampler.wants(t):
            return
        if self.size is None:
            # Fixed at the first kept frame: every sampled frame has one shape, even if the
            # stream changes resolution midway.
            self.size = scaled_size(frame.width, frame.height, self.settings.video_frame_max_side)
        width, height = self.size
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
        self.sampler.keep(t, rgb)

    @property
    def duration_s(self) -> float:
        return self.last_t + self.frame_s if self.decoded else 0.0
