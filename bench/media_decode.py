"""Media decode throughput and the memory bound of video decoding.

    python -m bench.media_decode [--video-seconds 128] [--repeat 3]

Measures, through the same decoders the server uses (default media settings):
images decoded per second (1920x1080 PNG, JPEG, WebP), seconds of audio decoded (and resampled
to 16 kHz mono) per second (WAV, MP3), seconds of video decoded per second for a 720p H.264 clip
of ``--video-seconds`` (32 frames sampled), PDF pages per second (text only, and text plus
rendering), and the peak RSS of a fresh process while it decodes that clip. All inputs are
generated locally. Results go to bench/results/media_decode.{json,md}.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image
from tests.media import samples

from omnivec.media.audio import decode_audio
from omnivec.media.image import decode_image
from omnivec.media.limits import MediaTally
from omnivec.media.pdf import decode_pdf
from omnivec.media.sniff import SUPPORTED
from omnivec.media.video import decode_video
from omnivec.settings import MediaSettings

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = MediaSettings()
# The measured clip is long: lift the length limit so the clip, not the limit, sets the work.
LONG_VIDEO = MediaSettings(max_video_s=3600)


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth shapes plus sensor-like noise: compresses like a photo, unlike flat test cards."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            127 + 90 * np.sin(x / 97 + k) * np.cos(y / 71 - k) + 30 * np.sin((x + y) / 23 + 2 * k)
            for k in (0.0, 1.3, 2.6)
        ],
        axis=2,
    )
    noisy = base + rng.normal(0, 6, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def encode_image(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def hd_clip(seconds: float, fps: int = 30, width: int = 1280, height: int = 720) -> bytes:
    """A 720p H.264 clip that moves every frame (a panning texture, a moving block, changing
    grain), so its bitrate (a few Mbit/s) and the decoder's inter-frame work are like a camera's."""
    texture = np.asarray(photo_like(width + 2 * fps * 8, height, seed=1)).astype(np.int16)
    grain = [np.random.default_rng(k).normal(0, 3, (height, width, 3)).astype(np.int16) for k in range(7)]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 4_000_000  # typical of 720p from a phone or a web video
        stream.options = {"preset": "veryfast"}
        for i in range(int(seconds * fps)):
            shift = (i * 4) % (2 * fps * 8)
            frame = texture[:, shift : shift + width] + grain[i % len(grain)]
            top, left = (i * 3) % (height - 120), (i * 5) % (width - 160)
            frame[top : top + 120, left : left + 160] = (255, 64, 32)
            rgb = np.clip(frame, 0, 255).astype(np.uint8)
            video_frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            video_frame.pts = i
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Best of ``repeat`` wall times (the least disturbed run on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench_images(repeat: int) -> dict[str, Any]:
    image = photo_like(1920, 1080)
    out: dict[str, Any] = {}
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        data = encode_image(image, fmt)

        def run(data: bytes = data, mime: str = mime, batch: int = 10) -> None:
            for _ in range(batch):
                decode_image(data, SUPPORTED[mime], field="bench", settings=SETTINGS)

        batch = 10
        seconds = timed(run, repeat)
        out[fmt] = {
            "bytes": len(data),
            "images_per_s": round(batch / seconds, 1),
            "ms_per_image": round(1000 * seconds / batch, 1),
        }
    return out


def bench_audio(repeat: int, seconds: float = 60.0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, mime, data in (
        ("WAV 44.1 kHz stereo", "audio/wav", samples.wav(seconds=seconds, rate=44_100, channels=2)),
        ("MP3 44.1 kHz stereo", "audio/mpeg", samples.mp3(seconds=seconds, rate=44_100, channels=2)),
    ):

        def run(data: bytes = data, mime: str = mime) -> None:
            limit = MediaTally().audio_left(SETTINGS)
            decode_audio(data, SUPPORTED[mime], field="bench", limit=limit, rate=16_000)

        wall = timed(run, repeat)
        out[label] = {"clip_s": seconds, "bytes": len(data), "audio_s_per_s": round(seconds / wall, 1)}
    return out


def bench_video(data: bytes, clip_s: float, repeat: int) -> dict[str, Any]:
    limit = MediaTally().video_left(LONG_VIDEO)
    frames: list[int] = []

    def run() -> None:
        video = decode_video(
            data, SUPPORTED["video/mp4"], field="bench", settings=LONG_VIDEO, limit=limit, audio_rate=None
        )
        frames.append(video.frames.shape[0])

    wall = timed(run, repeat)
    return {
        "clip": f"{clip_s:g} s 1280x720 H.264 30 fps",
        "bytes": len(data),
        "frames_kept": frames[-1],
        "decode_s": round(wall, 2),
        "video_s_per_s": round(clip_s / wall, 1),
    }


def bench_pdf(repeat: int) -> dict[str, Any]:
    text = " ".join(f"Sentence number {i} of a page that reads like a report." for i in range(40))
    data = samples.pdf_text([text] * 6)
    out: dict[str, Any] = {}
    for label, render in (("text only", False), ("text and 144 dpi render", True)):

        def run(render: bool = render) -> None:
            decode_pdf(
                data, field="bench", settings=SETTINGS, pages=MediaTally().pages_left(SETTINGS), render=render
            )

        wall = timed(run, repeat)
        out[label] = {"pages": 6, "pages_per_s": round(6 / wall, 1)}
    return out


# Only the decoder's own imports. Linux keeps a resettable high-water mark (VmHWM, reset by
# writing 5 to clear_refs), so the peak is the decode's own, not the imports' or the warm-up's.
_PEAK_RSS_CHILD = """
import sys
from pathlib import Path
from omnivec.media.limits import MediaTally
from omnivec.media.sniff import SUPPORTED
from omnivec.media.video import decode_video
from omnivec.settings import MediaSettings

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

