"""A weight-free, deterministic backend for testing the server around a model.

Vectors are seeded by a hash of the content, so equal inputs give equal vectors and different
inputs give unrelated ones. It says nothing about model quality and is never used to claim it.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from omnivec.runtime.backends.base import BackendInfo, InputTooLong
from omnivec.runtime.backends.prompts import prompted_parts
from omnivec.runtime.backends.tokens import TokenSpan
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.types import Modality, PromptStyle, Truncation

_ALL_MODALITIES = frozenset(Modality)


class FakeBackend:
    def __init__(
        self, model_id: str = "fake", dimensions: int = 64, *, max_tokens: int = 2048, delay_ms: float = 0.0
    ) -> None:
        self.info = BackendInfo(
            model_id=model_id,
            dimensions=dimensions,
            max_tokens=max_tokens,
            modalities=_ALL_MODALITIES,
            matryoshka=True,
            prompt_style=PromptStyle.NONE,
            normalized=True,
            source="fake",
            description="Deterministic weight-free test backend (content-hash vectors).",
        )
        self._delay_s = delay_ms / 1000.0

    @classmethod
    def from_spec(cls, model_id: str, source: str) -> FakeBackend:
        """``fake``, ``fake:DIM`` or ``fake:DIM:DELAY_MS`` (a per-batch delay, for load tests)."""
        fields = source.split(":")[1:]
        dims = int(fields[0]) if fields and fields[0] else 64
        delay = float(fields[1]) if len(fields) > 1 else 0.0
        return cls(model_id, dims, delay_ms=delay)

    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        prepared = []
        for index, item in enumerate(inputs):
            digest = hashlib.sha256()
            by_modality: dict[Modality, int] = {}
            info = self.info
            for part in prompted_parts(
                info.prompt_style, item.parts, item.task, item.title, interleaved=False
            ):
                if isinstance(part, str):
                    digest.update(b"T" + part.encode("utf-8", "surrogatepass"))
                    n = len(part.split()) + 2
                    by_modality[Modality.TEXT] = by_modality.get(Modality.TEXT, 0) + n
                else:
                    modality = getattr(part, "modality", Modality.IMAGE)
                    digest.update(modality.value.encode() + _content_bytes(part))
                    by_modality[modality] = by_modality.get(modality, 0) + 16
            tokens = sum(by_modality.values())
            truncated = False
            if tokens > self.info.max_tokens:
                if not auto_truncate:
                    raise InputTooLong(index, tokens, self.info.max_tokens)
                truncated, tokens = True, self.info.max_tokens
                if item.truncation is Truncation.START:  # another part of the text is kept
                    digest.update(b"cut-start")
            seed = int.from_bytes(digest.digest()[:8], "little")
            prepared.append(PreparedItem(tokens, tokens, seed, truncated, by_modality))
        return prepared

    def tokenize(self, text: str, *, add_special_tokens: bool = True) -> list[TokenSpan]:
        """Whitespace words (ids from their hash), between two special tokens as ``prepare`` counts."""
        spans = [
            TokenSpan(
                int.from_bytes(hashlib.sha256(m.group().encode()).digest()[:3], "little"),
                m.group(),
                False,
                m.start(),
                m.end(),
            )
            for m in re.finditer(r"\S+", text)
        ]
        if add_special_tokens:
            spans = [TokenSpan(0, "", True, 0, 0), *spans, TokenSpan(1, "", True, 0, 0)]
        return spans

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        if self._delay_s:
            time.sleep(self._delay_s)
        rows = [np.random.default_rng(item.payload).standard_normal(self.info.dimensions) for item in items]
        return np.stack(rows).astype(np.float32)

    def finalize(self, output: Any) -> np.ndarray:
        matrix = np.asarray(output, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)

    def close(self) -> None:
        return None


def _content_bytes(part: Any) -> bytes:
    data = getattr(part, "content_hash", None)
    if isinstance(data, bytes | str):
        return data.encode() if isinstance(data, str) else data
    return repr(part).encode()
