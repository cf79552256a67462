"""Media over real HTTP: the default model (real all-MiniLM-L6-v2 weights) reads PDFs and
refuses images with advice; the fake backend carries mixed parts through the official SDK."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from google import genai
from google.genai import types

from tests.media import samples
from tests.support.server import RunningServer

SENTENCE = "A lighthouse keeper watched the winter storm roll across the harbour at midnight."


def inline(mime: str, data: bytes) -> dict[str, object]:
    return {"inline_data": {"mime_type": mime, "data": base64.b64encode(data).decode()}}


def embed(http: httpx.Client, model: str, *parts: dict[str, object]) -> httpx.Response:
    return http.post(f"/v1beta/models/{model}:embedContent", json={"content": {"parts": list(parts)}})


def vector(response: httpx.Response) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(response.json()["embedding"]["values"], dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def minilm(minilm_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=minilm_server.base_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def fake_url(fake_server: RunningServer) -> str:
    return fake_server.base_url  # the fake backend, 64 dimensions


# --- the default model ---------------------------------------------------------------------------
@pytest.mark.slow
def test_a_pdf_embeds_like_the_sentence_its_pages_hold(minilm: httpx.Client) -> None:
    half = len(SENTENCE.split()) // 2
    words = SENTENCE.split()
    # The sentence runs over two pages, wrapped in lines: extraction must put it back together.
    pdf = samples.pdf_text([" ".join(words[:half]), " ".join(words[half:])])
    as_pdf = embed(minilm, "all-MiniLM-L6-v2", inline("application/pdf", pdf))
    as_text = embed(minilm, "all-MiniLM-L6-v2", {"text": SENTENCE})
    unrelated = embed(minilm, "all-MiniLM-L6-v2", {"text": "Quarterly revenue grew by four percent."})
    similarity = cosine(vector(as_pdf), vector(as_text))
    # Page breaks become line breaks, which the tokenizer treats as spaces: near-identical.
    assert similarity >= 0.99
    assert cosine(vector(as_pdf), vector(unrelated)) < 0.3
    usage = as_pdf.json()["usageMetadata"]
    assert [d["modality"] for d in usage["promptTokenDetails"]] == ["TEXT"]


@pytest.mark.slow
def test_an_image_sent_to_the_default_model_says_what_to_do(minilm: httpx.Client) -> None:
    r = embed(minilm, "gemini-embedding-001", {"text": "a cat"}, inline("image/png", samples.png()))
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "model all-MiniLM-L6-v2 takes text, not images (image/png)" in error["message"]
    assert "omnivec serve --model google/embeddinggemma-2" in error["message"]
    [violation] = error["details"][0]["fieldViolations"]
    assert violation["field"] == "content.parts[1].inlineData"


def bad_inputs() -> list[tuple[str, dict[str, object], str]]:
    png = samples.png()
    return [
        ("truncated PNG", inline("image/png", png[:40]), "content.parts[0].inlineData"),
        ("lying mimeType", inline("application/pdf", png), "declared mimeType application/pdf"),
        ("zero-length", inline("application/pdf", b""), "is empty"),
        ("unsupported type", inline("image/gif", samples.image_bytes("GIF")), "not supported"),
        ("PDF over the page limit", inline("application/pdf", samples.pdf_blank_pages(3000)), "3000 pages"),
        ("truncated PDF", inline("application/pdf", samples.pdf_text(["x"])[:100]), "corrupt"),
        (
            "scanned PDF",
            inline("application/pdf", samples.pdf_images([samples.gradient()])),
            "no extractable",
        ),
        ("audio", inline("audio/wav", samples.wav()), "not audio"),
        ("video", inline("video/mp4", samples.video()), "not video"),
        ("remote file", {"file_data": {"file_uri": "https://example.com/a.pdf"}}, "Files API"),
    ]


@pytest.mark.slow
def test_the_server_stays_healthy_after_every_bad_input(minilm: httpx.Client) -> None:
    reference = vector(embed(minilm, "gemini-embedding-001", {"text": "still here"}))
    for label, part, fragment in bad_inputs():
        r = embed(minilm, "gemini-embedding-001", part)
        assert r.status_code == 400, (label, r.text)
        error = r.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT" and fragment in error["message"], (label, error)
        assert "Traceback" not in r.text
        assert minilm.get("/healthz").json() == {"status": "ok"}
    assert np.allclose(vector(embed(minilm, "gemini-embedding-001", {"text": "still here"})), reference)


# --- aggregation through the official SDK, on the fake backend -----------------------------------
def sdk(url: str) -> genai.Client:
    return genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url=url, api_version="v1beta")
    )


def media_parts() -> list[types.Part]:
    return [
        types.Part.from_bytes(data=samples.png(), mime_type="image/png"),
        types.Part.from_bytes(data=samples.mp3(seconds=0.5), mime_type="audio/mpeg"),
        types.Part.from_bytes(data=samples.video(seconds=1), mime_type="video/mp4"),
        types.Part.from_bytes(data=samples.pdf_text(["page one"]), mime_type="application/pdf"),
        types.Part.from_text(text="and a caption"),
    ]


def test_each_content_becomes_one_vector_whatever_its_parts(fake_url: str) -> None:
    client = sdk(fake_url)
    contents = [
        types.Content(parts=media_parts()),
        types.Content(parts=[types.Part.from_bytes(data=samples.jpeg(), mime_type="image/jpeg")]),
        types.Content(parts=[types.Part.from_text(text="only text")]),
    ]
    result = client.models.embed_content(model="fake", contents=contents)
    assert result.embeddings is not None and len(result.embeddings) == 3
    vectors = [np.asarray(e.values) for e in result.embeddings]
    assert all(v.shape == (64,) for v in vectors)
    again = client.models.embed_content(model="fake", contents=contents[:1]).embeddings
    assert again is not None and np.allclose(again[0].values, vectors[0])
    # The parts of a Content are embedded in order: reordering them changes the vector.
    reordered = types.Content(parts=list(reversed(media_parts())))
    other = client.models.embed_content(model="fake", contents=[reordered]).embeddings
    assert other is not None and not np.allclose(other[0].values, vectors[0])


def test_the_sdk_aggregates_loose_parts_for_gemini_embedding_2(fake_url: str) -> None:
    # SDK >= 1.72 folds loose parts for gemini-embedding-2 into ONE Content: one vector back.
    client = sdk(fake_url)  # held: a dropped Client closes its connection pool
    result = client.models.embed_content(model="gemini-embedding-2", contents=media_parts())
    assert result.embeddings is not None and len(result.embeddings) == 1


def test_n_contents_give_n_vectors(fake_url: str) -> None:
    contents = [
        types.Content(parts=[types.Part.from_bytes(data=samples.png(8 + i, 8), mime_type="image/png")])
        for i in range(7)
    ]
    client = sdk(fake_url)
    result = client.models.embed_content(model="fake", contents=contents)
    assert result.embeddings is not None and len(result.embeddings) == 7
    assert len({tuple(np.round(e.values, 6)) for e in result.embeddings}) == 7  # type: ignore[arg-type]


def test_usage_is_reported_per_modality(fake_url: str) -> None:
    parts = [
        inline("image/png", samples.png()),
        inline("image/webp", samples.webp()),
        inline("audio/wav", samples.wav(seconds=0.5)),
        inline("video/quicktime", samples.video(fmt="mov", seconds=1)),
        inline("application/pdf", samples.pdf_text(["p"])),
        {"text": "words here"},
    ]
    with httpx.Client(base_url=fake_url, timeout=60) as http:
        r = http.post(
            "/v1beta/models/fake:batchEmbedContents", json={"requests": [{"content": {"parts": parts}}]}
        )
    assert r.status_code == 200, r.text
    usage = r.json()["usageMetadata"]
    details = {d["modality"]: d["tokenCount"] for d in usage["promptTokenDetails"]}
    assert set(details) == {"TEXT", "IMAGE", "AUDIO", "VIDEO", "DOCUMENT"}
    assert details["IMAGE"] == 2 * details["AUDIO"]  # the fake backend counts each media part alike
    assert usage["promptTokenCount"] == sum(details.values())


def test_the_sdk_sees_media_refusals_as_client_errors(fake_url: str) -> None:
    client = sdk(fake_url)
    seven = [types.Part.from_bytes(data=samples.png(), mime_type="image/png") for _ in range(7)]
    with pytest.raises(genai.errors.ClientError) as err:
        client.models.embed_content(model="fake", contents=[types.Content(parts=seven)])
    assert err.value.code == 400 and "at most 6 images" in str(err.value.message)
    lying = types.Part.from_bytes(data=samples.png(), mime_type="video/mp4")
    with pytest.raises(genai.errors.ClientError) as err:
        client.models.embed_content(model="fake", contents=[types.Content(parts=[lying])])
    assert "declared mimeType video/mp4 but the data is image/png" in str(err.value.message)
