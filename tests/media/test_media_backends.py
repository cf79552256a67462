"""Decoded media reaching real multimodal backends (tiny random-weight EmbeddingGemma 2 and CLIP
checkpoints, loaded through the normal loader) over HTTP: video with its audio track, PDFs as
documents, per-modality usage, and refusals that point at the model that can take a part."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from omnivec.bootstrap import build
from omnivec.settings import Settings
from tests.media import samples
from tests.support import tiny_multimodal_models as tiny
from tests.support.server import start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("media-backends")
    models = [f"eg2={tiny.build_embeddinggemma2(root / 'eg2')}", f"clip={tiny.build_clip(root / 'clip')}"]
    settings = Settings(models=models, data_dir=root / "data", offline=True, device="cpu")
    server = start_server(build(settings))
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            yield client
    finally:
        server.stop()


def inline(mime: str, data: bytes) -> dict[str, object]:
    return {"inline_data": {"mime_type": mime, "data": base64.b64encode(data).decode()}}


def embed(http: httpx.Client, model: str, *parts: dict[str, object]) -> httpx.Response:
    return http.post(
        f"/v1beta/models/{model}:batchEmbedContents", json={"requests": [{"content": {"parts": list(parts)}}]}
    )


def modalities(response: httpx.Response) -> dict[str, int]:
    assert response.status_code == 200, response.text
    return {d["modality"]: d["tokenCount"] for d in response.json()["usageMetadata"]["promptTokenDetails"]}


def test_embeddinggemma2_takes_video_with_its_audio_pdf_and_text_as_one_vector(http: httpx.Client) -> None:
    r = embed(
        http,
        "eg2",
        {"text": "a clip and a report"},
        inline("video/mp4", samples.video(seconds=3, audio=True)),
        inline("application/pdf", samples.pdf_text(["page one text", "page two text"])),
    )
    counted = modalities(r)
    assert {"TEXT", "VIDEO", "DOCUMENT"} <= set(counted)
    assert "AUDIO" in counted  # the video's audio track, decoded because EG2 takes audio
    [embedding] = r.json()["embeddings"]
    assert np.isclose(np.linalg.norm(embedding["values"]), 1.0, atol=1e-4)


def test_clip_reads_a_pdf_as_page_images_and_text(http: httpx.Client) -> None:
    pdf = samples.pdf_text(["a red cat on a mat"])
    counted = modalities(embed(http, "clip", inline("application/pdf", pdf)))
    assert set(counted) == {"DOCUMENT"}
    video = modalities(embed(http, "clip", inline("video/quicktime", samples.video(fmt="mov", seconds=2))))
    assert set(video) == {"VIDEO"}


def test_audio_sent_to_clip_names_the_served_model_that_takes_it(http: httpx.Client) -> None:
    r = embed(http, "clip", inline("audio/mpeg", samples.mp3(seconds=1)))
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "model clip takes" in message and "not audio" in message and "models/eg2" in message
