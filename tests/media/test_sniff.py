"""The real type comes from the bytes, and must agree with the declared mimeType."""

from __future__ import annotations

import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.sniff import canonical_mime, identify, sniff
from tests.media import samples


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (samples.png, "image/png"),
        (samples.jpeg, "image/jpeg"),
        (samples.webp, "image/webp"),
        (samples.wav, "audio/wav"),
        (samples.mp3, "audio/mpeg"),
        (lambda: samples.video("libx264", "mp4"), "video/mp4"),
        (lambda: samples.video("libx264", "mov"), "video/quicktime"),
        (lambda: samples.pdf_text(["x"]), "application/pdf"),
        (lambda: samples.image_bytes("GIF"), "image/gif"),
        (lambda: samples.image_bytes("BMP"), "image/bmp"),
    ],
)
def test_generated_files_are_recognised(make: object, mime: str) -> None:
    assert sniff(make()) == mime  # type: ignore[operator]


def test_mp3_without_id3_tag_is_recognised_by_its_frame_header() -> None:
    data = samples.mp3()
    assert data.startswith(b"ID3")
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    bare = data[10 + size :]
    assert bare[0] == 0xFF
    assert sniff(bare) == "audio/mpeg"


def test_a_jpeg_is_not_mistaken_for_an_mp3_frame() -> None:
    assert sniff(samples.jpeg()) == "image/jpeg"
    assert sniff(b"\xff\xfb\x00\x00") is None  # bitrate index 0 ("free") is not accepted


@pytest.mark.parametrize(
    ("declared", "canonical"),
    [
        ("image/JPG", "image/jpeg"),
        ("audio/x-wav", "audio/wav"),
        ("audio/mp3", "audio/mpeg"),
        ("video/mp4; codecs=avc1.42E01E", "video/mp4"),
        (" application/PDF ", "application/pdf"),
    ],
)
def test_declared_types_are_normalised(declared: str, canonical: str) -> None:
    assert canonical_mime(declared) == canonical


def test_a_lying_mime_type_names_both_types() -> None:
    with pytest.raises(InvalidArgument) as err:
        identify("image/jpeg", samples.png(), "requests[0].content.parts[1].inlineData")
    assert "declared mimeType image/jpeg but the data is image/png" in err.value.message
    assert err.value.violations[0].field == "requests[0].content.parts[1].inlineData.data"


def test_mp4_and_mov_labels_are_interchangeable() -> None:
    mov = samples.video("libx264", "mov")
    assert identify("video/mp4", mov, "f").mime == "video/quicktime"


@pytest.mark.parametrize(
    ("declared", "data", "fragment"),
    [
        ("image/png", b"", "is empty (0 bytes)"),
        ("", b"\x89PNG\r\n\x1a\n....", "a mimeType is required; the data looks like image/png"),
        ("image/gif", b"GIF89a....", "'image/gif' is not supported"),
        ("text/plain", b"hello", "'text/plain' is not supported"),
        ("image/png", b"\x00\x01\x02\x03\x04", "declared mimeType image/png but the data is not PNG"),
        ("audio/mpeg", samples.image_bytes("GIF"), "declared mimeType audio/mpeg but the data is image/gif"),
        ("video/mp4", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "the data is audio/mp4"),
    ],
)
def test_refusals_say_what_was_declared_and_found(declared: str, data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        identify(declared, data, "content.parts[0].inlineData")
    assert fragment in err.value.message
