"""EmbeddingGemma 2: text, images, audio, video and their interleavings in one 768-d space (MRL).

Only the towers that are wanted are loaded: a text-only checkpoint (``EmbeddingGemma2TextModel``)
or a full one served with ``modalities = ["TEXT"]`` is the 270 M text backbone alone, and its text
vectors are the full model's. The vector is the masked mean of the projected last hidden state,
L2-normalised (the checkpoint's Transformer -> Pooling(mean) -> Normalize pipeline).

The checkpoint's ``EmbeddingGemma2Processor`` cannot be built without torchvision, because its
video processor needs it, so the backend uses the processor's parts directly: the tokenizer and
chat template, ``Gemma4ImageProcessor`` (PIL), ``Gemma4AudioFeatureExtractor``, and for video
the same image processor applied to each sampled frame with the video processor's settings
(frame budget, soft tokens per frame, rescale/normalise). That is the video processor's own
computation (aspect-preserving resize, patchify, pad), with PIL's resize in place of torchvision's.

Audio longer than one front-end window (30 s at the default settings, where the processor would
silently cut) is embedded as consecutive windows in the same sequence. A video's audio track,
when the media layer keeps it, follows the video's frames as audio; the per-second timestamped
interleaving of the reference processor is not reproduced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from omnivec.media.types import DecodedAudio, DecodedImage, DecodedVideo
from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.backends.device import resolve_device
from omnivec.runtime.backends.interleaved import (
    Element,
    InterleavedBackend,
    MediaRun,
    context_limit,
    inference_dtype,
    mean_pool,
    stack,
)
from omnivec.runtime.backends.media_parts import audio_at, audio_windows, image_of, sample_frames
from omnivec.runtime.backends.model_dir import LoadRequest
from omnivec.runtime.backends.registry import ModelFamily, register
from omnivec.types import Modality, PromptStyle

# The trained context (model card): 8192 tokens shared by text and media.
_CONTEXT = 8192
_VISION = frozenset({Modality.IMAGE, Modality.VIDEO, Modality.DOCUMENT})
# EmbeddingGemma2VideoProcessor's defaults, for checkpoints whose config does not say.
_VIDEO_DEFAULTS: dict[str, Any] = {"fps": 1, "max_frames": 32, "max_soft_tokens": 70}


class EmbeddingGemma2Backend(InterleavedBackend):
    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        info: BackendInfo,
        device: torch.device,
        *,
        image_processor: Any = None,
        feature_extractor: Any = None,
        video: dict[str, Any] | None = None,
        audio_window_s: float = 30.0,
    ) -> None:
        config = model.config
        self.info = info
        self.text_only = not hasattr(config, "text_config")
        token = tokenizer.convert_ids_to_tokens
        self.ids: dict[str, int] = {}
        if not self.text_only:
            self.ids = {
                "image": config.image_token_id,
                "video": config.video_token_id,
                "audio": config.audio_token_id,
                "boi": config.boi_token_id,
                "eoi": config.eoi_token_id,
                "boa": config.boa_token_id,
                "eoa": config.eoa_token_index,
            }
        self.placeholders = {
            kind: token(self.ids[kind]) for kind in ("image", "video", "audio") if kind in self.ids
        }
        self.reserved = tuple(token(self.ids[k]) for k in ("boi", "eoi", "boa", "eoa") if k in self.ids)
        super().__init__(model, tokenizer, device)
        self.image_processor = image_processor
        self.feature_extractor = feature_extractor
        self.video = {**_VIDEO_DEFAULTS, **(video or {})}
        self.audio_window_s = audio_window_s

    @classmethod
    def load(cls, request: LoadRequest) -> EmbeddingGemma2Backend:
        from transformers import (
            AutoFeatureExtractor,
            AutoImageProcessor,
            AutoTokenizer,
            EmbeddingGemma2Model,
            EmbeddingGemma2TextModel,
        )

        directory = request.open_directory()
        wanted = request.wanted
        torch_device = resolve_device(request.device)
        dtype = inference_dtype(torch_device)
        common: dict[str, Any] = {"local_files_only": True, "dtype": dtype}
        model: Any
        if directory.model_type == "embedding_gemma2_text":
            model = EmbeddingGemma2TextModel.from_pretrained(directory.module, **common)
        else:
            # A tower that is not wanted is not even built; its weights are skipped on load.
            drop: dict[str, Any] = {"vision_config": None} if not wanted & _VISION else {}
            drop |= {"audio_config": None} if Modality.AUDIO not in wanted else {}
            model = EmbeddingGemma2Model.from_pretrained(directory.module, **common, **drop)
        model.to(torch_device).eval()
        tokenizer = AutoTokenizer.from_pretrained(directory.module, local_files_only=True)
        vision = getattr(model, "vision_tower", None) is not None
        audio = getattr(model, "audio_tower", None) is not None
        processor = directory.json("processor_config.json")
        video = processor.get("video_processor") or directory.json("video_preprocessor_config.json")
        feature_extractor = AutoFeatureExtractor.from_pretrained(directory.module) if audio else None
        accepted = {Modality.TEXT} | (_VISION if vision else set()) | ({Modality.AUDIO} if audio else set())
        seconds_per_token = float(processor.get("audio_ms_per_token", 40)) / 1000
        info = BackendInfo(
            model_id=request.model_id,
            dimensions=int(getattr(model.config, "text_config", model.config).embedding_dim),
            max_tokens=context_limit(directory.st_max_seq_length, tokenizer, _CONTEXT),
            modalities=frozenset(accepted) & wanted,
            matryoshka=True,
            prompt_style=request.style(directory, PromptStyle.GEMMA),
            normalized=True,
            source=request.source,
            description=f"EmbeddingGemma 2 ({', '.join(sorted(m.value.lower() for m in accepted))}); "
            "the parts of one content are embedded together, in order.",
            interleaved=True,
            audio_sample_rate=int(feature_extractor.sampling_rate) if feature_extractor else None,
        )
        backend = cls(
            model,
            tokenizer,
            info,
            torch_device,
            image_processor=AutoImageProcessor.from_pretrained(directory.module) if vision else None,
            feature_extractor=feature_extractor,
            video=video,
            audio_window_s=int(processor.get("audio_seq_length", 750)) * seconds_per_token,
        )
        backend.check_template()
        return backend

    # --- media ----------------------------------------------------------------------------
    def media_elements(self, part: Any, index: int) -> list[Element]:
        if isinstance(part, DecodedImage):
            return [Element(run=self._image(image_of(part)))]
        if isinstance(part, DecodedVideo):
            elements = [Element(run=self._video(part))]
            if part.audio is not None and Modality.AUDIO in self.info.modalities:
                elements.extend(self._audio(part.audio))
            return elements
        if isinstance(part, DecodedAudio):
            return self._audio(part)
        raise TypeError(f"not a decoded media part: {type(part).__name__}")

    def _image(self, image: Any) -> MediaRun:
        out = self.image_processor(images=[image], return_tensors="np")
        n = int(out["num_soft_tokens_per_image"][0])
        arrays = {"pixel_values": out["pixel_values"], "image_position_ids": out["image_position_ids"]}
        run = [self.ids["boi"], *[self.ids["image"]] * n, self.ids["eoi"]]
        return MediaRun("image", Modality.IMAGE, run, arrays, self._patches(out["image_position_ids"]))

    def _video(self, video: DecodedVideo) -> MediaRun:
        settings = self.video
        frames = sample_frames(
            video, fps=settings.get("fps"), max_frames=int(settings.get("max_frames") or 0)
        )
        overrides = {
            k: settings[k]
            for k in ("max_soft_tokens", "patch_size", "pooling_kernel_size", "do_rescale", "rescale_factor",
                      "do_normalize", "image_mean", "image_std")
            if k in settings
        }  # fmt: skip
        out = self.image_processor(images=frames.images(), return_tensors="np", **overrides)
        per_frame = [int(n) for n in out["num_soft_tokens_per_image"]]
        run = [t for n in per_frame for t in (self.ids["boi"], *[self.ids["video"]] * n, self.ids["eoi"])]
        arrays = {"pixel_values_videos": out["pixel_values"], "video_position_ids": out["image_position_ids"]}
        return MediaRun("video", Modality.VIDEO, run, arrays, self._patches(out["image_position_ids"]))

    def _audio(self, audio: DecodedAudio) -> list[Element]:
        from transformers.models.embedding_gemma2.processing_embedding_gemma2 import EmbeddingGemma2Processor

        rate = int(self.feature_extractor.sampling_rate)
        samples = audio_at(audio, rate)
        window = max(1, int(self.audio_window_s * rate))
        elements = []
        for piece in audio_windows(samples, window):
            out = self.feature_extractor([piece], sampling_rate=rate, max_length=window, return_tensors="np")
            n = int(EmbeddingGemma2Processor.compute_sscp(out["input_features_mask"][0]))
            arrays = {
                "input_features": out["input_features"],
                "input_features_mask": out["input_features_mask"],
            }
            run = [self.ids["boa"], *[self.ids["audio"]] * n, self.ids["eoa"]]
            elements.append(Element(run=MediaRun("audio", Modality.AUDIO, run, arrays, n)))
        return elements

    @staticmethod
    def _patches(positions: np.ndarray) -> int:
        return int((positions != -1).all(axis=-1).sum())

    # --- device step ----------------------------------------------------------------------
    def media_inputs(self, runs: list[MediaRun]) -> dict[str, torch.Tensor]:
        media: dict[str, torch.Tensor] = {}
        images = [r for r in runs if r.kind == "image"]
        if images:
            media["pixel_values"] = stack(images, "pixel_values")
            media["image_position_ids"] = stack(images, "image_position_ids")
        videos = [r for r in runs if r.kind == "video"]
        if videos:
            media["pixel_values_videos"] = stack(videos, "pixel_values_videos")
            media["video_position_ids"] = stack(videos, "video_position_ids")
            frames = [r.arrays["pixel_values_videos"].shape[0] for r in videos]
            media["num_frames_per_video"] = torch.tensor(frames, dtype=torch.long)
        audios = [r for r in runs if r.kind == "audio"]
        if audios:  # windows differ in length: pad the features, the mask marks what is real
            width = max(r.arrays["input_features"].shape[1] for r in audios)
            bins = audios[0].arrays["input_features"].shape[2]
            features = np.zeros((len(audios), width, bins), dtype=np.float32)
            mask = np.zeros((len(audios), width), dtype=bool)
            for i, r in enumerate(audios):
                length = r.arrays["input_features"].shape[1]
                features[i, :length] = r.arrays["input_features"][0]
                mask[i, :length] = r.arrays["input_features_mask"][0]
            media["input_features"] = torch.from_numpy(features)
            media["input_features_mask"] = torch.from_numpy(mask)
        return media

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, media: dict[str, Any]
    ) -> torch.Tensor:
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, **media)
        return output.last_hidden_state

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return mean_pool(hidden, attention_mask)


FAMILY = register(
    ModelFamily(
        "embedding-gemma2",
        EmbeddingGemma2Backend.load,
        model_types=frozenset({"embedding_gemma2", "embedding_gemma2_text"}),
    )
)
