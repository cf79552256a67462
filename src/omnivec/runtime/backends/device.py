"""Where and how a model runs: the torch device, its load options, CUDA streams, CPU threads.

Shared by every backend family (and the composition root's thread setting); torch is imported
only when a model is loaded.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

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


_T = TypeVar("_T")


def in_passing_thread(work: Callable[[], _T], name: str = "omnivec-load") -> _T:
    """``work()`` run on a thread of its own that ends with it: for model passes at load time
    (the engines' parity probes).

    OpenMP (GNU libgomp, torch's CPU build) keeps a pool of worker threads for every thread that
    ran a parallel pass, and once its threads outnumber the CPUs it throttles every pool's
    spin-waiting: each operation of each later pass then waits for its workers to wake. A probe
    run on the main thread left such a second pool behind, and every pass of the model thread
    after it was slower (one short text, bf16 on 2 cores: 7.7 -> 12.2 ms). A pool dies with its
    thread.
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def current_torch_threads() -> int:
    return int(torch.get_num_threads())
