"""Clips of audio and video (``videoMetadata`` offsets, store time windows): only the span is
decoded and embedded, the limits apply to the span, and a span outside the media is refused."""

from __future__ import annotations

import numpy as np
import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.audio import decode_audio
from omnivec.media.limits import LengthLimit, MediaTally
from omnivec.media.sniff import SUPPORTED, sniff
from omnivec.media.types import DecodedVideo
from omnivec.media.video import decode_video
from omnivec.settings import MediaSettings
from omnivec.types import Clip
from tests.media import samples
from tests.media.test_video import seconds_shown

FIELD = "requests[0].content.parts[0].inline_data"


def audio(data: bytes, clip: Clip | None, limit_s: float = 80.0) -> np.ndarray:
    media = SUPPORTED[sniff(data) or "audio/wav"]
    return decode_audio(
        data, media, field=FIELD, limit=LengthLimit("audio", limit_s), rate=16_000, clip=clip
    ).samples


def ramp_wav(seconds: float, rate: int = 16_000) -> bytes:
    """A mono WAV whose sample values count up: a sample's value tells its position."""
    import io

    import soundfile as sf

    values = (np.arange(round(seconds * rate)) % 30_000).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, values, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_an_audio_clip_is_exactly_its_span() -> None:
    data = ramp_wav(6.0)
    whole = audio(data, None)
    clip = audio(data, Clip(2.0, 3.5))
    assert clip.shape[0] == pytest.approx(1.5 * 16_000, abs=2)
    start = 2 * 16_000
    assert np.allclose(clip, whole[start : start + clip.shape[0]])
    tail = audio(data, Clip(5.0))
    assert tail.shape[0] == pytest.approx(16_000, abs=2)


def test_an_mp3_clip_late_in_the_file_has_the_span_length() -> None:
    data = samples.mp3(seconds=8.0, rate=44_100, channels=2)
    out = audio(data, Clip(5.0, 7.0))
    assert out.shape[0] == pytest.approx(2 * 16_000, abs=0.05 * 16_000)
    assert float(np.abs(out).max()) == pytest.approx(0.5, abs=0.05)  # the tone, not silence


def test_the_limit_applies_to_the_clip_not_the_file() -> None:
    data = ramp_wav(12.0)
    with pytest.raises(InvalidArgument, match="more than the 5 s limit"):
        audio(data, None, limit_s=5.0)
    assert audio(data, Clip(6.0, 10.0), limit_s=5.0).shape[0] == pytest.approx(4 * 16_000, abs=2)
    with pytest.raises(InvalidArgument, match="more than the 5 s limit"):
        audio(data, Clip(1.0, 11.0), limit_s=5.0)


def test_a_clip_after_the_end_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="after the end of the audio"):
        audio(ramp_wav(2.0), Clip(3.0, 4.0))


def video(data: bytes, clip: Clip | None) -> DecodedVideo:
    settings = MediaSettings()
    limit = MediaTally().video_left(settings)
    media = SUPPORTED["video/mp4"]
    return decode_video(
        data, media, field=FIELD, settings=settings, limit=limit, audio_rate=16_000, clip=clip
    )


def test_a_video_clip_samples_only_its_seconds_with_its_audio() -> None:
    data = samples.video(seconds=10, fps=5, audio=True)
    out = video(data, Clip(6.0, 9.0))
    assert seconds_shown(out) == [6, 7, 8]
    assert out.duration_s == pytest.approx(3.0, abs=0.25)
    assert out.audio is not None and out.audio.duration_s == pytest.approx(3.0, abs=0.1)
    whole = video(data, None)
    assert out.content_hash != whole.content_hash  # a clip is other content (caches, the fake model)
