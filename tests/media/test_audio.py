"""Audio: mono float32 at the model's rate; length limits before and during decoding."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.audio import decode_audio
from omnivec.media.limits import LengthLimit, MediaTally
from omnivec.media.sniff import SUPPORTED, sniff
from omnivec.media.types import DecodedAudio
from omnivec.settings import MediaSettings
from tests.media import samples

FIELD = "requests[2].content.parts[0].inline_data"


def decode(data: bytes, *, rate: int = 16_000, limit: LengthLimit | None = None) -> DecodedAudio:
    media = SUPPORTED[sniff(data) or "audio/wav"]
    return decode_audio(data, media, field=FIELD, limit=limit or LengthLimit("audio", 80.0), rate=rate)


def refusal(data: bytes, **kwargs: object) -> str:
    with pytest.raises(InvalidArgument) as err:
        decode(data, **kwargs)  # type: ignore[arg-type]
    assert err.value.violations[0].field == FIELD
    return err.value.message


@pytest.mark.parametrize("make", [samples.wav, samples.mp3])
def test_stereo_is_averaged_to_mono_and_resampled(make: object) -> None:
    out = decode(make(seconds=2.0, rate=44_100, channels=2))  # type: ignore[operator]
    assert out.samples.dtype == np.float32 and out.samples.ndim == 1
    assert out.sample_rate == 16_000
    assert out.duration_s == pytest.approx(2.0, abs=0.06)
    # Both channels carry a 0.5-amplitude tone: their mean keeps 0.5 (FFmpeg's own down-mix
    # would give 0.71).
    assert np.abs(out.samples).max() == pytest.approx(0.5, abs=0.04)
    assert out.content_hash


def test_the_tone_survives_resampling() -> None:
    out = decode(samples.wav(seconds=1.0, rate=44_100, channels=1), rate=16_000)
    spectrum = np.abs(np.fft.rfft(out.samples))
    assert np.argmax(spectrum) * 16_000 / out.samples.size == pytest.approx(440, abs=2)


@pytest.mark.parametrize("rate", [8_000, 16_000, 48_000])
def test_the_model_rate_is_honoured(rate: int) -> None:
    out = decode(samples.wav(seconds=1.5, rate=22_050, channels=1), rate=rate)
    assert out.sample_rate == rate
    assert out.samples.size == pytest.approx(1.5 * rate, abs=rate * 0.01)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT", "PCM_U8"])
def test_wav_sample_formats(subtype: str) -> None:
    assert decode(
        samples.wav(seconds=0.5, rate=16_000, channels=1, subtype=subtype)
    ).duration_s == pytest.approx(0.5, abs=0.01)


def test_length_over_the_limit_is_refused_from_the_header() -> None:
    message = refusal(samples.wav(seconds=81, rate=8_000, channels=1))
    assert "81.0 s long, more than the 80 s limit" in message


def test_the_limit_is_configurable_up_to_180_seconds() -> None:
    limit = MediaTally().audio_left(MediaSettings(max_audio_s=180))
    assert decode(samples.wav(seconds=100, rate=8_000, channels=1), limit=limit).duration_s == pytest.approx(
        100
    )
    with pytest.raises(ValueError):
        MediaSettings(max_audio_s=181)


def mp3_claiming_frames(data: bytes, frames: int) -> bytes:
    """The MP3 with its Info header's frame count rewritten: the header understates the length."""
    out = bytearray(data)
    at = out.find(b"Info")
    (flags,) = struct.unpack_from(">I", out, at + 4)
    assert flags & 1, "the frame count field is present"
    struct.pack_into(">I", out, at + 8, frames)
    return bytes(out)


def test_length_is_enforced_while_decoding_when_the_header_understates_it() -> None:
    lying = mp3_claiming_frames(samples.mp3(seconds=90, rate=8_000, channels=1), frames=10)
    message = refusal(lying)
    assert "at least 80." in message and "more than the 80 s limit" in message


def test_a_contents_audio_parts_share_one_budget() -> None:
    tally = MediaTally(audio_s=50.0)
    message = refusal(
        samples.wav(seconds=40, rate=8_000, channels=1), limit=tally.audio_left(MediaSettings())
    )
    assert "with the 50.0 s of audio before it in this content" in message


def test_truncated_wav_is_refused() -> None:
    data = samples.wav(seconds=2.0)
    assert "WAV file is truncated" in refusal(data[: len(data) // 2])


def test_truncated_mp3_is_refused() -> None:
    data = samples.mp3(seconds=4.0)
    message = refusal(data[: len(data) // 2])
    assert "MP3 file is truncated: its header announces 4.0 s" in message


def test_streamed_wav_with_unknown_length_is_accepted() -> None:
    data = bytearray(samples.wav(seconds=1.0, rate=16_000, channels=1))
    at = data.find(b"data")
    data[at + 4 : at + 8] = b"\xff\xff\xff\xff"
    assert decode(bytes(data)).duration_s == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (samples.wav(seconds=0.0), "no audio samples"),
        (samples.wav()[:40], "corrupt"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200), "corrupt"),
        (samples.mp3()[:600] + bytes(5000), "corrupt"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(3000), "corrupt"),
    ],
)
def test_broken_audio_is_refused(data: bytes, fragment: str) -> None:
    assert fragment in refusal(data)
