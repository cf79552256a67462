"""The mixed-precision torch engine for sentence-transformers text models: ``bf16``.

The transformer runs under ``torch.autocast``: matrix multiplications in bfloat16, while
autocast keeps the numerically touchy operations (softmax, layer norm, reductions) in float32.
Its token embeddings are turned back into float32 before the model's own pooling, Dense and
Normalize modules run, so pooling and normalisation stay in full precision. The weights stay
float32 (autocast casts them per pass), so the fp32 model that checks this one at load is the
same object.

Where bf16 is native — x86 CPUs with AVX-512 BF16 or AMX, CUDA devices that report bf16
support — this is markedly faster than fp32; elsewhere it is emulated and slower, which is why
``auto`` chooses it only where it is native.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.backends.tokens import pad_batch
from omnivec.runtime.inputs import PreparedItem

# /proc/cpuinfo flags of x86 CPUs that compute bf16 dot products in hardware.
NATIVE_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
_CPUINFO = Path("/proc/cpuinfo")


class NotMixedPrecisionCapable(ValueError):
    """The model does not start with a transformer producing token embeddings."""


class MixedPrecisionTextBackend(SentenceTransformerBackend):
    """The fp32 backend's model, with its transformer run under autocast."""

    def __init__(self, base: SentenceTransformerBackend, dtype: torch.dtype, engine: str) -> None:
        modules = [module for _, module in base.model.named_children()]
        first = modules[0] if modules else None
        if getattr(first, "auto_model", None) is None or (
            getattr(first, "module_output_name", "token_embeddings") != "token_embeddings"
        ):
            raise NotMixedPrecisionCapable(
                f"model {base.info.model_id} does not start with a transformer producing token embeddings"
            )
        info = replace(base.info, description=f"{base.info.description} [{engine}]", engine=engine)
        super().__init__(base.model, info, base.device)
        self.dtype = dtype
        self._transformer: Any = first
        self._tail = modules[1:]

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        batch = pad_batch([item.payload for item in items], self.padding)
        features: dict[str, Any] = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        features["modality"] = "text"
        stream = torch.cuda.stream(self._stream) if self._stream is not None else contextlib.nullcontext()
        with torch.inference_mode(), stream:
            with torch.autocast(self.device.type, dtype=self.dtype):
                features = self._transformer(features)
            features["token_embeddings"] = features["token_embeddings"].float()
            for module in self._tail:
                features = module(features)
            out = features["sentence_embedding"].float()
        if self._stream is not None:
            self._stream.synchronize()
        return out


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether ``device`` computes bf16 natively, and the fact that decided it."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return True, f"{torch.cuda.get_device_name(device)} supports bf16"
        return False, f"{torch.cuda.get_device_name(device)} has no native bf16"
    if device.type == "cpu":
        flags = sorted(cpu_flags() & NATIVE_BF16_CPU_FLAGS)
        if flags:
            return True, f"the CPU has {' and '.join(flags)}"
        return False, "the CPU has neither avx512_bf16 nor amx_bf16"
    return False, f"bf16 is not chosen automatically on {device.type}"


def native_bf16_on_cpu() -> tuple[bool, str]:
    return native_bf16(torch.device("cpu"))


def bf16_autocast(device_type: str = "cpu") -> Any:
    """The autocast context the bf16 engine runs its transformer in (for comparisons)."""
    return torch.autocast(device_type, dtype=torch.bfloat16)


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them; empty where there is no /proc/cpuinfo."""
    try:
        text = _CPUINFO.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.partition(":")[2].split())
    return frozenset()
