"""Tiny random-weight checkpoints of every multimodal architecture omnivec serves.

Each builder creates the model from its own config class with tiny sizes, saves it with
``save_pretrained`` next to a processor built in memory, and returns the directory. The backends
then load these directories through ``load_backend``: the same code path as a real checkpoint.
Sizes follow transformers' own model testers (hidden 32, 2 layers, odd intermediate sizes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

_LETTERS = list("abcdefghijklmnopqrstuvwxyz0123456789.,:|!?'-")


def _seeded() -> None:
    # Random weights, but the same ones on every run: failures reproduce.
    torch.manual_seed(0)


def _tower(**extra: Any) -> dict[str, Any]:
    """A transformer tower at the testers' tiny sizes (odd intermediate size catches shape bugs)."""
    return {
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        **extra,
    }


def _byte_tokens() -> list[str]:
    return [f"<0x{i:02X}>" for i in range(256)]


def gemma_tokenizer(extra_special: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """A GemmaTokenizer with byte fallback: any text tokenises, as with the real vocabulary."""
    from transformers import GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    extra = list((extra_special or {}).values())
    pieces = specials + extra + _byte_tokens() + ["▁"] + _LETTERS + ["▁" + c for c in _LETTERS]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(pieces))}
    return GemmaTokenizer(
        vocab=vocab,
        merges=[],
        add_bos_token=True,
        add_eos_token=True,
        extra_special_tokens=extra_special or {},
        **kwargs,
    )


def build_clip(directory: Path) -> Path:
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    _seeded()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in _LETTERS:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = CLIPConfig(
        text_config=_tower(
            vocab_size=len(vocab), max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1
        ),
        vision_config=_tower(image_size=32, patch_size=8),
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(directory)
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(directory)
    return directory


# SigLIP's text tower: 64 positions (its trained length), ids of the Gemma tokenizer used here.
_SIGLIP_TEXT = {"max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 1}


def build_siglip2(directory: Path) -> Path:
    from transformers import Siglip2Config, Siglip2Model, Siglip2Processor
    from transformers.models.siglip2.image_processing_pil_siglip2 import Siglip2ImageProcessorPil

    images = Siglip2ImageProcessorPil(patch_size=16, max_num_patches=256)
    vision = _tower(patch_size=16, num_patches=256)
    return _save_siglip(directory, (Siglip2Config, Siglip2Model, Siglip2Processor), images, vision)


def build_siglip(directory: Path) -> Path:
    from transformers import SiglipConfig, SiglipModel, SiglipProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    images = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    vision = _tower(image_size=32, patch_size=8)
    return _save_siglip(directory, (SiglipConfig, SiglipModel, SiglipProcessor), images, vision)


def _save_siglip(directory: Path, classes: tuple[Any, Any, Any], images: Any, vision: dict[str, Any]) -> Path:
    config_class, model_class, processor_class = classes
    _seeded()
    tokenizer = gemma_tokenizer(model_max_length=64)
    config = config_class(text_config=_tower(vocab_size=len(tokenizer), **_SIGLIP_TEXT), vision_config=vision)
    model_class(config).save_pretrained(directory)
    processor_class(image_processor=images, tokenizer=tokenizer).save_pretrained(directory)
    return directory


def build_clap(directory: Path) -> Path:
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, RobertaTokenizer

    _seeded()
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>", *_LETTERS, "Ġ"])}
    for c in _LETTERS:
        vocab.setdefault("Ġ" + c, len(vocab))
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=512)
    features = ClapFeatureExtractor(
        feature_size=16, sampling_rate=48_000, max_length_s=2, truncation="rand_trunc", padding="repeatpad"
    )
    config = ClapConfig(
        text_config=_tower(vocab_size=len(vocab), max_position_embeddings=514, projection_dim=16),
        audio_config={
            "spec_size": 64,
            "num_mel_bins": 16,
            "patch_size": 4,
            "depths": [1, 1],
            "num_attention_heads": [2, 2],
            "patch_embeds_hidden_size": 16,
            "hidden_size": 32,
            "window_size": 4,
            "enable_fusion": False,
            "projection_dim": 16,
        },
        projection_dim=16,
    )
    ClapModel(config).save_pretrained(directory)
    ClapProcessor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(directory)
    return directory


# EmbeddingGemma 2 --------------------------------------------------------------------------------

EG2_SPECIAL_TOKENS = {
    "image_token": "<|image|>",
    "boi_token": "<|image>",
    "eoi_token": "<image|>",
    "audio_token": "<|audio|>",
    "boa_token": "<|audio>",
    "eoa_token": "<audio|>",
    "video_token": "<|video|>",
}

# Like the transformers test template: system turns first, then the user content in order, with
# a placeholder per media item. It writes no BOS, so the tokenizer adds BOS ... EOS, as it does for
# a text-only checkpoint: the text sequences of both agree.
EG2_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{ item['text'] }}"
    "{%- elif item['type'] == 'image' -%}<|image|>"
    "{%- elif item['type'] == 'audio' -%}<|audio|>"
    "{%- elif item['type'] == 'video' -%}<|video|>"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- endfor -%}"
)


