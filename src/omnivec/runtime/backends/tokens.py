"""Token ids as numpy arrays, and the padding that turns them into one batch.

Tokenisation keeps each input unpadded (int64 arrays, no Python int per token once prepared);
the device step pads a length-bucketed batch with a few numpy copies instead of the tokenizer's
per-token Python ``pad``. The result is what ``tokenizer.pad`` would give: the same pad ids,
token-type ids and attention mask, on the tokenizer's padding side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class TokenIds:
    input_ids: np.ndarray  # int64, shape (n,)
    token_type_ids: np.ndarray | None = None  # int64, shape (n,), for models that take them

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass(frozen=True, slots=True)
class PaddingRule:
    pad_id: int
    pad_type_id: int
    left: bool

    @staticmethod
    def of(tokenizer: Any) -> PaddingRule:
        pad_id = tokenizer.pad_token_id
        return PaddingRule(
            # A tokenizer without a pad token: any id works, the attention mask hides it.
            pad_id=int(pad_id) if pad_id is not None else 0,
            pad_type_id=int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
            left=getattr(tokenizer, "padding_side", "right") == "left",
        )


@dataclass(frozen=True, slots=True)
class TokenCut:
    """Cuts an over-long tokenised input to a limit as the tokenizer's own truncation would:
    content tokens go from the truncation side, the special tokens around them stay.

    Cutting ids that were tokenised once, without truncation, is what keeps ``prepare`` free of
    the fast tokenizer's shared truncation state (and the input is tokenised only once).
    """

    prefix: int  # special tokens before the content ([CLS], <s>, BOS)
    suffix: int  # special tokens after it ([SEP], </s>, EOS)
    left: bool  # truncation_side == "left": the end of the text is kept

    @staticmethod
    def of(tokenizer: Any) -> TokenCut:
        probe = "hello world"
        full = list(tokenizer(probe, add_special_tokens=True, verbose=False)["input_ids"])
        plain = list(tokenizer(probe, add_special_tokens=False, verbose=False)["input_ids"])
        left = getattr(tokenizer, "truncation_side", "right") == "left"
        for start in range(len(full) - len(plain) + 1):
            if plain and full[start : start + len(plain)] == plain:
                return TokenCut(start, len(full) - start - len(plain), left)
        return TokenCut(0, 0, left)  # no recognisable layout: cut the sequence as it is

    def __call__(
        self, tokens: TokenIds, limit: int, *, keep_end: bool | None = None, pinned: int = 0
    ) -> TokenIds:
        """``keep_end`` overrides the tokenizer's side (True: the start of the content goes).
        When the start goes, the ``pinned`` content tokens right after the special prefix (the
        task prompt) stay with it."""
        n = len(tokens)
        left = self.left if keep_end is None else keep_end
        head_size = self.prefix + min(pinned if left else 0, max(limit - self.prefix - self.suffix, 0))
        keep = max(limit - head_size - self.suffix, 0)
        head = np.arange(head_size)
        tail = np.arange(n - self.suffix, n)
        body_start = n - self.suffix - keep if left else head_size
        body = np.arange(body_start, body_start + keep)
        index = np.concatenate([head, body, tail])
        return TokenIds(
            tokens.input_ids[index],
            tokens.token_type_ids[index] if tokens.token_type_ids is not None else None,
        )


@dataclass(frozen=True, slots=True)
class SpecialTokens:
    """The special tokens a tokenizer puts around one sequence ([CLS] … [SEP], <s> … </s>, an
    EOS), read off a probe as ``TokenCut`` reads their count: content given as token ids gets
    them exactly as the tokenizer would add them to its own ids."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    type_id: int | None  # the token type of a single sequence, for models that take types

    @staticmethod
    def of(tokenizer: Any) -> SpecialTokens:
        probe = "hello world"
        encoded = tokenizer(probe, add_special_tokens=True, verbose=False)
        full = [int(t) for t in encoded["input_ids"]]
        plain = [int(t) for t in tokenizer(probe, add_special_tokens=False, verbose=False)["input_ids"]]
        types = encoded.get("token_type_ids")
        type_id = int(types[0]) if types else None
        for start in range(len(full) - len(plain) + 1):
            if plain and full[start : start + len(plain)] == plain:
                return SpecialTokens(tuple(full[:start]), tuple(full[start + len(plain) :]), type_id)
        return SpecialTokens((), (), type_id)

    def around(self, ids: Sequence[int]) -> TokenIds:
        input_ids = np.asarray([*self.prefix, *ids, *self.suffix], dtype=np.int64)
        types = None if self.type_id is None else np.full(input_ids.shape, self.type_id, dtype=np.int64)
        return TokenIds(input_ids, types)


def token_ids(encoded: Any, index: int) -> TokenIds:
    """Item ``index`` of a tokenizer's (unpadded) batch output."""
    types = encoded.get("token_type_ids")
    return TokenIds(
        np.asarray(encoded["input_ids"][index], dtype=np.int64),
        np.asarray(types[index], dtype=np.int64) if types is not None else None,
    )


def pad_batch(items: Sequence[TokenIds], rule: PaddingRule) -> dict[str, np.ndarray]:
    """``input_ids``, ``attention_mask`` and (when the items carry them) ``token_type_ids``."""
    width = max(len(item) for item in items)
    shape = (len(items), width)
    input_ids = np.full(shape, rule.pad_id, dtype=np.int64)
    attention_mask = np.zeros(shape, dtype=np.int64)
    with_types = items[0].token_type_ids is not None
    token_type_ids = np.full(shape, rule.pad_type_id, dtype=np.int64) if with_types else None
    for row, item in enumerate(items):
        n = len(item)
        span = slice(width - n, width) if rule.left else slice(0, n)
        input_ids[row, span] = item.input_ids
        attention_mask[row, span] = 1
        if token_type_ids is not None and item.token_type_ids is not None:
            token_type_ids[row, span] = item.token_type_ids
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        batch["token_type_ids"] = token_type_ids
    return batch


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """One token of a text, as a tokenize endpoint shows it: ``start``/``stop`` are character
    offsets into the text (both 0 for special tokens)."""

    id: int
    text: str
    special: bool
    start: int
    stop: int


def token_spans(tokenizer: Any, text: str, *, add_special_tokens: bool = True) -> list[TokenSpan]:
    """The tokens a Hugging Face (fast) tokenizer makes of ``text``, with their offsets."""
    encoded = tokenizer(
        text, add_special_tokens=add_special_tokens, return_offsets_mapping=True, verbose=False
    )
    special = set(getattr(tokenizer, "all_special_ids", ()))
    spans = []
    for token_id, (start, stop) in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True):
        is_special = token_id in special
        spans.append(
            TokenSpan(
                int(token_id),
                "" if is_special and start == stop else text[start:stop],
                is_special,
                start,
                stop,
            )
        )
    return spans
