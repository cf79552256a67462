"""Media parts in the embedding service: what each kind of model receives, per-Content limits,
refusals that say what to do, and decoding off the event loop."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from omnivec.bootstrap import Container, build
from omnivec.errors import InvalidArgument
from omnivec.media.types import DecodedAudio, DecodedDocument, DecodedImage, DecodedVideo
from omnivec.runtime.backends.prompts import prompted_parts
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.media_decoding import MediaPartDecoder
from omnivec.settings import MediaSettings, Settings
from omnivec.types import (
    BlobPart,
    EmbedInput,
    EmbedOptions,
    FileRefPart,
    Modality,
    ModelDescriptor,
    PromptStyle,
    TaskType,
    TextPart,
)
from tests.media import samples

T, IM, A, V, D = Modality.TEXT, Modality.IMAGE, Modality.AUDIO, Modality.VIDEO, Modality.DOCUMENT
FIELD = "requests[1].content.parts[2]"


def model(
    name: str,
    *modalities: Modality,
    style: PromptStyle = PromptStyle.NONE,
    audio_sample_rate: int | None = None,
    interleaved: bool = False,
) -> ModelDescriptor:
    return ModelDescriptor(
        name,
        name,
        "",
        8,
        512,
        frozenset(modalities),
        False,
        style,
        audio_sample_rate=audio_sample_rate,
        interleaved=interleaved,
    )


def decoder(*models: ModelDescriptor, **limits: object) -> MediaPartDecoder:
    catalogue = ModelCatalogue({m.name: m for m in models}, {"gemini-embedding-2": models[0].name})
    return MediaPartDecoder(catalogue, MediaSettings(**limits))  # type: ignore[arg-type]


MINILM = model("all-MiniLM-L6-v2", T)
VISION = model("siglip", T, IM)
OMNI = model("omni", T, IM, A, V, D, audio_sample_rate=48_000)


def run(dec: MediaPartDecoder, part: BlobPart | FileRefPart, target: ModelDescriptor) -> list[object]:
    return asyncio.run(dec.decode(part, target, FIELD, ""))


def refusal(dec: MediaPartDecoder, part: BlobPart | FileRefPart, target: ModelDescriptor) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as err:
        run(dec, part, target)
    return err.value


# --- what each model receives ----------------------------------------------------------------
def test_a_text_only_model_reads_a_pdf_as_its_pages_text() -> None:
    parts = run(decoder(MINILM), BlobPart("application/pdf", samples.pdf_text(["one", "", "three"])), MINILM)
    assert parts == ["one", "three"]


def test_a_text_only_model_refuses_a_scanned_pdf_with_advice() -> None:
    err = refusal(
        decoder(MINILM), BlobPart("application/pdf", samples.pdf_images([samples.gradient()])), MINILM
    )
    assert "no extractable text" in err.message and "--model google/embeddinggemma-2" in err.message


def test_an_image_model_reads_a_pdf_as_page_text_and_page_images() -> None:
    parts = run(decoder(VISION), BlobPart("application/pdf", samples.pdf_text(["alpha", "beta"])), VISION)
    assert [type(p).__name__ for p in parts] == ["str", "DecodedImage", "str", "DecodedImage"]
    assert parts[0] == "alpha" and parts[2] == "beta"
    images = [p for p in parts if isinstance(p, DecodedImage)]
    assert images[0].content_hash != images[1].content_hash
    assert images[0].image.size == (images[0].width, images[0].height)


def test_a_document_model_gets_one_decoded_document() -> None:
    [doc] = run(decoder(OMNI), BlobPart("application/pdf", samples.pdf_text(["alpha", "beta"])), OMNI)
    assert isinstance(doc, DecodedDocument)
    assert [p.text for p in doc.pages] == ["alpha", "beta"]
    assert all(p.image is not None for p in doc.pages)
    text_documents = model("docs", T, D)
    [doc] = run(decoder(text_documents), BlobPart("application/pdf", samples.pdf_text(["x"])), text_documents)
    assert isinstance(doc, DecodedDocument) and doc.pages[0].image is None


def test_audio_is_resampled_to_the_models_rate() -> None:
    [audio] = run(decoder(OMNI), BlobPart("audio/x-wav", samples.wav(seconds=1.0)), OMNI)
    assert isinstance(audio, DecodedAudio) and audio.sample_rate == 48_000
    clap = model("clap", T, A)
    [audio] = run(decoder(clap), BlobPart("audio/mpeg", samples.mp3(seconds=1.0)), clap)
    assert isinstance(audio, DecodedAudio) and audio.sample_rate == 16_000


def test_a_videos_audio_track_comes_along_only_for_models_that_take_audio() -> None:
    data = samples.video(seconds=2, audio=True)
    [with_audio] = run(decoder(OMNI), BlobPart("video/mp4", data), OMNI)
    assert isinstance(with_audio, DecodedVideo) and with_audio.audio is not None
    frames_only = model("frames", T, IM, V)
    [silent] = run(decoder(frames_only), BlobPart("video/mp4", data), frames_only)
    assert isinstance(silent, DecodedVideo) and silent.audio is None


# --- refusals ----------------------------------------------------------------------------------
def test_media_a_model_cannot_take_names_a_served_model_that_can() -> None:
    err = refusal(decoder(MINILM, VISION, OMNI), BlobPart("image/png", samples.png()), MINILM)
    assert "model all-MiniLM-L6-v2 takes text, not images (image/png)" in err.message
    assert "models/siglip, models/omni" in err.message and "gemini-embedding-2" not in err.message
    assert err.violations[0].field == FIELD + ".inlineData"
    err = refusal(decoder(MINILM, VISION, OMNI), BlobPart("audio/wav", samples.wav()), VISION)
    assert "takes images and text, not audio" in err.message and "models/omni" in err.message


@pytest.mark.parametrize(
    ("mime", "data"),
    [
        ("image/jpeg", samples.jpeg()),
        ("audio/mpeg", samples.mp3()),
        ("video/quicktime", samples.video(fmt="mov")),
    ],
)
def test_when_no_served_model_takes_it_the_error_says_how_to_serve_one(mime: str, data: bytes) -> None:
    err = refusal(decoder(MINILM), BlobPart(mime, data), MINILM)
    assert "no model served here takes" in err.message
    assert "omnivec serve --model google/embeddinggemma-2" in err.message


def test_file_refs_that_were_not_resolved_are_refused_and_never_fetched() -> None:
    err = refusal(decoder(OMNI), FileRefPart("https://example.com/cat.png", "image/png"), OMNI)
    assert "file_uri must name a file uploaded to this server's Files API" in err.message
    assert err.violations[0].field == FIELD + ".fileData.fileUri"


def test_oversized_parts_are_refused_before_sniffing() -> None:
    err = refusal(decoder(OMNI, max_part_bytes=100), BlobPart("image/png", samples.png(200, 200)), OMNI)
    assert "more than the limit of 100" in err.message


def test_a_lying_mime_type_is_refused_through_the_service() -> None:
    err = refusal(decoder(OMNI), BlobPart("application/pdf", samples.png()), OMNI)
    assert "declared mimeType application/pdf but the data is image/png" in err.message


# --- through the whole service, on the fake backend --------------------------------------------
@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Container]:
    container = build(Settings(models=["fake:16"], data_dir=tmp_path))
    # No batch worker: these tests call the service directly, one event loop per call.
    asyncio.run(container.start(background_jobs=False))
    yield container
    asyncio.run(container.stop())


def embed(container: Container, *contents: tuple[object, ...]) -> list[object]:
    inputs = [
        EmbedInput(tuple(TextPart(p) if isinstance(p, str) else p for p in parts))  # type: ignore[misc]
        for parts in contents
    ]
    return asyncio.run(container.embeddings.embed("fake", inputs))


def test_the_media_decoder_is_wired_when_the_libraries_are_installed(fake: Container) -> None:
    assert isinstance(fake.embeddings.decoder, MediaPartDecoder)
    # The fake backend states no audio rate: audio comes at 16 kHz.
    assert fake.catalogue.resolve("fake").audio_sample_rate is None
    part = BlobPart("audio/wav", samples.wav(seconds=0.5, rate=44_100))
    [audio] = asyncio.run(fake.embeddings.decoder.decode(part, fake.catalogue.resolve("fake"), FIELD, ""))
    assert isinstance(audio, DecodedAudio) and audio.sample_rate == 16_000


def test_all_parts_of_a_content_become_one_vector_with_usage_per_modality(fake: Container) -> None:
    mixed = (
        "a caption",
        BlobPart("image/png", samples.png()),
        BlobPart("audio/wav", samples.wav(seconds=0.5)),
        BlobPart("video/mp4", samples.video(seconds=1)),
        BlobPart("application/pdf", samples.pdf_text(["page"])),
    )
    [one, two] = embed(fake, mixed, ("just text",))
    assert one.values.shape == (16,)  # type: ignore[attr-defined]
    assert set(one.tokens_by_modality) == {T, IM, A, V, D}  # type: ignore[attr-defined]
    assert set(two.tokens_by_modality) == {T}  # type: ignore[attr-defined]


def test_a_seventh_image_is_refused_before_it_is_decoded(fake: Container) -> None:
    six = tuple(BlobPart("image/png", samples.png()) for _ in range(6))
    assert len(embed(fake, six)) == 1
    with pytest.raises(InvalidArgument) as err:
        embed(fake, (*six, BlobPart("image/png", b"\x89PNG\r\n\x1a\n not even decodable")))
    assert "at most 6 images; this is image 7" in err.value.message
    assert err.value.violations[0].field == "requests[0].content.parts[6].inlineData"
    # The limit is per Content: six images in each of two Contents is fine.
    assert len(embed(fake, six, six)) == 2


def test_audio_budgets_are_per_content(fake: Container) -> None:
    clip = BlobPart("audio/wav", samples.wav(seconds=50, rate=8_000, channels=1))
    with pytest.raises(InvalidArgument, match=r"50\.0 s of audio before it"):
        embed(fake, (clip, clip))
    assert len(embed(fake, (clip,), (clip,))) == 2


def test_media_limits_come_from_settings_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OMNIVEC_MEDIA__MAX_IMAGES", "2")
    monkeypatch.setenv("OMNIVEC_MEDIA__MAX_AUDIO_S", "180")
    settings = Settings(models=["fake"], data_dir=tmp_path)
    assert settings.media.max_images == 2 and settings.media.max_audio_s == 180
    container = build(settings)
    try:
        assert isinstance(container.embeddings.decoder, MediaPartDecoder)
        assert container.embeddings.decoder.settings.max_images == 2
    finally:
        container.stores.close()


def test_decoding_runs_off_the_event_loop() -> None:
    """A ticker on the loop keeps ticking while a large image decodes."""
    pixels = np.random.default_rng(1).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=1)
    part = BlobPart("image/png", buf.getvalue())
    dec = decoder(OMNI, max_image_pixels=20_000_000)

    async def scenario() -> tuple[int, float]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.002)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        started = time.perf_counter()
        await dec.decode(part, OMNI, FIELD, "")
        elapsed = time.perf_counter() - started
        done.set()
        await task
        return ticks, elapsed

    ticks, elapsed = asyncio.run(scenario())
    # Blocking the loop would allow one tick at most; at 2 ms per tick even a slow machine
    # fits several into a decode of this size.
    assert elapsed > 0.02 and ticks >= 5


# --- task prompts and media --------------------------------------------------------------------
IMG = DecodedImage(None, 1, 1, "h")


def test_pure_media_gets_no_prompt() -> None:
    assert prompted_parts(PromptStyle.GEMMA, (IMG,), TaskType.RETRIEVAL_QUERY, None, interleaved=False) == (
        IMG,
    )


def test_text_next_to_media_is_prompted_and_media_keeps_its_place() -> None:
    out = prompted_parts(
        PromptStyle.GEMMA,
        (IMG, "a red car", IMG, "on a road"),
        TaskType.RETRIEVAL_QUERY,
        None,
        interleaved=False,
    )
    assert out == (IMG, "task: search result | query: a red car\non a road", IMG)


def test_interleaved_models_keep_every_text_part_in_place() -> None:
    out = prompted_parts(
        PromptStyle.GEMMA,
        (IMG, "a red car", IMG, "on a road"),
        TaskType.RETRIEVAL_DOCUMENT,
        "Cars",
        interleaved=True,
    )
    assert out == (IMG, "title: Cars | text: a red car", IMG, "on a road")


def test_options_are_untouched_by_media(fake: Container) -> None:
    item = EmbedInput(
        (BlobPart("image/png", samples.png()),), EmbedOptions(task_type=TaskType.RETRIEVAL_QUERY)
    )
    [result] = asyncio.run(fake.embeddings.embed("fake", [item]))
    assert set(result.tokens_by_modality) == {IM}
