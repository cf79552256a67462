"""Video: codecs, 1 fps sampling spread over the clip, bounded frames, limits, audio track."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.limits import MediaTally
from omnivec.media.sniff import SUPPORTED, sniff
from omnivec.media.types import DecodedVideo
from omnivec.media.video import FrameSampler, decode_video
from omnivec.settings import MediaSettings
from tests.media import samples

FIELD = "requests[0].content.parts[3].inline_data"


def decode(
    data: bytes, *, audio_rate: int | None = None, tally: MediaTally | None = None, **limits: object
) -> DecodedVideo:
    settings = MediaSettings(**limits)  # type: ignore[arg-type]
    media = SUPPORTED[sniff(data) or "video/mp4"]
    limit = (tally or MediaTally()).video_left(settings)
    return decode_video(data, media, field=FIELD, settings=settings, limit=limit, audio_rate=audio_rate)


def refusal(data: bytes, **kwargs: object) -> str:
    with pytest.raises(InvalidArgument) as err:
        decode(data, **kwargs)  # type: ignore[arg-type]
    assert err.value.violations[0].field == FIELD
    return err.value.message


def seconds_shown(video: DecodedVideo) -> list[int]:
    """Which second each sampled frame comes from (the samples paint seconds as grey levels)."""
    return [round(float(frame.mean()) / samples.SECOND_STEP) for frame in video.frames]


@pytest.mark.parametrize(
    ("codec", "fmt"),
    [
        ("libx264", "mp4"),
        ("libx265", "mp4"),
        ("libvpx-vp9", "mp4"),
        ("libsvtav1", "mp4"),
        ("libx264", "mov"),
        ("libx265", "mov"),
    ],
)
def test_every_supported_codec_decodes(codec: str, fmt: str) -> None:
    out = decode(samples.video(codec, fmt, seconds=5, fps=10))
    assert out.frames.dtype == np.uint8 and out.frames.shape == (5, 48, 64, 3)
    assert out.duration_s == pytest.approx(5.0, abs=0.15)
    assert seconds_shown(out) == [0, 1, 2, 3, 4]
    assert out.fps == 1.0 and out.audio is None


def test_other_codecs_are_refused_by_name() -> None:
    message = refusal(samples.video("mpeg4", "mp4"))
    assert "uses the mpeg4 codec; supported codecs: H.264, H.265, AV1, VP9" in message


def test_short_clips_give_one_frame_per_second() -> None:
    out = decode(samples.video(seconds=12, fps=5))
    assert seconds_shown(out) == list(range(12))


def test_long_clips_give_at_most_32_frames_spread_evenly() -> None:
    seconds, fps = 40, 2
    out = decode(samples.video(seconds=seconds, fps=fps))
    assert out.frames.shape[0] == 32
    # Target i is at i * 40 / 32 s; the frame kept is the first one at or after it.
    expected = [math.floor(math.ceil(i * seconds / 32 * fps - 1e-9) / fps) for i in range(32)]
    assert seconds_shown(out) == expected
    assert seconds_shown(out)[-1] >= 38
    assert out.fps == pytest.approx(32 / 40, abs=0.01)  # what backends derive frame times from


def test_frame_count_and_rate_are_configurable() -> None:
    out = decode(samples.video(seconds=10, fps=4), video_fps=2.0, max_video_frames=8)
    # 8 frames spread over 10 s: kept 1.25 s apart, and the reported rate says so.
    assert out.frames.shape[0] == 8 and out.fps == pytest.approx(0.8)


def test_frames_are_shrunk_to_the_configured_side() -> None:
    out = decode(samples.video(seconds=2, width=320, height=240), video_frame_max_side=100)
    assert out.frames.shape[1:] == (75, 100, 3)


def test_absurd_frame_sizes_are_refused_before_decoding() -> None:
    # 4096x4096 is 16.8 megapixels, twice the default ceiling of 3840x2160.
    message = refusal(samples.video(seconds=0.1, fps=10, width=4096, height=4096))
    assert "4096x4096 pixels, more than the limit of 8294400" in message
    assert "640x480" in refusal(
        samples.video(seconds=1, width=640, height=480), max_video_frame_pixels=320 * 240
    )


def test_length_over_the_limit_is_refused_from_the_header() -> None:
    assert "130.0 s long, more than the 128 s limit" in refusal(samples.video(seconds=130, fps=1))


def test_length_is_enforced_while_decoding_when_the_header_understates_it() -> None:
    lying = samples.with_duration_claim(samples.video(seconds=130, fps=1), 10.0)
    message = refusal(lying)
    assert "at least 12" in message and "more than the 128 s limit" in message


def test_a_contents_videos_share_one_budget() -> None:
    message = refusal(samples.video(seconds=30, fps=1), tally=MediaTally(video_s=100.0))
    assert "with the 100.0 s of video before it" in message


def test_the_audio_track_is_decoded_only_when_asked() -> None:
    data = samples.video(seconds=3, audio=True)
    assert decode(data).audio is None
    out = decode(data, audio_rate=16_000)
    assert out.audio is not None and out.audio.sample_rate == 16_000
    assert out.audio.duration_s == pytest.approx(3.0, abs=0.1)
    assert np.abs(out.audio.samples).max() == pytest.approx(0.5, abs=0.05)


def test_audio_only_mp4_has_no_video_stream() -> None:
    data = samples.video(seconds=1, audio=True, video_track=False)
    assert "holds no video stream" in refusal(data)


@pytest.mark.parametrize(
    "data",
    [
        samples.video(seconds=2)[: len(samples.video(seconds=2)) // 2],  # moov (written last) is missing
        samples.video(seconds=2)[:64],
        b"\x00\x00\x00\x18ftypisom" + bytes(500),
        b"\x00\x00\x00\x08moov" + bytes(100),
    ],
)
def test_truncated_or_corrupt_video_is_refused(data: bytes) -> None:
    message = refusal(data)
    assert "corrupt" in message or "no video stream" in message


# --- bounded memory --------------------------------------------------------------------------
def test_sampler_without_a_duration_keeps_a_bounded_even_spread() -> None:
    sampler = FrameSampler(None, fps=1.0, max_frames=32)
    held = 0
    frame = np.zeros(1, np.uint8)
    for i in range(30 * 300):  # 300 s at 30 fps
        t = i / 30
        if sampler.wants(t):
            sampler.keep(t, frame)
        held = max(held, len(sampler.kept))
    assert held <= 64
    times = [t for t, _ in sampler.frames()]
    assert len(times) == 32 and times[0] == 0.0 and times[-1] >= 280
    gaps = np.diff(times)
    assert gaps.max() <= 2 * gaps.min() + 1e-6


def test_sampler_with_a_duration_never_takes_a_frame_twice() -> None:
    sampler = FrameSampler(10.0, fps=1.0, max_frames=32)
    kept = [t for t in (0.0, 4.0, 9.5) if sampler.wants(t)]  # a very sparse video
    assert kept == [0.0, 4.0, 9.5]


_MEASURE_DECODE = """
import resource, sys
from pathlib import Path
from tests.media import samples
from tests.media.test_video import decode
decode(samples.video(seconds=1))  # imports, codec set-up
data = Path(sys.argv[1]).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = decode(data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(out.frames.shape[0], (after - before) * 1024)
"""


@pytest.mark.slow
def test_decoding_a_long_video_holds_only_the_sampled_frames(tmp_path: Path) -> None:
    """Peak memory while decoding 120 s of 640x360 video at 30 fps grows by about what the 32
    kept frames need, not by what 3600 decoded frames would (2.5 GB)."""
    path = tmp_path / "long.mp4"
    path.write_bytes(samples.video(seconds=120, fps=30, width=640, height=360))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE_DECODE, str(path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    frames, growth = map(int, result.stdout.split())
    assert frames == 32
    assert growth < 200 * 1024 * 1024, f"decoding grew the process by {growth / 2**20:.0f} MiB"
