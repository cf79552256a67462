"""Text embedding models through sentence-transformers (and plain transformers checkpoints).

The model's own modules do the work — pooling (mean, CLS, last-token), Dense layers and its
own normalisation — so vectors equal ``SentenceTransformer.encode``. What changes is the
schedule: each input is tokenised once, alone and unpadded, on a CPU worker thread; the device
thread only pads a length-bucketed batch and runs the forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omnivec.errors import InvalidArgument, ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import BackendInfo, InputError, InputTooLong
from omnivec.runtime.backends.device import accelerator_model_kwargs, on_stream, resolve_device
from omnivec.runtime.backends.model_dir import LoadRequest, open_directory
from omnivec.runtime.backends.prompts import parse_gemini_prefix, render
from omnivec.runtime.backends.registry import ModelFamily, register
from omnivec.runtime.backends.tokens import (
    PaddingRule,
    SpecialTokens,
    TokenCut,
    TokenIds,
    pad_batch,
    token_ids,
)
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.settings import ENGINES
from omnivec.types import Modality, PromptStyle, TokenIdsPart, Truncation

log = get_logger(__name__)

_TEXT_ONLY = frozenset({Modality.TEXT})


class SentenceTransformerBackend:
    def __init__(self, model: Any, info: BackendInfo, device: torch.device) -> None:
        self.model = model
        self.info = info
        self.device = device
        self.tokenizer = model.tokenizer
        self.padding = PaddingRule.of(self.tokenizer)
        self.cut = TokenCut.of(self.tokenizer)
        self.specials = SpecialTokens.of(self.tokenizer)
        # A fast tokenizer keeps its truncation setting as shared, mutable state, and every call
        # that names a different setting rewrites it. ``prepare`` only ever asks for none; this
        # first call settles that before any worker thread runs, so no call writes it again.
        self.tokenizer("", truncation=False, verbose=False)
        # On a GPU each replica queues its kernels on its own stream, so replicas overlap.
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    @classmethod
    def load(
        cls,
        model_id: str,
        path: str,
        *,
        device: str,
        local_files_only: bool,
        trust_remote_code: bool,
        prompt_style: PromptStyle,
        matryoshka: bool,
        source: str,
        half_precision: bool | None = None,
    ) -> SentenceTransformerBackend:
        from sentence_transformers import SentenceTransformer

        torch_device = resolve_device(device)
        model = SentenceTransformer(
            path,
            device=str(torch_device),
            local_files_only=local_files_only,
            trust_remote_code=trust_remote_code,
            model_kwargs=accelerator_model_kwargs(torch_device, half_precision),
        )
        model.eval()
        modules = [type(m).__name__ for m in model]
        dims = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
        if dims is None:
            dims = model.get_sentence_embedding_dimension()
        if dims is None:
            raise InvalidArgument(f"Model {model_id} does not report its embedding dimension.")
        max_tokens = int(model.max_seq_length or model.tokenizer.model_max_length)
        info = BackendInfo(
            model_id=model_id,
            dimensions=int(dims),
            max_tokens=max_tokens,
            modalities=_TEXT_ONLY,
            matryoshka=matryoshka,
            prompt_style=prompt_style,
            normalized="Normalize" in modules,
            source=source,
            description=f"Text embedding model ({' -> '.join(modules)}).",
            vocab_size=len(model.tokenizer),
            concurrent_forward=torch_device.type == "cpu",
        )
        return cls(model, info, torch_device)

    # --- CPU step -------------------------------------------------------------------------
    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        tokenised: list[TokenIds | None] = [None] * len(inputs)
        rendered: dict[int, str] = {}
        for index, item in enumerate(inputs):
            given = next((p for p in item.parts if isinstance(p, TokenIdsPart)), None)
            if given is not None:
                tokenised[index] = self._given_ids(index, given)
            elif not item.is_text_only:
                raise InputError(index, f"model {self.info.model_id} takes only text")
            else:
                rendered[index] = render(self.info.prompt_style, item.text(), item.task, item.title)
        limit = self.info.max_tokens
        # Always tokenised without truncation, and cut here: an over-long input is seen (never
        # silently cut), and the shared tokenizer is never switched between settings by
        # concurrent callers. No attention mask: unpadded, it is all ones; padding writes it.
        if rendered:
            encoded = self.tokenizer(
                list(rendered.values()),
                truncation=False,
                add_special_tokens=True,
                return_attention_mask=False,
                verbose=False,
            )
            for position, index in enumerate(rendered):
                tokenised[index] = token_ids(encoded, position)
        prepared: list[PreparedItem] = []
        for index, (item, tokens) in enumerate(zip(inputs, tokenised, strict=True)):
            assert tokens is not None
            n = len(tokens)
            truncated = False
            if n > limit:
                if not auto_truncate:
                    raise InputTooLong(index, n, limit)
                if item.truncation is Truncation.START:
                    pinned = self._prompt_tokens(rendered[index], item.text()) if index in rendered else 0
                    tokens = self.cut(tokens, limit, keep_end=True, pinned=pinned)
                else:
                    tokens = self.cut(tokens, limit, keep_end=None if item.truncation is None else False)
                truncated = True
                n = len(tokens)
            prepared.append(PreparedItem(n, n, tokens, truncated, {Modality.TEXT: n}))
        return prepared

    def _given_ids(self, index: int, part: TokenIdsPart) -> TokenIds:
        """Ids of the model's own vocabulary, with the special tokens its tokenizer adds."""
        ids = np.asarray(part.ids, dtype=np.int64)
        vocab = self.info.vocab_size or 0
        if ids.size == 0 or int(ids.min()) < 0 or int(ids.max()) >= vocab:
            raise InputError(
                index, f"token ids must be between 0 and {vocab - 1} for model {self.info.model_id}"
            )
        return self.specials.around(part.ids)

    def _prompt_tokens(self, rendered: str, text: str) -> int:
        """How many tokens of ``rendered`` (after its special prefix) are the task prompt and
        title rather than the client's text: a cut of the start keeps them."""
        prefixed = parse_gemini_prefix(text)
        body = prefixed.text if prefixed is not None else text
        prompt_chars = len(rendered) - len(body) if rendered.endswith(body) else 0
        if prompt_chars <= 0:
            return 0
        if getattr(self.tokenizer, "is_fast", False):
            offsets = self.tokenizer(
                rendered,
                truncation=False,
                add_special_tokens=False,
                return_offsets_mapping=True,
                verbose=False,
            )["offset_mapping"]
            # A token that straddles the boundary belongs to the prompt: it stays.
            return sum(1 for start, _ in offsets if start < prompt_chars)
        prompt = rendered[:prompt_chars]
        return len(self.tokenizer(prompt, add_special_tokens=False, verbose=False)["input_ids"])

    # --- device step ----------------------------------------------------------------------
    def forward(self, items: Sequence[PreparedItem]) -> Any:
        batch = pad_batch([item.payload for item in items], self.padding)
        features: dict[str, Any] = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        features["modality"] = "text"
        with torch.inference_mode(), on_stream(self._stream):
            out = self.model(features)["sentence_embedding"]
        if self._stream is not None:
            self._stream.synchronize()  # finalize copies to the host outside this stream
        return out

    def finalize(self, output: Any) -> np.ndarray:
        return output.detach().to(torch.float32).cpu().numpy()

    def close(self) -> None:
        self.model = None