settings = MediaSettings(max_video_s=3600)
decode_video(Path(sys.argv[2]).read_bytes(), SUPPORTED["video/mp4"], field="warm-up", settings=settings,
             limit=MediaTally().video_left(settings), audio_rate=None)
data = Path(sys.argv[1]).read_bytes()
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS")
video = decode_video(data, SUPPORTED["video/mp4"], field="bench", settings=settings,
                     limit=MediaTally().video_left(settings), audio_rate=None)
print(before, status("VmHWM"), video.frames.nbytes)
"""


def peak_rss_while_decoding(data: bytes) -> dict[str, Any]:
    """In a fresh process (Linux /proc), so nothing else in this run weighs on the figure."""
    with tempfile.TemporaryDirectory() as tmp:
        path, warm_up = Path(tmp) / "clip.mp4", Path(tmp) / "warm-up.mp4"
        path.write_bytes(data)
        # One second of the same format first: libraries, codec and thread pools are then loaded.
        warm_up.write_bytes(hd_clip(1.0))
        root = Path(__file__).resolve().parents[1]
        result = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_CHILD, str(path), str(warm_up)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    before, after, frames_bytes = map(int, result.stdout.split())
    mib = 1024 * 1024
    return {
        "rss_before_decode_mib": round(before / mib, 1),
        "peak_rss_during_decode_mib": round(after / mib, 1),
        "growth_mib": round((after - before) / mib, 1),
        "kept_frames_mib": round(frames_bytes / mib, 1),
        "input_mib": round(len(data) / mib, 1),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Media decode throughput",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
        f"Pillow {result['machine']['pillow']}, PyAV {result['machine']['pyav']}; "
        f"best of {result['repeat']} runs.",
        "",
        "| Input | Result |",
        "|---|---|",
    ]
    for fmt, r in result["images_1920x1080"].items():
        size = f"{r['bytes'] // 1024} KiB"
        lines.append(f"| {fmt} 1920x1080 ({size}) | {r['images_per_s']} images/s ({r['ms_per_image']} ms) |")
    for label, r in result["audio_to_16k_mono"].items():
        lines.append(f"| {label}, {r['clip_s']:g} s | {r['audio_s_per_s']} s of audio per s |")
    v = result["video"]
    clip = f"{v['clip']} ({v['bytes'] / 2**20:.1f} MiB)"
    detail = f"{v['decode_s']} s, {v['frames_kept']} frames kept"
    lines.append(f"| {clip} | {v['video_s_per_s']} s of video per s ({detail}) |")
    for label, r in result["pdf"].items():
        lines.append(f"| PDF, {r['pages']} text pages, {label} | {r['pages_per_s']} pages/s |")
    m = result["video_memory"]
    lines += [
        "",
        f"Peak RSS of a fresh process while it decodes the video: {m['peak_rss_during_decode_mib']} MiB "
        f"({m['rss_before_decode_mib']} MiB before decoding, +{m['growth_mib']} MiB at the peak; "
        f"the input is {m['input_mib']} MiB, the kept frames {m['kept_frames_mib']} MiB).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.media_decode", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--video-seconds", type=float, default=128.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    print(f"generating a {args.video_seconds:g} s 720p clip …", flush=True)
    started = time.perf_counter()
    clip = hd_clip(args.video_seconds)
    print(f"  {len(clip) / 2**20:.1f} MiB in {time.perf_counter() - started:.1f} s", flush=True)
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "pillow": Image.__version__,
            "pyav": av.__version__,
            "platform": platform.platform(),
        },
        "repeat": args.repeat,
    }
    for key, run in (
        ("images_1920x1080", lambda: bench_images(args.repeat)),
        ("audio_to_16k_mono", lambda: bench_audio(args.repeat)),
        ("video", lambda: bench_video(clip, args.video_seconds, args.repeat)),
        ("pdf", lambda: bench_pdf(args.repeat)),
        ("video_memory", lambda: peak_rss_while_decoding(clip)),
    ):
        print(f"{key} …", flush=True)
        result[key] = run()
        print(f"  {json.dumps(result[key])}", flush=True)
    result["self_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "media_decode.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "media_decode.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
