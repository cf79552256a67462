"""The official google-genai SDK against ``omnivec serve --model …`` serving tiny multimodal models
(EmbeddingGemma 2, CLIP, CLAP) over real HTTP: one vector per Content, dimensions and MRL rules,
what models.get reports, and ``Part.from_bytes`` media mixed with text (the media extra is part
of the test install: a server that refuses media fails these tests).
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from google import genai
from google.genai import errors, types

from tests.support import tiny_multimodal_models as tiny

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mm-serve")
    models = {
        "eg2": tiny.build_embeddinggemma2(root / "eg2"),
        "clip": tiny.build_clip(root / "clip"),
        "clap": tiny.build_clap(root / "clap"),
    }
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "omnivec",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(root / "data"),
    ]
    command += ["--offline", "--device", "cpu"]
    for name, directory in models.items():
        command += ["--model", f"{name}={directory}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = (root / "server.log").open("w+")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: io.TextIOWrapper) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"omnivec serve exited with {process.returncode}:\n{log.read()[-4000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("omnivec serve did not become ready")


def client(url: str) -> genai.Client:
    return genai.Client(api_key="unused", http_options=types.HttpOptions(base_url=url))


def png(seed: int) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def wav(seed: int, seconds: float = 1.0, rate: int = 16_000) -> bytes:
    samples = np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 0.1
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


def values(result: types.EmbedContentResponse) -> np.ndarray:
    assert result.embeddings is not None
    return np.array([e.values for e in result.embeddings], dtype=np.float32)


def test_models_get_reports_modalities(server_url: str) -> None:
    c = client(server_url)
    assert c.models.get(model="eg2").name == "models/eg2"
    expected = {
        "eg2": (["AUDIO", "DOCUMENT", "IMAGE", "TEXT", "VIDEO"], 24, True, 16_000),
        "clip": (["DOCUMENT", "IMAGE", "TEXT", "VIDEO"], 16, False, None),
        "clap": (["AUDIO", "TEXT"], 16, False, 48_000),
    }
    for name, (modalities, dims, interleaved, rate) in expected.items():
        facts = httpx.get(f"{server_url}/v1beta/models/{name}").json()["omnivec"]
        assert facts["modalities"] == modalities
        assert facts["dimensions"] == dims
        assert facts["interleaved"] is interleaved
        assert facts.get("audioSampleRate") == rate


@pytest.mark.parametrize(("model", "dims"), [("eg2", 24), ("clip", 16), ("clap", 16)])
def test_text_contents_one_vector_each_and_mrl(server_url: str, model: str, dims: int) -> None:
    c = client(server_url)
    full = values(c.models.embed_content(model=model, contents=["a red cat", "the planet mars", "x"]))
    assert full.shape == (3, dims)
    np.testing.assert_allclose(np.linalg.norm(full, axis=1), 1.0, atol=1e-5)
    config = types.EmbedContentConfig(output_dimensionality=8)
    cut = values(c.models.embed_content(model=model, contents=["a red cat"], config=config))
    head = full[0, :8] / np.linalg.norm(full[0, :8])
    np.testing.assert_allclose(cut[0], head, atol=1e-5)
    with pytest.raises(errors.ClientError) as info:
        c.models.embed_content(
            model=model, contents="a", config=types.EmbedContentConfig(output_dimensionality=dims + 1)
        )
    assert info.value.code == 400


def test_eg2_mixed_media_contents(server_url: str) -> None:
    c = client(server_url)
    image = types.Part.from_bytes(data=png(1), mime_type="image/png")
    sound = types.Part.from_bytes(data=wav(2), mime_type="audio/wav")
    contents = [
        types.Content(parts=[types.Part.from_text(text="a cat"), image, sound]),
        types.Content(parts=[image]),
        types.Content(parts=[sound, types.Part.from_text(text="a cat"), image]),
    ]
    result = c.models.embed_content(model="eg2", contents=contents)
    full = values(result)
    assert full.shape == (3, 24)
    assert float(full[0] @ full[2]) < 0.99999  # interleaved: order is part of the content
    config = types.EmbedContentConfig(output_dimensionality=16)
    cut = values(c.models.embed_content(model="eg2", contents=contents[:1], config=config))
    np.testing.assert_allclose(cut[0], full[0, :16] / np.linalg.norm(full[0, :16]), atol=1e-5)


def test_dual_encoders_average_the_parts_of_a_content(server_url: str) -> None:
    c = client(server_url)
    for model, media in (
        ("clip", types.Part.from_bytes(data=png(3), mime_type="image/png")),
        ("clap", types.Part.from_bytes(data=wav(4, seconds=2.0, rate=48_000), mime_type="audio/wav")),
    ):
        text = types.Part.from_text(text="a red cat")
        contents = [
            types.Content(parts=[text]),
            types.Content(parts=[media]),
            types.Content(parts=[text, media]),
        ]
        result = c.models.embed_content(model=model, contents=contents)
        t, m, both = values(result)
        mean = (t + m) / np.linalg.norm(t + m)
        np.testing.assert_allclose(both, mean, atol=1e-5)


def test_a_video_metadata_clip_embeds_that_span_of_the_audio(server_url: str) -> None:
    """The SDK's ``video_metadata`` offsets on an audio part: the vector is the one of the same
    span sent as a file of its own (the model's rate, so no resampling blurs the edges)."""
    c = client(server_url)
    rate = 48_000
    whole = wav(6, seconds=4.0, rate=rate)
    header = len(whole) - 4 * rate * 2  # 16-bit mono PCM after a plain WAV header
    span = io.BytesIO()
    with wave.open(span, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(whole[header + 1 * rate * 2 : header + 3 * rate * 2])
    clipped = types.Part(
        inline_data=types.Blob(data=whole, mime_type="audio/wav"),
        video_metadata=types.VideoMetadata(start_offset="1s", end_offset="3s"),
    )
    result = c.models.embed_content(
        model="clap",
        contents=[
            types.Content(parts=[clipped]),
            types.Content(parts=[types.Part.from_bytes(data=span.getvalue(), mime_type="audio/wav")]),
            types.Content(parts=[types.Part.from_bytes(data=whole, mime_type="audio/wav")]),
        ],
    )
    clip, cut, full = values(result)
    # A tiny random model puts any noise near any other noise, so the gap to the whole file is
    # small; the clip and its span are the same input, equal to float precision.
    assert 1 - float(clip @ cut) < 1e-6 < 1 - float(clip @ full)


def test_unsupported_media_is_a_400(server_url: str) -> None:
    c = client(server_url)
    image = types.Part.from_bytes(data=png(5), mime_type="image/png")
    with pytest.raises(errors.ClientError) as info:
        c.models.embed_content(model="clap", contents=[types.Content(parts=[image])])
    assert info.value.code == 400


def test_server_log_is_clean(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Runs last in this module: nothing above may have produced a server-side error.
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("mm-serve*/server.log"))
    assert logs and "Traceback" not in logs[0].read_text()
