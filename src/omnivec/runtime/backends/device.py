"""Where and how a model runs: the torch device, its load options, CUDA streams, CPU threads.

Shared by every backend family (and the composition root's thread setting); torch is imported
only when a model is loaded.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def accelerator_model_kwargs(device: torch.device, half_precision: bool | None) -> dict[str, Any]:
    """How the transformer loads on ``device``: on CUDA, fp16 weights (unless turned off) and
    PyTorch's fused, memory-efficient attention (sdpa); elsewhere the checkpoint's own dtype."""
    if device.type != "cuda":
        return {}
    kwargs: dict[str, Any] = {"attn_implementation": "sdpa"}
    if half_precision is not False:
        kwargs["dtype"] = torch.float16
    return kwargs


def on_stream(stream: Any) -> Any:
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def current_torch_threads() -> int:
    return int(torch.get_num_threads())
