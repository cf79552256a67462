"""Multimodal backends on tiny random-weight checkpoints, through ``load_backend`` and the real
runtime: what each model reports, one vector per Content, the mean rule of dual encoders, the
interleaving of EmbeddingGemma 2 and Qwen3-VL, tower dropping, limits and token accounting."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from omnivec.errors import InvalidArgument
from omnivec.media.types import DecodedDocument, DocumentPage
from omnivec.runtime.backends.base import Backend, InputError, InputTooLong
from omnivec.runtime.inputs import ModelInput
from omnivec.runtime.runtime import Runtime
from omnivec.types import Modality, TaskType, Truncation
from tests.models.conftest import audio, image, video

T, IMG, A, V, D = Modality.TEXT, Modality.IMAGE, Modality.AUDIO, Modality.VIDEO, Modality.DOCUMENT

EXPECTED = {
    # name: (modalities, dimensions, interleaved, audio sample rate, prompt style)
    "clip": ({T, IMG, V, D}, 16, False, None, "none"),
    "siglip": ({T, IMG, V, D}, 32, False, None, "none"),
    "siglip2": ({T, IMG, V, D}, 32, False, None, "none"),
    "clap": ({T, A}, 16, False, 48_000, "none"),
    "eg2": ({T, IMG, A, V, D}, 24, True, 16_000, "gemma"),
    "qwen3vl": ({T, IMG, V, D}, 32, True, None, "qwen3"),
}
DUAL = ["clip", "siglip", "siglip2", "clap"]


def media_for(name: str, seed: int = 0) -> object:
    return audio(seed, rate=48_000) if name == "clap" else image(seed)


async def embed(
    runtime: Runtime, name: str, *contents: tuple[object, ...], auto_truncate: bool = True
) -> np.ndarray:
    items = await runtime.embed(name, [ModelInput(c) for c in contents], auto_truncate=auto_truncate)
    return np.stack([item.vector for item in items])


@pytest.mark.parametrize("name", list(EXPECTED))
def test_reported_capabilities(tiny_backend: Callable[..., Backend], name: str) -> None:
    modalities, dims, interleaved, rate, style = EXPECTED[name]
    info = tiny_backend(name).info
    assert set(info.modalities) == modalities
    assert info.dimensions == dims
    assert info.interleaved is interleaved
    assert info.audio_sample_rate == rate
    assert info.prompt_style == style
    assert info.normalized


@pytest.mark.parametrize("name", list(EXPECTED))
async def test_one_unit_vector_per_content(mm_runtime: Runtime, name: str) -> None:
    contents = [("a red cat",), (media_for(name),), ("a red cat", media_for(name, 1)), ("dog",)]
    vectors = await embed(mm_runtime, name, *contents)
    assert vectors.shape == (4, EXPECTED[name][1])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Different contents, different vectors; the same content alone, the same vector.
    assert len({tuple(np.round(v, 5)) for v in vectors}) == 4
    alone = await embed(mm_runtime, name, contents[2])
    np.testing.assert_allclose(alone[0], vectors[2], atol=1e-5)


@pytest.mark.parametrize("name", DUAL)
async def test_dual_encoder_content_is_normalised_mean_of_parts(mm_runtime: Runtime, name: str) -> None:
    media = media_for(name)
    text_v, media_v, both = await embed(mm_runtime, name, ("a red cat",), (media,), ("a red cat", media))
    expected = text_v + media_v
    np.testing.assert_allclose(both, expected / np.linalg.norm(expected), atol=1e-5)
    # Order does not matter to a dual encoder; all text parts form one passage.
    swapped, joined, split = await embed(
        mm_runtime, name, (media, "a red cat"), ("a red\ncat",), ("a red", "cat")
    )
    np.testing.assert_allclose(swapped, both, atol=1e-6)
    np.testing.assert_allclose(split, joined, atol=1e-6)


@pytest.mark.parametrize("name", ["clip", "siglip2"])
async def test_dual_encoder_video_is_mean_of_frames(mm_runtime: Runtime, name: str) -> None:
    clip = video(3, frames=3)
    frames = [image_from(clip.frames[i]) for i in range(3)]
    [v] = await embed(mm_runtime, name, (clip,))
    per_frame = await embed(mm_runtime, name, *[(f,) for f in frames])
    mean = per_frame.mean(axis=0)
    np.testing.assert_allclose(v, mean / np.linalg.norm(mean), atol=1e-5)


def image_from(pixels: np.ndarray) -> object:
    from PIL import Image

    from omnivec.media.types import DecodedImage

    return DecodedImage(Image.fromarray(pixels), pixels.shape[1], pixels.shape[0], "frame")


async def test_clap_long_audio_is_mean_of_windows(mm_runtime: Runtime) -> None:
    # The tiny CLAP's window is 2 s: 4 s of audio are two equal windows.
    clip = audio(5, seconds=4.0, rate=48_000)
    halves = [
        type(clip)(clip.samples[:96_000], 48_000, 2.0, "a"),
        type(clip)(clip.samples[96_000:], 48_000, 2.0, "b"),
    ]
    [whole] = await embed(mm_runtime, "clap", (clip,))
    parts = await embed(mm_runtime, "clap", *[(h,) for h in halves])
    mean = parts.mean(axis=0)
    np.testing.assert_allclose(whole, mean / np.linalg.norm(mean), atol=1e-5)


async def test_clap_resamples_audio_it_is_given_at_another_rate(mm_runtime: Runtime) -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(16_000) / 16_000).astype(np.float32)
    low = type(audio())(tone, 16_000, 1.0, "tone16")
    high = type(audio())(
        np.sin(2 * np.pi * 440 * np.arange(48_000) / 48_000).astype(np.float32), 48_000, 1.0, "t48"
    )
    a, b = await embed(mm_runtime, "clap", (low,), (high,))
    assert float(a @ b) > 0.99


@pytest.mark.parametrize("name", ["eg2", "qwen3vl"])
async def test_interleaved_order_matters(mm_runtime: Runtime, name: str) -> None:
    media = image(2)
    text_first, media_first, text_v, media_v = await embed(
        mm_runtime, name, ("a red cat", media), (media, "a red cat"), ("a red cat",), (media,)
    )
    assert float(text_first @ media_first) < 0.99999
    # One sequence, not an average of the parts.
    mean = text_v + media_v
    assert float(text_first @ (mean / np.linalg.norm(mean))) < 0.99999


async def test_eg2_every_modality_and_interleaving(mm_runtime: Runtime) -> None:
    contents = [
        (audio(1),),
        (video(1),),
        (video(1, with_audio=True),),
        ("shoe", image(1), "sound", audio(2)),
        (DecodedDocument((DocumentPage("first page", image(3).image), DocumentPage("second page")), "doc"),),
    ]
    vectors = await embed(mm_runtime, "eg2", *contents)
    assert vectors.shape == (5, 24)
    assert float(vectors[1] @ vectors[2]) < 0.99999  # the audio track is part of the video's vector


def test_eg2_token_accounting(tiny_backend: Callable[..., Backend]) -> None:
    backend = tiny_backend("eg2")
    [text, img, vid, snd] = backend.prepare(
        [
            ModelInput(("a red cat",)),
            ModelInput((image(),)),
            ModelInput((video(frames=4),)),
            ModelInput((audio(),)),
        ],
        auto_truncate=True,
    )
    # BOS + 9 byte-level tokens + EOS.
    assert text.tokens_by_modality == {T: text.token_count}
    # 40x50 px at 70 soft tokens max: resized to 48x48, 3x3 patches pooled 3x3 -> 1 soft token per
    # 9 patches; boi/eoi wrap each image and frame.
    soft = img.tokens_by_modality[IMG] - 2
    assert soft > 0 and img.tokens_by_modality[T] == 2
    assert vid.tokens_by_modality[V] == 4 * (soft + 2)
    # 1 s of 16 kHz audio: 25 soft tokens (40 ms each) + boa/eoa.
    assert snd.tokens_by_modality[A] == 25 + 2
    for item in (text, img, vid, snd):
        assert item.token_count == sum(item.tokens_by_modality.values())
        assert item.cost >= item.token_count  # media encoders' work is in the cost


async def test_eg2_text_only_load_matches_full_model(tiny_backend: Callable[..., Backend]) -> None:
    full = tiny_backend("eg2")
    text_tower = tiny_backend("eg2", frozenset({T}))
    checkpoint = tiny_backend("eg2-text")
    assert set(text_tower.info.modalities) == {T} == set(checkpoint.info.modalities)
    params = [sum(p.numel() for p in b.model.parameters()) for b in (full, text_tower, checkpoint)]  # type: ignore[attr-defined]
    assert params[1] == params[2] < params[0] / 10  # only the text backbone is loaded
    texts = [ModelInput(("task: search result | query: which planet is red?",)), ModelInput(("mars",))]
    reference = full.finalize(full.forward(full.prepare(texts, auto_truncate=True)))
    for backend in (text_tower, checkpoint):
        vectors = backend.finalize(backend.forward(backend.prepare(texts, auto_truncate=True)))
        np.testing.assert_allclose(vectors, reference, atol=1e-5)
    with pytest.raises(InvalidArgument, match="does not take images"):
        text_tower.prepare([ModelInput((image(),))], auto_truncate=True)


def test_qwen3vl_instruction_goes_to_the_system_turn(tiny_backend: Callable[..., Backend]) -> None:
    backend = tiny_backend("qwen3vl")
    query = ModelInput(("red planet",), task=TaskType.RETRIEVAL_QUERY)
    instructed, plain, media_only = backend.prepare(
        [query, ModelInput(("red planet",)), ModelInput((image(),))], auto_truncate=True
    )
    decode = backend.tokenizer.decode  # type: ignore[attr-defined]
    assert decode(instructed.payload.input_ids) == (
        "<|im_start|>system\nGiven a web search query, retrieve relevant passages that answer the query."
        "<|im_end|>\n<|im_start|>user\nred planet<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "system\nRepresent the user's input.<|im_end|>" in decode(plain.payload.input_ids)
    assert decode(media_only.payload.input_ids).count("<|image_pad|>") == media_only.tokens_by_modality[IMG]


async def test_qwen3vl_video_frames_carry_timestamps(tiny_backend: Callable[..., Backend]) -> None:
    backend = tiny_backend("qwen3vl")
    [item] = backend.prepare([ModelInput((video(frames=5),))], auto_truncate=True)
    text = backend.tokenizer.decode(item.payload.input_ids)  # type: ignore[attr-defined]
    # 5 frames at 1 fps, padded to temporal pairs: groups at 0.5, 2.5 and 4.0 s.
    assert [s for s in ("<0.5 seconds>", "<2.5 seconds>", "<4.0 seconds>") if s in text] == [
        "<0.5 seconds>",
        "<2.5 seconds>",
        "<4.0 seconds>",
    ]
    vector = backend.finalize(backend.forward([item]))
    assert vector.shape == (1, 32)


@pytest.mark.parametrize("name", ["clip", "clap", "qwen3vl"])
def test_unsupported_modalities_are_client_errors(tiny_backend: Callable[..., Backend], name: str) -> None:
    other = image() if name == "clap" else audio()
    with pytest.raises(InvalidArgument, match="does not take"):
        tiny_backend(name).prepare([ModelInput(("text", other))], auto_truncate=True)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_over_long_text_is_refused_or_cut(tiny_backend: Callable[..., Backend], name: str) -> None:
    backend = tiny_backend(name)
    long_text = "abc " * (backend.info.max_tokens + 10)
    with pytest.raises(InputTooLong):
        backend.prepare([ModelInput((long_text,))], auto_truncate=False)
    # These models cut only the end: asked to cut the start, they refuse rather than cut the end.
    with pytest.raises(InputError, match="START"):
        backend.prepare([ModelInput((long_text,), truncation=Truncation.START)], auto_truncate=True)
    media = media_for(name) if name != "eg2" else image()
    [item] = backend.prepare([ModelInput((long_text, media))], auto_truncate=True)
    assert item.truncated
    vectors = backend.finalize(backend.forward([item]))
    assert np.isfinite(vectors).all()


def test_interleaved_cut_keeps_media_and_template(tiny_backend: Callable[..., Backend]) -> None:
    backend = tiny_backend("qwen3vl")
    limit = backend.info.max_tokens
    [item] = backend.prepare([ModelInput(("word " * limit, image()))], auto_truncate=True)
    assert item.truncated and item.token_count <= limit
    text = backend.tokenizer.decode(item.payload.input_ids)  # type: ignore[attr-defined]
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n") and "<|image_pad|>" in text


def test_placeholders_in_user_text_are_inert(tiny_backend: Callable[..., Backend]) -> None:
    backend = tiny_backend("eg2")
    [sneaky, plain] = backend.prepare(
        [ModelInput(("a <|image|> b <|audio>",)), ModelInput(("a  b ",))], auto_truncate=True
    )
    assert sneaky.payload.input_ids == plain.payload.input_ids
    assert backend.finalize(backend.forward([sneaky])).shape == (1, 24)


def test_empty_document_is_a_client_error(tiny_backend: Callable[..., Backend]) -> None:
    empty = DecodedDocument((DocumentPage("  "),), "empty")
    for name in ("clip", "eg2"):
        with pytest.raises(InvalidArgument, match="nothing to embed"):
            tiny_backend(name).prepare([ModelInput((empty,))], auto_truncate=True)


class _BlankDocuments:
    """Hands every media part over as a PDF whose only page is blank, as the media layer would
    for a scanned page with no text layer."""

    async def decode(
        self, part: object, model: object, field: str, owner: str, tally: object = None
    ) -> list[object]:
        return [DecodedDocument((DocumentPage("  "),), "blank")]


async def test_backend_refusal_names_the_request_it_came_from(mm_runtime: Runtime) -> None:
    """Requests run in groups by autoTruncate, and the backend counts within its group; the
    client must still be told its own request index, as a field violation."""
    from omnivec.bootstrap import describe
    from omnivec.services.catalogue import ModelCatalogue
    from omnivec.services.embeddings import EmbeddingService
    from omnivec.types import BlobPart, EmbedInput, EmbedOptions, TextPart

    catalogue = ModelCatalogue({"eg2": describe(mm_runtime.runners["eg2"].backend.info)}, {})
    service = EmbeddingService(mm_runtime, catalogue, decoder=_BlankDocuments())
    strict = EmbedOptions(auto_truncate=False)
    inputs = [
        EmbedInput((TextPart("kept"),)),
        EmbedInput((TextPart("strict"),), strict),
        EmbedInput((BlobPart("application/pdf", b"%PDF"),), strict),
    ]
    with pytest.raises(InvalidArgument) as refused:
        await service.embed("eg2", inputs)
    [violation] = refused.value.violations
    assert violation.field == "requests[2].content"
    assert "nothing to embed" in violation.description
