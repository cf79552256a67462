"""numpy padding gives exactly what the tokenizer's own ``pad`` gives, on either side."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoTokenizer

from omnivec.runtime.backends.loader import bundled_minilm_dir
from omnivec.runtime.backends.tokens import PaddingRule, pad_batch, token_ids

TEXTS = [
    "Hello world.",
    "A somewhat longer sentence, with punctuation; and more words.",
    "x",
    "Ünïcödé text ✓",
]


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return AutoTokenizer.from_pretrained(str(bundled_minilm_dir()), local_files_only=True)


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_batch_matches_tokenizer_pad(tokenizer, side: str) -> None:  # type: ignore[no-untyped-def]
    tokenizer.padding_side = side
    encoded = tokenizer(TEXTS, return_attention_mask=False)
    ours = pad_batch([token_ids(encoded, i) for i in range(len(TEXTS))], PaddingRule.of(tokenizer))
    theirs = tokenizer.pad(tokenizer(TEXTS), return_tensors="np")
    assert set(ours) == set(theirs.keys())
    for key, value in ours.items():
        np.testing.assert_array_equal(value, theirs[key])
        assert value.dtype == np.int64


def test_items_without_token_types_pad_without_them(tokenizer) -> None:  # type: ignore[no-untyped-def]
    encoded = tokenizer(TEXTS, return_attention_mask=False, return_token_type_ids=False)
    batch = pad_batch([token_ids(encoded, i) for i in range(len(TEXTS))], PaddingRule.of(tokenizer))
    assert set(batch) == {"input_ids", "attention_mask"}
