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

On a CPU the server also compiles this transformer in the background (``compiled.py``); the
compiled one takes over once built and probed, the eager one serving until then.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from omnivec.logging import get_logger
from omnivec.runtime.backends.base import CompileState
from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.backends.tokens import pad_batch
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.runtime.memory import release_free_memory

if TYPE_CHECKING:
    from omnivec.runtime.backends.compiled import CompiledTransformer

log = get_logger(__name__)

# /proc/cpuinfo flags of x86 CPUs that compute bf16 dot products in hardware.
NATIVE_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
_CPUINFO = Path("/proc/cpuinfo")


class NotMixedPrecisionCapable(ValueError):
    """The model does not start with a transformer producing token embeddings."""


class MixedPrecisionTextBackend(SentenceTransformerBackend):
    """The fp32 backend's model, with its transformer run under autocast."""

    def __init__(
        self, base: SentenceTransformerBackend, dtype: torch.dtype, engine: str, *, min_cosine: float = 0.0
    ) -> None:
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
        # The fp32 model (the same weights) the compiled transformer's vectors are checked against.
        self._reference = base
        self._min_cosine = min_cosine
        # Set once, when the compiled transformer has passed its probe.
        self._compiled: CompiledTransformer | None = None
        self._compile_state = CompileState.OFF

    @property
    def compile_state(self) -> CompileState:
        return self._compile_state

    def start_compiling(self, thread_counts: Sequence[int]) -> None:
        """Compile the transformer on a thread of its own (``compiled.py``); passes run eager
        until it is built for every count in ``thread_counts`` and has passed the probe. On a
        CPU only (CUDA is not compiled here), and once."""
        from omnivec.runtime.backends.compiled import cpp_compiler

        if self._compile_state is not CompileState.OFF or self.device.type != "cpu" or not thread_counts:
            return
        if cpp_compiler() is None:
            log.warning(
                "engine %s for %s: no C++ compiler to compile it", self.info.engine, self.info.model_id
            )
            return
        self._compile_state = CompileState.COMPILING
        threading.Thread(
            target=self._compile, args=(tuple(thread_counts),), name="omnivec-compile", daemon=True
        ).start()

    def _compile(self, thread_counts: tuple[int, ...]) -> None:
        from omnivec.runtime.backends.compiled import compile_transformer
        from omnivec.runtime.backends.device import set_torch_threads
        from omnivec.runtime.backends.parity import PROBE_TEXTS, cosines, encode

        started = time.perf_counter()
        try:
            probes = self.prepare([ModelInput((t,)) for t in PROBE_TEXTS], auto_truncate=True)
            sample = self._features(probes[:4])
            compiled = compile_transformer(self._transformer, self.dtype, sample, thread_counts)
            # The probe passes run here, with a count the graph was built for (another would
            # build one more graph). This thread ends with them, and so does its OpenMP pool.
            set_torch_threads(thread_counts[0])
            reference = encode(self._reference)
            candidate = np.asarray(self.finalize(self._pass(probes, compiled)), dtype=np.float32)
            worst = float(cosines(reference, candidate).min())
        except Exception:  # compiling can fail in many ways; eager serves on
            log.warning(
                "engine %s for %s: compiling failed, the eager engine serves on",
                self.info.engine,
                self.info.model_id,
                exc_info=True,
            )
            self._compile_state = CompileState.FAILED
            return
        if worst < self._min_cosine:
            log.warning(
                "engine %s for %s: compiled, but at probe cosine %.6f, below %s; the eager engine serves on",
                self.info.engine,
                self.info.model_id,
                worst,
                self._min_cosine,
            )
            self._compile_state = CompileState.FAILED
            return
        # Tracing and code generation leave ~120 MB of freed heap behind (MiniLM); hand it back.
        gc.collect()
        release_free_memory()
        self._compiled = compiled
        self._compile_state = CompileState.COMPILED
        log.info(
            "engine %s for %s: compiled in %.0f s for %s torch threads (worst probe cosine %.6f), serving",
            self.info.engine,
            self.info.model_id,
            time.perf_counter() - started,
            "/".join(map(str, dict.fromkeys(thread_counts))),
            worst,
        )

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        compiled = self._compiled
        if compiled is None:
            return self._pass(items, None)
        try:
            return self._pass(items, compiled)
        except Exception:  # a compiled graph that fails must not fail requests: eager from now on
            log.warning(
                "engine %s for %s: a compiled pass failed; the eager engine serves from now on",
                self.info.engine,
                self.info.model_id,
                exc_info=True,
            )
            self._compiled = None
            self._compile_state = CompileState.FAILED
            return self._pass(items, None)

    def _features(self, items: Sequence[PreparedItem]) -> dict[str, torch.Tensor]:
        batch = pad_batch([item.payload for item in items], self.padding)
        return {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}

    def _pass(self, items: Sequence[PreparedItem], compiled: CompiledTransformer | None) -> Any:
        stream = torch.cuda.stream(self._stream) if self._stream is not None else contextlib.nullcontext()
        with torch.inference_mode(), stream:
            # Made in inference mode, like the compiled graph's own inputs when it was built.
            features: dict[str, Any] = self._features(items)
            if compiled is not None:
                features["token_embeddings"] = compiled(features).float()
            else:
                features["modality"] = "text"
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
