"""Cross-encoder rerankers: ``…ForSequenceClassification`` checkpoints (BERT, XLM-R, ModernBERT…
whatever ``AutoModelForSequenceClassification`` loads) that read a query and a document together
and give the pair one relevance logit.

Scores are what sentence-transformers' ``CrossEncoder.predict`` gives: the pair tokenised as two
segments, the document cut to fit the model's length (``only_second``), the logit through the
checkpoint's own activation (the sigmoid, sentence-transformers' default for one label; the
runtime hands back the logit and the reranking service applies it, so TEI's ``raw_scores`` can
have the logit). Each pair is tokenised on a CPU worker thread; the model's executor thread pads a
batch and runs it, exactly as for embeddings: one queue, one token budget per model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omnivec.errors import ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import BackendInfo, InputError
from omnivec.runtime.backends.device import accelerator_model_kwargs, on_stream, resolve_device
from omnivec.runtime.backends.model_dir import LoadRequest, ModelDirectory
from omnivec.runtime.backends.registry import ModelFamily, register
from omnivec.runtime.backends.tokens import PaddingRule, TokenIds, pad_batch
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.types import Modality, ModelKind, PromptStyle, ScoreActivation

log = get_logger(__name__)

# sentence-transformers names a cross-encoder's activation by its class path in config.json.
_ACTIVATIONS = {
    "torch.nn.modules.activation.Sigmoid": ScoreActivation.SIGMOID,
    "torch.nn.modules.linear.Identity": ScoreActivation.IDENTITY,
}
_DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}
# Above this, a tokenizer's model_max_length is transformers' "no limit" sentinel, not a length.
_NO_LIMIT = 1_000_000


class CrossEncoderBackend:
    def __init__(self, model: Any, tokenizer: Any, info: BackendInfo, device: torch.device) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self.device = device
        self.padding = PaddingRule.of(tokenizer)
        # Settle the fast tokenizer's shared truncation state once (off), before worker threads
        # tokenise: ``prepare_pairs`` cuts the ids itself and never switches it.
        self.tokenizer("", truncation=False, verbose=False)
        self._stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    @classmethod
    def load(cls, request: LoadRequest) -> CrossEncoderBackend:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if request.modalities is not None and Modality.TEXT not in request.modalities:
            raise ModelLoadError(
                f"Model {request.source} is a text reranker; it cannot be served without text."
            )
        directory = request.open_directory()
        torch_device = resolve_device(request.device)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(directory.module),
            local_files_only=True,
            trust_remote_code=request.trust_remote_code,
            **accelerator_model_kwargs(torch_device, request.half_precision),
        )
        model.to(torch_device).eval()
        tokenizer = AutoTokenizer.from_pretrained(
            str(directory.module), local_files_only=True, trust_remote_code=request.trust_remote_code
        )
        if not getattr(tokenizer, "is_fast", False):
            raise ModelLoadError(
                f"Model {request.source} has no fast tokenizer (tokenizer.json); it cannot be served."
            )
        labels = int(model.config.num_labels)
        if labels != 1:
            raise ModelLoadError(
                f"Model {request.source} has {labels} labels: it is a classifier, not a reranker. "
                "omnivec serves cross-encoders with one relevance label."
            )
        activation = _activation(directory, request.source)
        max_tokens = _max_tokens(directory, tokenizer, model.config)
        dtype = next(model.parameters()).dtype
        info = BackendInfo(
            model_id=request.model_id,
            dimensions=1,
            max_tokens=max_tokens,
            modalities=frozenset({Modality.TEXT}),
            matryoshka=False,
            prompt_style=PromptStyle.NONE,
            normalized=False,
            source=request.source,
            description=(
                f"Cross-encoder reranker ({type(model).__name__}): scores (query, document) pairs "
                f"with /v1/rerank; score = {activation.value}(logit)."
            ),
            engine=_DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch.")),
            kind=ModelKind.RERANK,
            score_activation=activation,
        )
        return cls(model, tokenizer, info, torch_device)

    # --- CPU step -------------------------------------------------------------------------
    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        """A reranker embeds nothing (the services refuse before this; it stays a clear 400)."""
        raise InputError(0, f"model {self.info.model_id} is a reranker; it scores pairs with /v1/rerank")

    def prepare_pairs(
        self, query: str, documents: Sequence[str], *, auto_truncate: bool
    ) -> list[PreparedItem]:
        limit = self.info.max_tokens
        # Tokenised whole, then the document's tokens cut from its end: what ``only_second``
        # truncation gives (tokenizers cut ids, not text), without switching the shared
        # tokenizer's truncation setting under concurrent callers.
        encoded = self.tokenizer(
            [query] * len(documents),
            list(documents),
            truncation=False,
            add_special_tokens=True,
            return_attention_mask=False,
            verbose=False,
        )
        types = encoded.get("token_type_ids")
        prepared: list[PreparedItem] = []
        for index in range(len(documents)):
            ids = np.asarray(encoded["input_ids"][index], dtype=np.int64)
            type_ids = np.asarray(types[index], dtype=np.int64) if types is not None else None
            n = len(ids)
            truncated = False
            if n > limit:
                if not auto_truncate:
                    raise InputError(
                        index,
                        f"the query and this document have {n} tokens together, more than the model's "
                        f"limit of {limit}; shorten the document or let it be truncated",
                    )
                segments = np.array([-1 if s is None else s for s in encoded.sequence_ids(index)])
                second = np.flatnonzero(segments == 1)
                excess = n - limit
                if excess >= len(second):
                    raise InputError(
                        index,
                        f"the query alone takes {n - len(second)} of the model's {limit} tokens; "
                        "shorten the query",
                    )
                keep = np.ones(n, dtype=bool)
                keep[second[len(second) - excess :]] = False
                ids = ids[keep]
                type_ids = type_ids[keep] if type_ids is not None else None
                n, truncated = len(ids), True
            prepared.append(PreparedItem(n, n, TokenIds(ids, type_ids), truncated, {Modality.TEXT: n}))
        return prepared

    # --- device step ----------------------------------------------------------------------
    def forward(self, items: Sequence[PreparedItem]) -> Any:
        batch = pad_batch([item.payload for item in items], self.padding)
        features = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        with torch.inference_mode(), on_stream(self._stream):
            logits = self.model(**features).logits
        if self._stream is not None:
            self._stream.synchronize()
        return logits

    def finalize(self, output: Any) -> np.ndarray:
        """One row per pair: its logit, in float32 (upcast first, as sentence-transformers does)."""
        return output.detach().to(torch.float32).cpu().numpy().reshape(-1, 1)

    def close(self) -> None:
        self.model = None


def _activation(directory: ModelDirectory, source: str) -> ScoreActivation:
    """The activation sentence-transformers saved with the model, else its default for one
    label: the sigmoid. Versions 5+ keep it in config_sentence_transformers.json, versions 4 in
    config.json (``sentence_transformers``), older ones under another config.json key."""
    config = directory.config
    saved = config.get("sentence_transformers")
    path = (
        directory.json("config_sentence_transformers.json").get("activation_fn")
        or (saved.get("activation_fn") if isinstance(saved, dict) else None)
        or config.get("sbert_ce_default_activation_function")
    )
    if not path:
        return ScoreActivation.SIGMOID
    if path not in _ACTIVATIONS:
        raise ModelLoadError(
            f"Model {source} applies {path} to its scores; omnivec applies Sigmoid or Identity only."
        )
    return _ACTIVATIONS[path]


def _max_tokens(directory: ModelDirectory, tokenizer: Any, config: Any) -> int:
    """The longest pair the model reads: sentence-transformers' setting, else the tokenizer's,
    else the position table (less the positions RoBERTa-style models reserve)."""
    limits = [directory.st_max_seq_length]
    told = getattr(tokenizer, "model_max_length", None)
    if isinstance(told, int) and 0 < told < _NO_LIMIT:
        limits.append(told)
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        reserved = (
            int(config.pad_token_id) + 1
            if config.model_type in ("roberta", "xlm-roberta", "camembert")
            else 0
        )
        limits.append(positions - reserved)
    known = [n for n in limits if n]
    if not known:
        raise ModelLoadError("The model does not say how many tokens it reads (no max_position_embeddings).")
    return min(known)


FAMILY = register(
    ModelFamily(
        "cross-encoder", CrossEncoderBackend.load, architecture_suffixes=("ForSequenceClassification",)
    )
)
