"""Media samples generated in code: images with Pillow, WAV with soundfile, MP3 and video with
PyAV's bundled encoders, PDFs with a small hand-written writer (text) or Pillow (image pages).

Videos paint every frame one solid grey level that encodes the second it belongs to
(``SECOND_STEP * int(t)``), so a sampled frame tells which moment it came from.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import av
import numpy as np
import soundfile as sf
from PIL import Image

SECOND_STEP = 6  # grey level per second of video: distinct after lossy coding for up to 42 s

# Encoder options: fast, quiet, tiny output.
_VIDEO_OPTIONS = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=none"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12", "svtav1-params": "log-level=0"},
    "mpeg4": {},
}


# --- images --------------------------------------------------------------------------------
def gradient(width: int = 64, height: int = 48, mode: str = "RGB") -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    rgb = np.concatenate(
        [np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1))], axis=2
    )
    rgb = np.concatenate([rgb, np.full((height, width, 1), 128, np.float32)], axis=2).astype(np.uint8)
    return Image.fromarray(rgb, "RGB").convert(mode)


def image_bytes(fmt: str, width: int = 64, height: int = 48, mode: str = "RGB", **save: object) -> bytes:
    buf = io.BytesIO()
    gradient(width, height, mode).save(buf, fmt, **save)
    return buf.getvalue()


def png(width: int = 64, height: int = 48, mode: str = "RGB") -> bytes:
    return image_bytes("PNG", width, height, mode)


def jpeg(width: int = 64, height: int = 48) -> bytes:
    return image_bytes("JPEG", width, height, quality=90)


def webp(width: int = 64, height: int = 48) -> bytes:
    return image_bytes("WEBP", width, height, quality=90)


def png_with_size_claim(width: int, height: int) -> bytes:
    """A small real PNG whose IHDR announces another size (CRC fixed, so only the size lies)."""
    data = bytearray(png(8, 8))
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


# --- audio ---------------------------------------------------------------------------------
def tone(
    seconds: float, rate: int, channels: int = 1, freq: float = 440.0, amplitude: float = 0.5
) -> np.ndarray:
    """(samples, channels) float32 sine."""
    t = np.arange(round(seconds * rate)) / rate
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(mono[:, None], channels, axis=1)


def wav(seconds: float = 2.0, rate: int = 44_100, channels: int = 2, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(seconds, rate, channels), rate, format="WAV", subtype=subtype)
    return buf.getvalue()


def mp3(seconds: float = 2.0, rate: int = 44_100, channels: int = 2) -> bytes:
    """CBR MP3 with an Info header (libmp3lame via PyAV)."""
    layout = "stereo" if channels == 2 else "mono"
    signal = tone(seconds, rate, channels).T  # planar
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = layout
        _encode_audio(container, stream, signal, rate, layout)
    return buf.getvalue()


def _encode_audio(container: object, stream: object, planar: np.ndarray, rate: int, layout: str) -> None:
    size = stream.codec_context.frame_size or 1024  # type: ignore[attr-defined]
    for pos in range(0, planar.shape[1], size):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(planar[:, pos : pos + size]), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        frame.pts = pos
        for packet in stream.encode(frame):  # type: ignore[attr-defined]
            container.mux(packet)  # type: ignore[attr-defined]
    for packet in stream.encode():  # type: ignore[attr-defined]
        container.mux(packet)  # type: ignore[attr-defined]


# --- video ---------------------------------------------------------------------------------
def video(
    codec: str = "libx264",
    fmt: str = "mp4",
    *,
    seconds: float = 3.0,
    fps: int = 10,
    width: int = 64,
    height: int = 48,
    audio: bool = False,
    audio_rate: int = 22_050,
    video_track: bool = True,
) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as container:
        if video_track:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = dict(_VIDEO_OPTIONS[codec])
        if audio:
            sound = container.add_stream("aac", rate=audio_rate)
            sound.layout = "mono"
        if video_track:
            for i in range(int(seconds * fps)):
                grey = SECOND_STEP * int(i / fps) % 256
                frame = av.VideoFrame.from_ndarray(
                    np.full((height, width, 3), grey, np.uint8), format="rgb24"
                )
                frame.pts = i
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        if audio:
            _encode_audio(container, sound, tone(seconds, audio_rate).T, audio_rate, "mono")
    return buf.getvalue()


def with_duration_claim(mp4: bytes, seconds: float) -> bytes:
    """The same MP4 with its mvhd/mdhd/tkhd durations rewritten to claim ``seconds``."""
    data = bytearray(mp4)
    for box in (b"mvhd", b"tkhd", b"mdhd"):
        start = 0
        while (at := data.find(box, start)) != -1:
            start = at + 4
            version = data[at + 4]
            if version != 0:
                continue
            if box == b"tkhd":
                # tkhd has no timescale of its own: it counts in the movie (mvhd) timescale.
                scale_at = data.find(b"mvhd") + 4 + 4 + 8
                (timescale,) = struct.unpack_from(">I", data, scale_at)
                duration_at = at + 4 + 4 + 8 + 8
            else:
                (timescale,) = struct.unpack_from(">I", data, at + 4 + 4 + 8)
                duration_at = at + 4 + 4 + 8 + 4
            struct.pack_into(">I", data, duration_at, int(seconds * timescale))
    # The sample table still holds every frame; only the announced length lies.
    return bytes(data)


# --- PDF -----------------------------------------------------------------------------------
def pdf_text(pages: Sequence[str], *, page_size: tuple[float, float] = (612, 792)) -> bytes:
    """A minimal valid PDF: one Helvetica text block per page, lines wrapped at ~70 characters."""
    objects: list[bytes] = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        lines = _wrap(text, 70)
        ops = ["BT", "/F1 12 Tf", "14 TL", f"72 {page_size[1] - 72} Td"]
        ops += [f"({_pdf_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (page_size[0], page_size[1], content_ref)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    return _pdf_file(objects)


def pdf_blank_pages(count: int) -> bytes:
    """``count`` empty pages sharing one page dictionary layout: big in pages, small in bytes."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for _ in range(count):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), count)
    return _pdf_file(objects)


def pdf_images(images: Sequence[Image.Image]) -> bytes:
    """A scanned-looking PDF: image pages without any text (Pillow's PDF writer)."""
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=list(images[1:]), resolution=72)
    return buf.getvalue()


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def docx_document(heading: str, paragraphs: Sequence[str], table: Sequence[Sequence[str]] = ()) -> bytes:
    """A Word document written by python-docx: a heading, paragraphs, then a table."""
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
