"""The bf16 engine's transformer compiled by TorchInductor, on a CPU: fused kernels instead of
one PyTorch operation at a time.

Autocast alone leaves a bf16 pass waiting on what is not a matrix product: every layer norm,
GELU, residual add and cast is its own pass over memory, and the weights are cast and reordered
for oneDNN on every call. Compiled with weights frozen (prepacked once, in bf16), those fuse
into a few kernels per layer: MiniLM on 2 AVX-512 BF16 cores ran 1.4x the eager bf16 pass
(1.8x the fp32 one) with the same vectors (cosine 0.99997 to fp32), and a single short text in
half the time (``bench/results/compiled.md``).

Compiling takes time (about 20 s per graph on 2 cores, less when TorchInductor's own cache
under the system's temporary directory still holds the kernels), so it happens on a thread of
its own after the server starts, while the eager engine serves; the compiled one takes over
once it has been built for every torch thread count the executors use (TorchDynamo guards on
the count: a pass with another count would compile again, mid-request) and its vectors have
passed the same probe as the engine's. It needs a C++ compiler; without one, eager serves.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from omnivec.runtime.backends.device import in_passing_thread, set_torch_threads

# What a compiled transformer is called with: the padded batch's tensors (input_ids,
# attention_mask, token_type_ids…); it returns the token embeddings.
CompiledTransformer = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]

# TorchInductor options: weights frozen into the graph (so oneDNN's prepacked bf16 copies are
# made once), and kernels compiled in this process, one at a time (no worker pool of
# subprocesses left behind; on a small machine it was no slower).
_INDUCTOR_OPTIONS: dict[str, str | int | bool | Callable[..., Any]] = {"freezing": True, "compile_threads": 1}


def cpp_compiler() -> str | None:
    """The C++ compiler TorchInductor would use, or None: without one, nothing compiles."""
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return found
    return None


def compile_transformer(
    transformer: Any,
    dtype: torch.dtype,
    sample: Mapping[str, torch.Tensor],
    thread_counts: Sequence[int],
) -> CompiledTransformer:
    """``transformer`` (sentence-transformers' first module) under autocast to ``dtype``,
    compiled for any batch and sequence length and built, by running ``sample`` once, for each
    of ``thread_counts``. Raises whatever compiling raised."""

    def token_embeddings(features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with torch.autocast("cpu", dtype=dtype):
            out: torch.Tensor = transformer({**features, "modality": "text"})["token_embeddings"]
        return out

    graph = torch.compile(token_embeddings, dynamic=True, options=_INDUCTOR_OPTIONS)

    def compiled(features: Mapping[str, torch.Tensor]) -> torch.Tensor:
        # TorchDynamo specialises a size of 1: the graph built on batches would not take a single
        # text, and another would be compiled mid-request. So one text runs as two copies.
        if next(iter(features.values())).shape[0] == 1:
            pair = {k: v.repeat(2, *([1] * (v.dim() - 1))) for k, v in features.items()}
            return graph(pair)[:1]
        return graph(features)

    def build(threads: int) -> None:
        set_torch_threads(threads)
        # Made in inference mode, as the passes make theirs: the graph is guarded on it.
        with torch.inference_mode():
            compiled({k: v.clone() for k, v in sample.items()})

    # Each build runs on a thread that ends with it: a thread that ran a multi-threaded pass
    # keeps an OpenMP worker pool (``in_passing_thread``).
    for threads in dict.fromkeys(thread_counts):
        in_passing_thread(functools.partial(build, threads), name="omnivec-compile")
    return compiled
