"""Qwen3-VL-Embedding: text, images and video in one space, on the Qwen3-VL backbone.

As in the reference embedder: the instruction is the system turn (default "Represent the user's
input."), the content is the user turn in order, the assistant turn is opened, and the vector is
the last token's hidden state, L2-normalised. The task's instruction (the Qwen3 text
convention's ``Instruct:``) goes into the system turn.

``Qwen3VLProcessor`` cannot be built without torchvision (its video processor needs it). Images go
through the checkpoint's ``Qwen2VLImageProcessor`` (PIL); video frames are prepared here exactly as
``Qwen3VLVideoProcessor`` does — its ``smart_resize`` for the frame size, rescale and normalise with
its mean/std, frames grouped by ``temporal_patch_size`` and patchified in its layout, each group
announced by its ``<t seconds>`` timestamp — with PIL's bicubic resize in place of torchvision's.
No audio: the model has no audio tower, and a video's audio track is not used.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import torch

from omnivec.media.types import DecodedImage, DecodedVideo
from omnivec.runtime.backends.base import BackendInfo
from omnivec.runtime.backends.device import resolve_device
from omnivec.runtime.backends.interleaved import (
    Element,
    InterleavedBackend,
    MediaRun,
    context_limit,
    inference_dtype,
    last_token_pool,
    stack,
)
from omnivec.runtime.backends.media_parts import image_of, sample_frames
from omnivec.runtime.backends.model_dir import LoadRequest
from omnivec.runtime.backends.prompts import instructed
from omnivec.runtime.backends.registry import ModelFamily, register
from omnivec.runtime.inputs import ModelInput
from omnivec.types import Modality, PromptStyle

DEFAULT_INSTRUCTION = "Represent the user's input."
# The reference embedder's default maximum length.
_CONTEXT = 8192
# Qwen3VLVideoProcessor's defaults, for checkpoints whose config does not say.
_VIDEO_DEFAULTS: dict[str, Any] = {
    "patch_size": 16,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "size": {"shortest_edge": 128 * 32 * 32, "longest_edge": 32 * 32 * 768},
    "fps": 2,
    "max_frames": 768,
    "rescale_factor": 1 / 255,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
    "max_video_tokens": 768,
}


class Qwen3VLEmbeddingBackend(InterleavedBackend):
    add_generation_prompt = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        info: BackendInfo,
        device: torch.device,
        *,
        image_processor: Any,
        video: dict[str, Any],
    ) -> None:
        config = model.config
        token = tokenizer.convert_ids_to_tokens
        self.info = info
        self.image_id, self.video_id = config.image_token_id, config.video_token_id
        self.vision_start, self.vision_end = config.vision_start_token_id, config.vision_end_token_id
        self.placeholders = {"image": token(self.image_id), "video": token(self.video_id)}
        self.reserved = (token(self.vision_start), token(self.vision_end), "<|im_start|>", "<|im_end|>")
        super().__init__(model, tokenizer, device)
        self.image_processor = image_processor
        self.video = {**_VIDEO_DEFAULTS, **video}

    @classmethod
    def load(cls, request: LoadRequest) -> Qwen3VLEmbeddingBackend:
        from transformers import AutoImageProcessor, AutoTokenizer, Qwen3VLModel

        directory = request.open_directory()
        torch_device = resolve_device(request.device)
        model: Any = Qwen3VLModel.from_pretrained(
            directory.module, local_files_only=True, dtype=inference_dtype(torch_device)
        )
        model.to(torch_device).eval()
        tokenizer = AutoTokenizer.from_pretrained(directory.module, local_files_only=True)
        video = directory.json("processor_config.json").get("video_processor") or directory.json(
            "video_preprocessor_config.json"
        )
        accepted = frozenset({Modality.TEXT, Modality.IMAGE, Modality.VIDEO, Modality.DOCUMENT})
        info = BackendInfo(
            model_id=request.model_id,
            dimensions=int(model.config.text_config.hidden_size),
            max_tokens=context_limit(directory.st_max_seq_length, tokenizer, _CONTEXT),
            modalities=accepted & request.wanted,
            matryoshka=True,
            prompt_style=request.style(directory, PromptStyle.QWEN3),
            normalized=True,
            source=request.source,
            description="Qwen3-VL embedding model (text, image, video, document); the parts of one content "
            "are embedded together, in order.",
            interleaved=True,
        )
        image_processor = AutoImageProcessor.from_pretrained(directory.module)
        backend = cls(model, tokenizer, info, torch_device, image_processor=image_processor, video=video)
        backend.check_template()
        return backend

    # --- prompts --------------------------------------------------------------------------
    def prompt(self, item: ModelInput) -> tuple[str | None, tuple[Any, ...]]:
        """The task instruction goes in the system turn; the title is the first text's first line."""
        first = next((i for i, p in enumerate(item.parts) if isinstance(p, str)), None)
        if first is None:
            return None, item.parts
        instruction, text = instructed(item.parts[first], item.task, item.title)
        if instruction and not unicodedata.category(instruction[-1]).startswith("P"):
            instruction += "."  # the reference embedder ends instructions with punctuation
        return instruction, (*item.parts[:first], text, *item.parts[first + 1 :])

    def conversation(self, content: list[dict[str, Any]], instruction: str | None) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": [{"type": "text", "text": instruction or DEFAULT_INSTRUCTION}]},
            {"role": "user", "content": content},
        ]

    # --- media ----------------------------------------------------------------------------
    def media_elements(self, part: Any, index: int) -> list[Element]:
        if isinstance(part, DecodedImage):
            return [Element(run=self._image(image_of(part)))]
        if isinstance(part, DecodedVideo):
            return [Element(run=self._video(part))]
        raise TypeError(f"not a decoded media part: {type(part).__name__}")

    def _image(self, image: Any) -> MediaRun:
        out = self.image_processor(images=[image], return_tensors="np")
        merge = int(self.image_processor.merge_size)
        n = int(np.prod(out["image_grid_thw"][0])) // merge**2
        arrays = {"pixel_values": out["pixel_values"], "image_grid_thw": out["image_grid_thw"]}
        return MediaRun(
            "image", Modality.IMAGE, [self.image_id] * n, arrays, int(out["pixel_values"].shape[0])
        )

    def _video(self, video: DecodedVideo) -> MediaRun:
        s = self.video
        patch, temporal, merge = int(s["patch_size"]), int(s["temporal_patch_size"]), int(s["merge_size"])
        sampled = sample_frames(video, fps=float(s["fps"]), max_frames=int(s["max_frames"]))
        frames, times = sampled.frames, list(sampled.times)
        while len(frames) % temporal:  # whole temporal groups: repeat the last frame, as the processor does
            frames = np.concatenate([frames, frames[-1:]])
            times.append(times[-1])
        height, width = self._frame_size(len(frames), frames.shape[1], frames.shape[2])
        pixels = _normalised_frames(frames, height, width, s)  # (T, C, H, W)
        gt, gh, gw = len(frames) // temporal, height // patch, width // patch
        channels = pixels.shape[1]
        patches = pixels.reshape(gt, temporal, channels, gh // merge, merge, patch, gw // merge, merge, patch)
        patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gt * gh * gw, -1)
        per_frame = gh * gw // merge**2
        ids: list[int] = []
        for t in range(gt):
            stamp = (times[t * temporal] + times[t * temporal + temporal - 1]) / 2
            ids += self.tokenizer(f"<{stamp:.1f} seconds>", add_special_tokens=False)["input_ids"]
            ids += [self.vision_start, *[self.video_id] * per_frame, self.vision_end]
        arrays = {
            "pixel_values_videos": patches.astype(np.float32),
            "video_grid_thw": np.array([[gt, gh, gw]]),
        }
        return MediaRun("video", Modality.VIDEO, ids, arrays, int(patches.shape[0]))

    def _frame_size(self, frames: int, height: int, width: int) -> tuple[int, int]:
        from transformers.models.qwen3_vl.video_processing_qwen3_vl import smart_resize

        s = self.video
        factor = int(s["patch_size"]) * int(s["merge_size"])
        low, high = int(s["size"]["shortest_edge"]), int(s["size"]["longest_edge"])
        if s.get("cap_pixels_per_frame"):
            per_frame = max(
                min(int(s["max_video_tokens"]) * factor * factor, high // frames), int(low * 1.05)
            )
            high = per_frame * frames
        h, w = smart_resize(frames, height, width, int(s["temporal_patch_size"]), factor, low, high)
        return int(h), int(w)

    # --- device step ----------------------------------------------------------------------
    def media_inputs(self, runs: list[MediaRun]) -> dict[str, torch.Tensor]:
        media: dict[str, torch.Tensor] = {}
        for kind, pixels, grid in (
            ("image", "pixel_values", "image_grid_thw"),
            ("video", "pixel_values_videos", "video_grid_thw"),
        ):
            selected = [r for r in runs if r.kind == kind]
            if selected:
                media[pixels] = stack(selected, pixels)
                media[grid] = stack(selected, grid).long()
        return media

    def encode(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, media: dict[str, Any]
    ) -> torch.Tensor:
        # Which positions hold image (1) and video (2) features: the M-RoPE positions need it.
        token_types = (input_ids == self.image_id).long() + 2 * (input_ids == self.video_id).long()
        output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            mm_token_type_ids=token_types,
            use_cache=False,
            **media,
        )
        return output.last_hidden_state

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return last_token_pool(hidden, attention_mask)


def _normalised_frames(frames: np.ndarray, height: int, width: int, settings: dict[str, Any]) -> np.ndarray:
    from PIL import Image

    resized = [
        np.asarray(Image.fromarray(np.ascontiguousarray(f)).resize((width, height), Image.Resampling.BICUBIC))
        for f in frames
    ]
    pixels = np.stack(resized).astype(np.float32) * float(settings["rescale_factor"])
    mean = np.asarray(settings["image_mean"], dtype=np.float32)
    std = np.asarray(settings["image_std"], dtype=np.float32)
    return ((pixels - mean) / std).transpose(0, 3, 1, 2)


FAMILY = register(
    ModelFamily("qwen3-vl-embedding", Qwen3VLEmbeddingBackend.load, model_types=frozenset({"qwen3_vl"}))
)
