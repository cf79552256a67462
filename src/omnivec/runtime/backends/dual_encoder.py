"""Dual encoders: CLIP, SigLIP, SigLIP 2 (text + image) and CLAP (text + audio).

Each tower embeds one thing at a time, so a Content with several parts becomes the L2-normalised
mean of its per-part vectors (all text parts of a Content form one passage and one vector). Parts
the towers cannot take whole are split and averaged the same way: a video is the mean of its
frames (at 1 fps, at most 32 — the usual CLIP video baseline), audio longer than CLAP's window is
the mean of equal windows (CLAP's own long-audio modes crop at random), a PDF is the mean of its
page images and page texts.

Preprocessing is the checkpoint's own processor with its own defaults (SigLIP 2 pads text to 64
tokens, as trained); the vectors are the model's ``get_*_features`` outputs. Runs in float32 on
every device: the towers are small and half precision would move the vectors.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from omnivec.errors import ModelLoadError
from omnivec.media.types import DecodedAudio, DecodedDocument, DecodedImage, DecodedVideo
from omnivec.runtime.backends.base import BackendInfo, InputError, InputTooLong, preparing, refuse_start_cut
from omnivec.runtime.backends.device import resolve_device
from omnivec.runtime.backends.media_parts import (
    audio_at,
    audio_windows,
    check_modalities,
    document_pieces,
    image_of,
    l2_normalised,
    rgb,
    sample_frames,
)
from omnivec.runtime.backends.model_dir import LoadRequest
from omnivec.runtime.backends.prompts import prompted_parts
from omnivec.runtime.backends.registry import ModelFamily, register
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.types import Modality, PromptStyle

_MAX_VIDEO_FRAMES = 32
_VIDEO_FPS = 1.0
# Sequences per tower call, so one Content with a long video cannot take all device memory.
_SUB_BATCH = 64
_METHODS = {
    Modality.TEXT: "get_text_features",
    Modality.IMAGE: "get_image_features",
    Modality.AUDIO: "get_audio_features",
}


@dataclass(frozen=True, slots=True)
class _Family:
    media: Modality  # the second tower
    text_kwargs: dict[str, Any] = field(default_factory=dict)
    position_offset: int = 0  # positions the text tower reserves (RoBERTa keeps two)


ARCHITECTURES: dict[str, _Family] = {
    "clip": _Family(Modality.IMAGE),
    # SigLIP was trained on text padded to its full length; its processor does not say so itself.
    "siglip": _Family(Modality.IMAGE, {"padding": "max_length"}),
    "siglip2": _Family(Modality.IMAGE),
    "clap": _Family(Modality.AUDIO, position_offset=2),
}

_MODALITIES = {
    Modality.IMAGE: frozenset({Modality.TEXT, Modality.IMAGE, Modality.VIDEO, Modality.DOCUMENT}),
    Modality.AUDIO: frozenset({Modality.TEXT, Modality.AUDIO}),
}


@dataclass(frozen=True, slots=True)
class _Segment:
    """One sequence for one tower; ``part`` says which part of the Content it belongs to."""

    part: int
    tower: Modality
    features: dict[str, np.ndarray]  # the processor's output for this one sequence (batch of 1)


class DualEncoderBackend:
    def __init__(
        self, model: Any, processor: Any, family: _Family, info: BackendInfo, device: torch.device
    ) -> None:
        self.model = model
        self.processor = processor
        self.family = family
        self.info = info
        self.device = device
        self.tokenizer = processor.tokenizer
        self._sampling_rate = info.audio_sample_rate or 0
        # The fast tokenizer keeps its truncation settings in shared state, and prepare runs on
        # several worker threads: text processing takes turns.
        self._text_lock = threading.Lock()
        self._audio_window = int(
            getattr(getattr(processor, "feature_extractor", None), "nb_max_samples", 0) or 0
        )

    @classmethod
    def load(cls, request: LoadRequest) -> DualEncoderBackend:
        from transformers import AutoModel, AutoProcessor

        directory = request.open_directory()
        model_type = directory.model_type or ""
        family = ARCHITECTURES.get(model_type)
        if family is None:
            raise ModelLoadError(
                f"{request.source} is a {model_type or 'unknown'} model, not a dual encoder."
            )
        torch_device = resolve_device(request.device)
        model = AutoModel.from_pretrained(directory.module, local_files_only=True, dtype=torch.float32)
        model.to(torch_device).eval()
        processor = AutoProcessor.from_pretrained(directory.module, local_files_only=True)
        text_config = model.config.text_config
        positions = int(getattr(text_config, "max_position_embeddings", 512)) - family.position_offset
        max_tokens = min(int(processor.tokenizer.model_max_length), positions)
        accepted = _MODALITIES[family.media] & request.wanted
        audio_rate = processor.feature_extractor.sampling_rate if family.media is Modality.AUDIO else None
        with torch.inference_mode():  # the width of the shared space, as the text tower outputs it
            probe = processor(text=["a"], return_tensors="pt", **family.text_kwargs)
            probe = {k: v.to(torch_device) for k, v in probe.items()}
            dimensions = int(model.get_text_features(**probe).pooler_output.shape[-1])
        info = BackendInfo(
            model_id=request.model_id,
            dimensions=dimensions,
            max_tokens=max_tokens,
            modalities=accepted,
            matryoshka=False,
            prompt_style=request.style(directory, PromptStyle.NONE),
            normalized=True,
            source=request.source,
            description=f"{type(model).__name__} dual encoder (text and {family.media.value.lower()} "
            "towers); the parts of one content are averaged.",
            audio_sample_rate=int(audio_rate) if audio_rate else None,
        )
        return cls(model, processor, family, info, torch_device)

    # --- CPU step -------------------------------------------------------------------------
    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = []
        for index, item in enumerate(inputs):
            with preparing(index):
                prepared.append(self._prepare_one(index, item, auto_truncate))
        return prepared

    def _prepare_one(self, index: int, item: ModelInput, auto_truncate: bool) -> PreparedItem:
        check_modalities(self.info.model_id, index, item.parts, self.info.modalities)
        segments: list[_Segment] = []
        tokens: dict[Modality, int] = {}
        truncated = False
        parts = prompted_parts(self.info.prompt_style, item.parts, item.task, item.title, interleaved=False)
        texts = [p for p in parts if isinstance(p, str)]
        if texts:
            segment, n, truncated = self._text(0, "\n".join(texts), index, auto_truncate)
            if truncated:
                refuse_start_cut(index, item, self.info.model_id)
            segments.append(segment)
            tokens[Modality.TEXT] = n
        media = [p for p in item.parts if not isinstance(p, str)]
        for number, part in enumerate(media, start=len(segments)):
            for segment, modality, n, cut in self._media(number, part, index):
                segments.append(segment)
                tokens[modality] = tokens.get(modality, 0) + n
                truncated |= cut
        if not segments:
            raise InputError(index, "nothing to embed (no text, and no pages with content)")
        cost = sum(self._sequence_length(s) for s in segments)
        total = sum(tokens.values())
        return PreparedItem(cost, total, segments, truncated, tokens)

    def _text(self, part: int, text: str, index: int, auto_truncate: bool) -> tuple[_Segment, int, bool]:
        limit = self.info.max_tokens
        kwargs = {"truncation": True, "max_length": limit, **self.family.text_kwargs}
        with self._text_lock:
            n = len(self.tokenizer(text, truncation=False, verbose=False)["input_ids"])
            truncated = n > limit
            if truncated and not auto_truncate:
                raise InputTooLong(index, n, limit)
            features = dict(self.processor(text=[text], return_tensors="np", **kwargs))
        return _Segment(part, Modality.TEXT, features), min(n, limit), truncated

    def _media(self, part: int, media: Any, index: int) -> list[tuple[_Segment, Modality, int, bool]]:
        """The segments of one media part, each with the modality its tokens count under and
        whether its text was cut."""
        if isinstance(media, DecodedImage):
            return [self._image(part, image_of(media), Modality.IMAGE)]
        if isinstance(media, DecodedVideo):
            frames = sample_frames(media, fps=_VIDEO_FPS, max_frames=_MAX_VIDEO_FRAMES)
            return [self._image(part, image, Modality.VIDEO) for image in frames.images()]
        if isinstance(media, DecodedAudio):
            samples = audio_at(media, self._sampling_rate)
            return [
                self._audio(part, window)
                for window in audio_windows(samples, self._audio_window or samples.size)
            ]
        if isinstance(media, DecodedDocument):
            out = []
            for piece in document_pieces(media, with_images=Modality.IMAGE in self.info.modalities):
                if piece.image is not None:
                    out.append(self._image(part, rgb(piece.image), Modality.DOCUMENT))
                else:  # a page's text is cut to the text tower's length, like a long passage
                    segment, n, cut = self._text(part, piece.text or "", index, auto_truncate=True)
                    out.append((segment, Modality.DOCUMENT, n, cut))
            return out
        raise TypeError(f"not a decoded media part: {type(media).__name__}")

    def _image(self, part: int, image: Any, counted_as: Modality) -> tuple[_Segment, Modality, int, bool]:
        features = dict(self.processor(images=[image], return_tensors="np"))
        segment = _Segment(part, Modality.IMAGE, features)
        return segment, counted_as, self._sequence_length(segment), False

    def _audio(self, part: int, window: np.ndarray) -> tuple[_Segment, Modality, int, bool]:
        features = dict(
            self.processor(audio=[window], sampling_rate=self._sampling_rate, return_tensors="np")
        )
        segment = _Segment(part, Modality.AUDIO, features)
        return segment, Modality.AUDIO, self._sequence_length(segment), False

    def _sequence_length(self, segment: _Segment) -> int:
        """What a tower attends over for this segment: tokens, image patches, spectrogram patches."""
        f = segment.features
        if segment.tower is Modality.TEXT:
            return int(f["input_ids"].shape[-1])
        if "pixel_attention_mask" in f:  # SigLIP 2 (NaFlex): real patches only
            return int(f["pixel_attention_mask"].sum())
        config = self.model.config
        if segment.tower is Modality.IMAGE:
            vision = config.vision_config
            return (vision.image_size // vision.patch_size) ** 2 + 1
        audio = config.audio_config
        return (audio.spec_size // audio.patch_size) ** 2

    # --- device step ----------------------------------------------------------------------
    def forward(self, items: Sequence[PreparedItem]) -> Any:
        segments = [s for item in items for s in item.payload]
        vectors: dict[Modality, torch.Tensor] = {}
        with torch.inference_mode():
            for tower in (Modality.TEXT, Modality.IMAGE, Modality.AUDIO):
                rows = [s.features for s in segments if s.tower is tower]
                if rows:
                    chunks = [
                        self._run(tower, rows[i : i + _SUB_BATCH]) for i in range(0, len(rows), _SUB_BATCH)
                    ]
                    vectors[tower] = torch.cat(chunks)
        return vectors, [[(s.part, s.tower) for s in item.payload] for item in items]

    def _run(self, tower: Modality, rows: list[dict[str, np.ndarray]]) -> torch.Tensor:
        if tower is Modality.TEXT:
            keys = [k for k in rows[0] if k in ("input_ids", "attention_mask", "token_type_ids")]
            batch = self.tokenizer.pad(
                {k: [r[k][0].tolist() for r in rows] for k in keys}, return_tensors="pt"
            )
        else:
            batch = {k: torch.from_numpy(np.concatenate([r[k] for r in rows])) for k in rows[0]}
        features = {k: v.to(self.device) for k, v in batch.items()}
        output = getattr(self.model, _METHODS[tower])(**features)
        return output.pooler_output.float()

    def finalize(self, output: Any) -> np.ndarray:
        vectors, layouts = output
        matrices = {tower: l2_normalised(v.cpu().numpy()) for tower, v in vectors.items()}
        cursor = dict.fromkeys(matrices, 0)
        rows = []
        for layout in layouts:
            parts: dict[int, list[np.ndarray]] = {}
            for part, tower in layout:
                parts.setdefault(part, []).append(matrices[tower][cursor[tower]])
                cursor[tower] += 1
            part_vectors = l2_normalised(np.stack([np.mean(v, axis=0) for v in parts.values()]))
            rows.append(np.mean(part_vectors, axis=0))
        return l2_normalised(np.stack(rows))

    def close(self) -> None:
        self.model = None


FAMILY = register(ModelFamily("dual-encoder", DualEncoderBackend.load, model_types=frozenset(ARCHITECTURES)))
