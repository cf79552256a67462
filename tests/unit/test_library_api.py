"""The library's common case: ``embed`` returns vectors, inputs of every kind are taken with
their types inferred, ``similarity`` compares them, and nothing is printed."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from omnivec import BlobPart, Embedder, TextPart, similarity
from omnivec.library import to_part

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_embed_shapes_and_options(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with Embedder("fake:32", data_dir=tmp_path) as embedder:  # one source as a plain string
        one = embedder.embed("hello")
        many = embedder.embed(["hello", "world", "again"], task_type="retrieval_document")
        cut = embedder.embed(["hello"], dimensions=8)
        together = embedder.embed([["hello", "world"]])  # a list inside the list: one input
    assert one.shape == (32,) and many.shape == (3, 32) and cut.shape == (1, 8)
    assert together.shape == (1, 32)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, rtol=1e-5)
    assert many.dtype == np.float32
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # quiet by default


def test_similarity_shapes() -> None:
    a = np.array([1.0, 0.0])
    rows = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    assert float(similarity(a, a)) == pytest.approx(1.0)
    np.testing.assert_allclose(similarity(a, rows), [1.0, 0.0, -1.0], atol=1e-6)
    assert similarity(rows, rows).shape == (3, 3)


def test_parts_are_inferred(tmp_path: Path) -> None:
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG)
    assert to_part(image) == BlobPart("image/png", PNG)
    assert to_part(PNG) == BlobPart("image/png", PNG)  # one part, not one per byte
    assert to_part("text") == TextPart("text")
    with pytest.raises(ValueError, match="cannot tell the media type"):
        to_part(b"just some bytes")
    with pytest.raises(TypeError, match="cannot embed a int"):
        to_part(3)


def test_pil_images_become_png_parts() -> None:
    image_module = pytest.importorskip("PIL.Image")
    part = to_part(image_module.new("RGB", (3, 2), "red"))
    assert isinstance(part, BlobPart) and part.mime_type == "image/png"
    assert image_module.open(io.BytesIO(part.data)).size == (3, 2)


def test_embed_content_refuses_an_ambiguous_list(tmp_path: Path) -> None:
    with Embedder(["fake:8"], data_dir=tmp_path) as embedder:
        with pytest.raises(ValueError, match="one vector per text use embed"):
            embedder.embed_content("fake", ["a", "b"])
        merged = embedder.embed_content("fake", [TextPart("a"), TextPart("b")])
        assert merged.values.shape == (8,)
        # The same vectors either way.
        np.testing.assert_array_equal(
            embedder.embed("a", model="fake"), embedder.embed_content("fake", "a").values
        )
