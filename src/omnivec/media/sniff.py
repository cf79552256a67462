"""What the bytes really are, checked against the ``mimeType`` the client declared.

The accepted formats are few (PNG, JPEG, WebP, WAV, MP3, MP4/MOV, PDF), so a table of their
signatures is exact where generic detectors guess: we must tell MOV from MP4 by the ``ftyp``
brand, recognise MP3 by its frame header when there is no ID3 tag, and name the common formats
we refuse (GIF, OGG, WebM …) so the error can say what was found.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from omnivec.errors import InvalidArgument
from omnivec.types import Modality


@dataclass(frozen=True, slots=True)
class MediaType:
    mime: str
    modality: Modality
    label: str  # how the format is named in messages
    demuxer: str | None = None  # FFmpeg's format name, so PyAV never guesses


SUPPORTED: dict[str, MediaType] = {
    t.mime: t
    for t in (
        MediaType("image/png", Modality.IMAGE, "PNG"),
        MediaType("image/jpeg", Modality.IMAGE, "JPEG"),
        MediaType("image/webp", Modality.IMAGE, "WebP"),
        MediaType("audio/wav", Modality.AUDIO, "WAV", "wav"),
        MediaType("audio/mpeg", Modality.AUDIO, "MP3", "mp3"),
        MediaType("video/mp4", Modality.VIDEO, "MP4", "mp4"),
        MediaType("video/quicktime", Modality.VIDEO, "MOV", "mov"),
        MediaType("application/pdf", Modality.DOCUMENT, "PDF"),
    )
}

# Spellings clients really send (Python's mimetypes says audio/x-wav for .wav, for instance).
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-pn-wav": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-mpeg-3": "audio/mpeg",
    "video/mov": "video/quicktime",
    "video/x-quicktime": "video/quicktime",
}

# MP4 and MOV are one container family read by one demuxer, and phones label one as the other
# all the time; a mix-up between them is not a lie about the content.
_SAME_FAMILY = {frozenset({"video/mp4", "video/quicktime"})}

# QuickTime files written before the ftyp box existed start with one of these atoms.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_AUDIO_ONLY_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
# The PDF header may follow up to 1 KiB of junk (PDF 32000-1, annex H.3).
_PDF_HEADER_WINDOW = 1024


def canonical_mime(declared: str) -> str:
    """Lower-cased, without parameters (``; codecs=…``), with common aliases resolved."""
    base = declared.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def sniff(data: bytes) -> str | None:
    """The MIME type the bytes carry, for supported and for commonly seen unsupported formats;
    None when the signature is unknown."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head.startswith(b"ID3") or _is_mp3_frame(head):
        return "audio/mpeg"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in _AUDIO_ONLY_BRANDS:
            return "audio/mp4"
        if brand.startswith(b"avi"):
            return "image/avif"
        if brand.startswith(b"hei") or brand == b"mif1":
            return "image/heif"
        return "video/mp4"
    if len(head) >= 8 and head[4:8] in _QUICKTIME_ATOMS:
        return "video/quicktime"
    if b"%PDF-" in data[:_PDF_HEADER_WINDOW]:
        return "application/pdf"
    for signature, mime in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return mime
    return None


_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"PK\x03\x04", "application/zip"),
)


def _is_mp3_frame(head: bytes) -> bool:
    """An MPEG audio layer III frame header: 11 sync bits, a valid version, layer III, a valid
    bitrate and sample rate index."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0b1111) and sample_rate != 0b11


def identify(declared: str, data: bytes, field: str) -> MediaType:
    """The supported type of ``data``, which must agree with the declared ``mimeType``."""
    mime = canonical_mime(declared)
    if not data:
        raise InvalidArgument.at(field + ".data", "is empty (0 bytes)")
    found = sniff(data)
    if not mime:
        hint = f"; the data looks like {found}" if found else ""
        raise InvalidArgument.at(field + ".mimeType", f"a mimeType is required{hint}")
    if mime not in SUPPORTED:
        raise InvalidArgument.at(
            field + ".mimeType",
            f"mimeType {declared!r} is not supported; supported types are {supported_list()}",
        )
    expected = SUPPORTED[mime]
    if found is None:
        raise InvalidArgument.at(
            field + ".data",
            f"declared mimeType {mime} but the data is not {expected.label} "
            f"(it starts with bytes {data[:8].hex(' ')}, which no supported format starts with)",
        )
    if found != mime and frozenset({found, mime}) not in _SAME_FAMILY:
        raise InvalidArgument.at(field + ".data", f"declared mimeType {mime} but the data is {found}")
    return SUPPORTED[found]


def supported_list() -> str:
    return ", ".join(SUPPORTED)


def content_hash(data: bytes) -> str:
    """Identifies the original bytes (for caches and the fake backend)."""
    return hashlib.sha256(data).hexdigest()
