"""Tiny random-weight cross-encoders (``…ForSequenceClassification`` with one label), saved with
``save_pretrained`` next to their tokenizer, as reranker checkpoints on the hub are
(cross-encoder/ms-marco-MiniLM-L6-v2 is a BertForSequenceClassification)."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.support.tiny_text_models import WORDS

# The longest (query, document) pair the tiny models read: short, so truncation is easy to reach.
MAX_LENGTH = 40
# Wide random weights: the default (0.02) gives every pair nearly the same logit; these spread
# the scores far enough apart that a ranking is clear.
SPREAD = 0.5


def build_bert_cross_encoder(directory: Path, *, num_labels: int = 1) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast  # type: ignore[attr-defined]

    torch.manual_seed(0)
    vocab = {
        t: i
        for i, t in enumerate(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
        )
    }
    tokenizer = BertTokenizerFast(vocab=vocab, model_max_length=MAX_LENGTH)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        initializer_range=SPREAD,
    )
    config.num_labels = num_labels
    model = BertForSequenceClassification(config)
    out = directory / "bert-cross-encoder"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_xlmr_cross_encoder(directory: Path) -> Path:
    """bge-reranker-like: XLM-R (no token type ids, ``</s></s>`` between the segments)."""
    from transformers import (  # type: ignore[attr-defined]
        XLMRobertaConfig,
        XLMRobertaForSequenceClassification,
        XLMRobertaTokenizerFast,
    )

    torch.manual_seed(0)
    pieces = (
        [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
        + [(f"▁{w}", -1.0) for w in WORDS]
        + [(c, -2.0) for c in "abcdefghijklmnopqrstuvwxyz▁"]
    )
    tokenizer = XLMRobertaTokenizerFast(vocab=pieces, model_max_length=MAX_LENGTH)
    config = XLMRobertaConfig(
        vocab_size=len(pieces) + 4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        pad_token_id=1,
        max_position_embeddings=80,
        initializer_range=SPREAD,
    )
    config.num_labels = 1
    model = XLMRobertaForSequenceClassification(config)
    out = directory / "xlmr-cross-encoder"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def reference_logits(path: Path, query: str, documents: list[str]) -> list[float]:
    """The logits transformers itself gives for the pairs: tokenised as pairs, the document cut
    (``only_second``) to the tokenizer's length, one padded batch."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    features = tokenizer(
        [query] * len(documents),
        documents,
        truncation="only_second",
        max_length=tokenizer.model_max_length,
        padding=True,
        return_tensors="pt",
    )
    with torch.inference_mode():
        return [float(x) for x in model(**features).logits[:, 0]]
