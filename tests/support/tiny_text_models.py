"""Tiny random-weight text models built from config classes, saved like real checkpoints.

They exercise the real loading path (config parsing, AutoModel resolution, tokenizer files,
pooling, normalisation) without any download. Recipes follow models.md §8.
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = [
    "the", "a", "cat", "dog", "sat", "on", "mat", "red", "planet", "mars", "is", "stock", "market",
    "fell", "today", "which", "what", "how", "brain", "works", "wood", "life", "meaning", "of",
]  # fmt: skip


def _seed() -> None:
    torch.manual_seed(0)


def _save_sentence_transformer(
    model: object,
    tokenizer: object,
    directory: Path,
    *,
    max_seq_length: int,
    pooling: str,
    name: str = "st",
    prompts: dict[str, str] | None = None,
) -> Path:
    """Save the HF model and tokenizer, wrap them in Transformer + Pooling + Normalize, save that."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    hf = directory / "hf"
    model.save_pretrained(hf)  # type: ignore[attr-defined]
    tokenizer.save_pretrained(hf)  # type: ignore[attr-defined]
    modules = [Transformer(str(hf), max_seq_length=max_seq_length), Pooling(32, pooling), Normalize()]
    st = SentenceTransformer(modules=modules, prompts=prompts, device="cpu")
    out = directory / name
    st.save(str(out))
    return out


def build_bert_mean(directory: Path) -> Path:
    """all-MiniLM-like: BERT + mean pooling + Normalize."""
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]

    _seed()
    vocab = {
        t: i
        for i, t in enumerate(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
        )
    }
    tok = BertTokenizerFast(vocab=vocab)
    model = BertModel(
        BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            max_position_embeddings=64,
        )
    )
    return _save_sentence_transformer(model, tok, directory, max_seq_length=48, pooling="mean")


def build_xlmr_cls(directory: Path) -> Path:
    """bge-m3 / arctic-like: XLM-R + CLS pooling + Normalize; e5 prompt naming."""
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast  # type: ignore[attr-defined]

    _seed()
    pieces = (
        [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        + [(f"▁{w}", -1.0) for w in WORDS]
        + [(c, -2.0) for c in "abcdefghijklmnopqrstuvwxyz▁"]
    )
    tok = XLMRobertaTokenizerFast(vocab=pieces)
    model = XLMRobertaModel(
        XLMRobertaConfig(
            vocab_size=len(pieces) + 4,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=37,
            pad_token_id=1,
            max_position_embeddings=80,
        )
    )
    return _save_sentence_transformer(model, tok, directory, max_seq_length=64, pooling="cls")


def build_qwen3_lasttoken(directory: Path) -> Path:
    """Qwen3-Embedding-like: decoder + last-token pooling with LEFT padding + Normalize."""
    from transformers import Qwen2TokenizerFast, Qwen3Config, Qwen3Model  # type: ignore[attr-defined]

    _seed()
    alphabet = [chr(c) for c in range(33, 127)] + ["Ġ"]
    vocab = {t: i for i, t in enumerate(alphabet)}
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Qwen2TokenizerFast(
        vocab=vocab, merges=[], unk_token=None, pad_token="<|endoftext|>", eos_token="<|im_end|>"
    )
    tok.add_special_tokens({"additional_special_tokens": special})
    tok.padding_side = "left"
    model = Qwen3Model(
        Qwen3Config(
            vocab_size=len(tok) + 8,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            intermediate_size=37,
            max_position_embeddings=256,
        )
    )
    query = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
    return _save_sentence_transformer(
        model,
        tok,
        directory,
        max_seq_length=128,
        pooling="lasttoken",
        name="qwen3-embedding-tiny",
        prompts={"query": query},
    )
