"""Where and how a model runs: the torch device, its load options, CUDA streams, CPU threads.

Shared by every backend family (and the composition root's thread setting); torch is imported
only when a model is loaded.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from omnivec.errors import ModelLoadError


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


def on_stream(stream: Any) -> Any:
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def current_torch_threads() -> int:
    return int(torch.get_num_threads())
