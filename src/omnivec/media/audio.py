"""WAV and MP3 to mono float32 samples at the model's rate, with PyAV (bundled FFmpeg).

Length is checked twice: against the container's own duration before any decoding, and against
the samples actually decoded, so a header that understates the length cannot get past the limit.
"""

from __future__ import annotations

import io
import struct
from functools import cache
from typing import Any

import numpy as np

from omnivec.errors import InvalidArgument
from omnivec.media.clips import SampleWindow, check_clip, clip_hash, seek_to
from omnivec.media.limits import LENGTH_TOLERANCE_S, LengthLimit
from omnivec.media.sniff import MediaType
from omnivec.media.types import DecodedAudio
from omnivec.types import Clip

_MP3_FRAME_COUNT_TAGS = (b"Xing", b"Info", b"VBRI")


@cache
def pyav() -> Any:
    import av

    return av


def av_errors() -> tuple[type[BaseException], ...]:
    """What PyAV raises for malformed input: FFmpeg's own errors (also OSError/ValueError
    subclasses) and, from its Python layer, ValueError, IndexError and EOFError."""
    return (pyav().FFmpegError, OSError, ValueError, EOFError, IndexError)


def open_container(data: bytes, media: MediaType) -> Any:
    # The sniffed demuxer is named explicitly, so FFmpeg never probes the bytes into some other
    # format it happens to support.
    return pyav().open(io.BytesIO(data), mode="r", format=media.demuxer)


def declared_duration(stream: Any, container: Any) -> float | None:
    """The length the container announces, before decoding anything."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def declared_length(data: bytes, media: MediaType) -> float:
    """The length an audio or video file announces (its container's duration, read without
    decoding); InvalidArgument when it announces none or is not readable."""
    try:
        with open_container(data, media) as container:
            streams = container.streams.video or container.streams.audio
            if not streams:
                raise InvalidArgument(f"The {media.label} file holds no audio or video stream.")
            seconds = declared_duration(streams[0], container)
    except InvalidArgument:
        raise
    except av_errors():
        raise InvalidArgument(f"The {media.label} file is corrupt and cannot be read.") from None
    if seconds is None or not seconds > 0:
        raise InvalidArgument(f"The {media.label} file does not say how long it is.")
    return float(seconds)


class MonoCollector:
    """Decoded audio frames in, one mono float32 signal at ``rate`` out (only the ``clip`` of it
    when one is given), refusing as soon as the kept length passes ``limit``."""

    def __init__(self, rate: int, limit: LengthLimit, field: str, clip: Clip | None = None) -> None:
        self.rate = rate
        self.limit = limit
        self.field = field
        self._window = SampleWindow(clip, rate)
        self._resampler: Any = None
        self._chunks: list[np.ndarray] = []
        self._samples = 0

    @property
    def done(self) -> bool:
        """The clip's end has been reached: nothing more is kept."""
        return self._window.done

    def add(self, frame: Any) -> None:
        if self._resampler is None:
            self._window.start(frame.time)
            # Keep the source layout: channels are averaged below, as librosa and transformers'
            # feature extractors do. FFmpeg's own down-mix scales by 1/sqrt(2) instead.
            self._resampler = pyav().AudioResampler(format="fltp", rate=self.rate)
        for out in self._resampler.resample(frame):
            self._append(out)

    def finish(self) -> np.ndarray:
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self._append(out)
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks)

    @property
    def seconds(self) -> float:
        return self._samples / self.rate

    def _append(self, frame: Any) -> None:
        planes = frame.to_ndarray()
        mono = planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes[0]
        mono = mono[self._window.take(mono.shape[0])]
        if not mono.shape[0]:
            return
        self._chunks.append(np.ascontiguousarray(mono, dtype=np.float32))
        self._samples += mono.shape[0]
        if self.limit.exceeded_by(self.seconds):
            raise self.limit.refusal(self.field, self.seconds, at_least=True)


def decode_audio(
    data: bytes, media: MediaType, *, field: str, limit: LengthLimit, rate: int, clip: Clip | None = None
) -> DecodedAudio:
    if media.label == "WAV":
        _check_wav_complete(data, field)
    announced: float | None = None
    try:
        with open_container(data, media) as container:
            if not container.streams.audio:
                raise InvalidArgument.at(field, f"the {media.label} file holds no audio stream")
            stream = container.streams.audio[0]
            announced = declared_duration(stream, container)
            check_clip(clip, announced, limit, field, "audio")
            seek_to(container, clip)
            collector = MonoCollector(rate, limit, field, clip)
            for packet in container.demux(stream):
                for frame in packet.decode():
                    collector.add(frame)
                if collector.done:
                    break
            samples = collector.finish()
    except InvalidArgument:
        raise
    except av_errors():
        raise InvalidArgument.at(field, f"the {media.label} audio is corrupt and cannot be decoded") from None
    if samples.size == 0:
        where = "the clip of the" if clip is not None else "the"
        raise InvalidArgument.at(field, f"{where} {media.label} file holds no audio samples")
    seconds = samples.size / rate
    # With a Xing/Info/VBRI header an MP3's announced length is exact; much less audio means the
    # file was cut short (an interrupted upload, say).
    if (
        media.label == "MP3"
        and clip is None
        and announced is not None
        and _has_frame_count(data)
        and seconds < announced - max(LENGTH_TOLERANCE_S, 0.02 * announced)
    ):
        raise InvalidArgument.at(
            field,
            f"the MP3 file is truncated: its header announces {announced:.1f} s, it holds {seconds:.1f} s",
        )
    return DecodedAudio(
        samples=samples, sample_rate=rate, duration_s=seconds, content_hash=clip_hash(data, clip)
    )


def _check_wav_complete(data: bytes, field: str) -> None:
    """FFmpeg quietly plays a cut-off WAV as a shorter one; the RIFF header says how many bytes
    of audio there should be, so compare."""
    offset = 12
    while offset + 8 <= len(data):
        chunk_id = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk_id == b"data":
            present = len(data) - offset - 8
            # 0 and 0xFFFFFFFF mean "unknown length" (WAV written to a pipe).
            if size not in (0, 0xFFFFFFFF) and present < size:
                raise InvalidArgument.at(
                    field,
                    f"the WAV file is truncated: its header announces {size} bytes of audio, "
                    f"it holds {present}",
                )
            return
        offset += 8 + size + (size & 1)  # chunks are padded to an even length


def _has_frame_count(data: bytes) -> bool:
    """Whether an MP3's first frame carries a Xing/Info/VBRI header (an exact frame count)."""
    start = 0
    if data.startswith(b"ID3") and len(data) >= 10:
        # ID3v2 size: four 7-bit "syncsafe" bytes, plus the 10-byte header (and a footer if flagged).
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        start = 10 + size + (10 if data[5] & 0x10 else 0)
    first_frame = data[start : start + 200]
    return any(tag in first_frame for tag in _MP3_FRAME_COUNT_TAGS)
