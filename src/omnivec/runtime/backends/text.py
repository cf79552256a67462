"""Text embedding models through sentence-transformers (and plain transformers checkpoints).

The model's own modules do the work — pooling (mean, CLS, last-token), Dense layers and its
own normalisation — so vectors equal ``SentenceTransformer.encode``. What changes is the
schedule: each input is tokenised once, alone and unpadded, on a CPU worker thread; the device
thread only pads a length-bucketed batch and runs the forward pass.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from omnivec.errors import InvalidArgument, ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import BackendInfo, InputTooLong
from omnivec.runtime.backends.tokens import PaddingRule, pad_batch, token_ids
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.types import Modality

log = get_logger(__name__)

_TEXT_ONLY = frozenset({Modality.TEXT})


class SentenceTransformerBackend:
    def __init__(self, model: Any, info: BackendInfo, device: torch.device) -> None:
        self.model = model
        self.info = info
        self.device = device
        self.tokenizer = model.tokenizer
        self.padding = PaddingRule.of(self.tokenizer)
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
        prompt_style: str,
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
        )
        return cls(model, info, torch_device)

    # --- CPU step -------------------------------------------------------------------------
    def prepare(self, inputs: Sequence[ModelInput], *, auto_truncate: bool) -> list[PreparedItem]:
        texts = []
        for index, item in enumerate(inputs):
            if not item.is_text_only:
                raise InvalidArgument(f"Input {index}: model {self.info.model_id} takes only text.")
            texts.append(item.text())
        limit = self.info.max_tokens
        # Tokenise without truncation first so an over-long input is seen, not silently cut.
        # No attention mask here: unpadded, it is all ones; padding writes it.
        encoded = self.tokenizer(
            texts, truncation=False, add_special_tokens=True, return_attention_mask=False, verbose=False
        )
        prepared: list[PreparedItem] = []
        for index in range(len(texts)):
            tokens = token_ids(encoded, index)
            n = len(tokens)
            truncated = False
            if n > limit:
                if not auto_truncate:
                    raise InputTooLong(index, n, limit)
                cut = self.tokenizer(
                    [texts[index]],
                    truncation=True,
                    max_length=limit,
                    return_attention_mask=False,
                    verbose=False,
                )
                tokens, truncated = token_ids(cut, 0), True
                n = len(tokens)
            prepared.append(PreparedItem(n, n, tokens, truncated, {Modality.TEXT: n}))
        return prepared

    # --- device step ----------------------------------------------------------------------
    def forward(self, items: Sequence[PreparedItem]) -> Any:
        batch = pad_batch([item.payload for item in items], self.padding)
        features: dict[str, Any] = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        features["modality"] = "text"
        with torch.inference_mode(), _on_stream(self._stream):
            out = self.model(features)["sentence_embedding"]
        if self._stream is not None:
            self._stream.synchronize()  # finalize copies to the host outside this stream
        return out

    def finalize(self, output: Any) -> np.ndarray:
        return output.detach().to(torch.float32).cpu().numpy()

    def close(self) -> None:
        self.model = None


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    chosen = torch.device(device)
    # Refused here, before any weight loads, with what to do instead of torch's own traceback.
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelLoadError(
                f"--device {device}: this torch build has no usable CUDA device "
                f"(torch {torch.__version__}); use --device cpu, or install a CUDA build of torch."
            )
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise ModelLoadError(
                f"--device {device}: there are {torch.cuda.device_count()} CUDA devices (cuda:0 …)."
            )
    if chosen.type == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise ModelLoadError(f"--device {device}: MPS is not available here; use --device cpu.")
    return chosen


def accelerator_model_kwargs(device: torch.device, half_precision: bool | None) -> dict[str, Any]:
    """How the transformer loads on ``device``: on CUDA, fp16 weights (unless turned off) and
    PyTorch's fused, memory-efficient attention (sdpa); elsewhere the checkpoint's own dtype."""
    if device.type != "cuda":
        return {}
    kwargs: dict[str, Any] = {"attn_implementation": "sdpa"}
    if half_precision is not False:
        kwargs["dtype"] = torch.float16
    return kwargs


def _on_stream(stream: Any) -> Any:
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def current_torch_threads() -> int:
    return int(torch.get_num_threads())