def _eg2_text_config(vocab_size: int) -> dict[str, Any]:
    return {
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 8,
        "sliding_window": 4,
        "hidden_size_per_layer_input": 16,
        "embedding_dim": 24,
        "layer_types": ["sliding_attention", "full_attention"],
        "per_layer_config": {1: {"head_dim": 16}},
        "max_position_embeddings": 8192,
    }


def build_embeddinggemma2(directory: Path, *, video_max_frames: int = 4) -> Path:
    """The full model (text, vision and audio towers) and its processor files.

    ``EmbeddingGemma2Processor`` cannot be constructed without torchvision (its video processor
    needs it), so its ``processor_config.json`` is written here in the layout
    ``ProcessorMixin.save_pretrained`` produces: one file with every sub-processor nested.
    """
    from transformers import EmbeddingGemma2Config, EmbeddingGemma2Model, Gemma4AudioFeatureExtractor
    from transformers.models.gemma4.image_processing_pil_gemma4 import Gemma4ImageProcessorPil

    _seeded()
    tokenizer = gemma_tokenizer(EG2_SPECIAL_TOKENS)
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in EG2_SPECIAL_TOKENS.items()}
    config = EmbeddingGemma2Config(
        text_config=_eg2_text_config(len(tokenizer)),
        vision_config={
            "model_type": "gemma4_vision",
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 1,
            "head_dim": 8,
            "patch_size": 16,
            "pooling_kernel_size": 3,
        },
        audio_config={
            "model_type": "gemma4_audio",
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "subsampling_conv_channels": [128, 8],
            "output_proj_dims": 32,
        },
        image_token_id=ids["image_token"],
        boi_token_id=ids["boi_token"],
        eoi_token_id=ids["eoi_token"],
        audio_token_id=ids["audio_token"],
        boa_token_id=ids["boa_token"],
        eoa_token_index=ids["eoa_token"],
        video_token_id=ids["video_token"],
    )
    EmbeddingGemma2Model(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    images = Gemma4ImageProcessorPil(patch_size=16, max_soft_tokens=70, pooling_kernel_size=3)
    audio = Gemma4AudioFeatureExtractor()
    processor = {
        "processor_class": "EmbeddingGemma2Processor",
        "image_seq_length": 70,
        "audio_seq_length": 750,
        "audio_ms_per_token": 40,
        "image_processor": json.loads(images.to_json_string()),
        "feature_extractor": json.loads(audio.to_json_string()),
        "video_processor": {
            "video_processor_type": "EmbeddingGemma2VideoProcessor",
            "patch_size": 16,
            "max_soft_tokens": 70,
            "pooling_kernel_size": 3,
            "fps": 1,
            "max_frames": video_max_frames,
            "overflow_strategy": "uniform",
            "add_timestamps": False,
            **_pixel_scaling(mean=0.0, std=1.0),
        },
    }
    _write_processor(directory, processor, EG2_CHAT_TEMPLATE)
    write_st_pipeline(directory, pooling="mean", dims=24, prompts=_GEMMA_PROMPTS)
    return directory


# A short context keeps the over-long-input tests cheap (the real model's is 8192).
EG2_MAX_SEQ_LENGTH = 512
_GEMMA_PROMPTS = {"query": "task: search result | query: ", "document": "title: none | text: "}


def build_embeddinggemma2_text(directory: Path, full_model_dir: Path | None = None) -> Path:
    """A text-only checkpoint (``EmbeddingGemma2TextModel``). Given the full model's directory,
    it is that model's own text tower, so their text vectors must agree."""
    from transformers import EmbeddingGemma2Model, EmbeddingGemma2TextConfig, EmbeddingGemma2TextModel

    _seeded()
    tokenizer = gemma_tokenizer(EG2_SPECIAL_TOKENS)
    if full_model_dir is not None:
        full = EmbeddingGemma2Model.from_pretrained(full_model_dir)
        full.language_model.save_pretrained(directory)
    else:
        EmbeddingGemma2TextModel(
            EmbeddingGemma2TextConfig(**_eg2_text_config(len(tokenizer)))
        ).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    write_st_pipeline(directory, pooling="mean", dims=24, prompts=_GEMMA_PROMPTS)
    return directory


def _pixel_scaling(*, mean: float, std: float) -> dict[str, Any]:
    return {
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [mean] * 3,
        "image_std": [std] * 3,
    }


def _write_processor(directory: Path, processor: dict[str, Any], chat_template: str) -> None:
    """A processor whose class cannot be built here (its video processor needs torchvision),
    saved in ``ProcessorMixin.save_pretrained``'s layout: sub-processors nested in one file."""
    (directory / "processor_config.json").write_text(json.dumps(processor, indent=2))
    (directory / "chat_template.jinja").write_text(chat_template)


def write_st_pipeline(
    directory: Path, *, pooling: str, dims: int, prompts: dict[str, str] | None = None
) -> None:
    """The sentence-transformers files of a Transformer -> Pooling -> Normalize model."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.base.modules.normalize.Normalize"},
    ]  # fmt: skip
    (directory / "modules.json").write_text(json.dumps(modules, indent=2))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(
        json.dumps({"embedding_dimension": dims, "pooling_mode": pooling, "include_prompt": True})
    )
    (directory / "2_Normalize").mkdir(exist_ok=True)
    (directory / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": prompts or {}, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    )
    (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": EG2_MAX_SEQ_LENGTH}))


# Qwen3-VL-Embedding -----------------------------------------------------------------------------

QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# The Qwen3-VL chat template, reduced to what an embedding input uses.
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{ item['text'] }}"
    "{%- elif item['type'] == 'image' -%}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif item['type'] == 'video' -%}<|vision_start|><|video_pad|><|vision_end|>"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{{ '<|im_end|>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
)


def build_qwen3_vl(directory: Path) -> Path:
    from transformers import Qwen2TokenizerFast, Qwen3VLConfig, Qwen3VLModel  # type: ignore[attr-defined]

    _seeded()
    byte_level = [chr(c) for c in range(33, 127)] + ["Ġ", "Ċ"]
    vocab = {t: i for i, t in enumerate(byte_level)}
    tokenizer = Qwen2TokenizerFast(
        vocab=vocab,
        merges=[],
        unk_token=None,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        model_max_length=1024,  # short, to keep the over-long-input tests cheap
    )
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL_TOKENS})
    token_id = tokenizer.convert_tokens_to_ids
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 8,
            "max_position_embeddings": 8192,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 1, 1],
                "mrope_interleaved": True,
            },
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_heads": 4,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "out_hidden_size": 32,
            "num_position_embeddings": 16,
            "deepstack_visual_indexes": [0, 1],
        },
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
    )
    Qwen3VLModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    images = Qwen2VLImageProcessorPil(
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64},
    )
    processor = {
        "processor_class": "Qwen3VLProcessor",
        "image_processor": json.loads(images.to_json_string()),
        "video_processor": {
            "video_processor_type": "Qwen3VLVideoProcessor",
            "patch_size": 16,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "size": {"shortest_edge": 32 * 32, "longest_edge": 64 * 64 * 4},
            "fps": 1,
            "min_frames": 2,
            "max_frames": 8,
            **_pixel_scaling(mean=0.5, std=0.5),
        },
    }
    _write_processor(directory, processor, QWEN_CHAT_TEMPLATE)
    return directory