# --- the family ---------------------------------------------------------------------------
# Name fragments of model families whose training makes a cut vector a good vector.
_MATRYOSHKA_HINTS = ("embeddinggemma", "qwen3", "nomic-embed", "arctic-embed", "mxbai", "jina-embeddings-v3")


def load_text(request: LoadRequest) -> SentenceTransformerBackend:
    if request.modalities is not None and Modality.TEXT not in request.modalities:
        raise ModelLoadError(f"Model {request.source} is a text model; it cannot be served without text.")
    return SentenceTransformerBackend.load(
        request.model_id,
        request.path,
        device=request.device,
        local_files_only=request.local_only,
        trust_remote_code=request.trust_remote_code,
        prompt_style=request.prompt_style or detect_prompt_style(request.path),
        matryoshka=any(h in request.path.lower() for h in _MATRYOSHKA_HINTS),
        source=request.source,
        half_precision=request.half_precision,
    )


def detect_prompt_style(path: str) -> PromptStyle:
    """Which task-prompt convention the model was trained with (see prompts.py): its own
    sentence-transformers prompts say, else its name (a hub id or a directory)."""
    local = Path(path)
    prompts = open_directory(local).st_prompts if local.is_dir() else {}
    if any(p.startswith("task: ") for p in prompts.values()):
        return PromptStyle.GEMMA
    name = path.lower()
    for hint, style in (
        ("embeddinggemma", PromptStyle.GEMMA),
        ("qwen3", PromptStyle.QWEN3),
        ("nomic-embed", PromptStyle.NOMIC),
        ("e5", PromptStyle.E5),
    ):
        if hint in name:
            return style
    return PromptStyle.NONE


FAMILY = register(ModelFamily("sentence-transformers", load_text, fallback=True, engines=frozenset(ENGINES)))
