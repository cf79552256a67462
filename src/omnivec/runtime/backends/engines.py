"""Which engine computes a text model's transformer, and the checks that let it serve.

- ``fp32``: torch in full precision (on CUDA too); the reference every other engine is held to.
- ``bf16``: torch with the transformer under bf16 autocast (``precision.py``), pooling and
  normalisation in fp32. Served only if its probe vectors reach ``min_cosine`` to fp32's. On a
  CPU the server compiles it in the background (``compiled.py``), held to the same probe.
- ``onnx``, ``onnx-int8``: ONNX Runtime (``onnx.py``), with their own load-time checks.
- ``auto`` (the default): ``bf16`` where the device computes it natively (AVX-512 BF16 or AMX
  on the CPU, bf16 support on CUDA) and its probe passes; ``fp32`` otherwise, with the reason
  logged.
- ``torch``: the checkpoint's own dtype, fp16 weights on CUDA unless ``half_precision`` is off
  (the behaviour before engines were chosen).

A probe's verdict is remembered per model file hash, device and torch version under the data
directory (``probe_cache.py``), so only the first start with a model pays for it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from omnivec.errors import ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.parity import PROBE_SET_VERSION, encode, worst_cosine
from omnivec.runtime.backends.precision import (
    NATIVE_BF16_CPU_FLAGS,
    MixedPrecisionTextBackend,
    NotMixedPrecisionCapable,
    cpu_flags,
    native_bf16,
)
from omnivec.runtime.backends.probe_cache import ProbeVerdicts
from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.memory import release_free_memory

log = get_logger(__name__)

DEFAULT_MIN_COSINE = 0.9999
_DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}


@dataclass(frozen=True, slots=True)
class EngineRequest:
    engine: str
    # Where exported models and probe verdicts are kept (the data directory); None keeps nothing.
    cache_dir: Path | None = None
    threads: int = 1
    # The model's local files, which name its probe verdicts; None (a hub id) probes every start.
    model_dir: Path | None = None
    min_cosine: float = DEFAULT_MIN_COSINE


def apply_engine(base: SentenceTransformerBackend, request: EngineRequest) -> Backend:
    """The backend that serves ``base``'s model with the requested engine."""
    engine = request.engine
    if engine in ("onnx", "onnx-int8"):
        from omnivec.runtime.backends.onnx import load_onnx_backend

        if request.cache_dir is None:
            raise ModelLoadError(f"Engine {engine} needs a data directory to keep its exported model in.")
        backend = load_onnx_backend(base, engine, request.cache_dir, request.threads)
        release_free_memory()  # the torch transformer it replaced is gone; so is its memory
        return backend
    if engine in ("torch", "fp32"):
        return _as_loaded(base)
    if engine == "bf16":
        native, why = native_bf16(base.device)
        if not native:
            log.warning("engine bf16 for %s: %s, so bf16 is emulated and slower than fp32", _id(base), why)
        candidate, worst = _bf16_candidate(base, request)
        if candidate is None:
            raise ModelLoadError(
                f"Engine bf16 cannot run model {_id(base)}: it does not start with a transformer. Use fp32."
            )
        if worst < request.min_cosine:
            raise ModelLoadError(
                f"The bf16 engine for {_id(base)} reaches cosine {worst:.6f} against fp32 on the probe set, "
                f"below the {request.min_cosine} required; serve it with engine fp32 or auto."
            )
        log.info("engine bf16 for %s: worst probe cosine %.6f", _id(base), worst)
        return candidate
    if engine == "auto":
        return auto_engine(base, request, native_bf16(base.device))
    raise ModelLoadError(f"Unknown engine {engine!r}.")


def auto_engine(base: SentenceTransformerBackend, request: EngineRequest, bf16: tuple[bool, str]) -> Backend:
    """``auto``, given whether the device computes bf16 natively and why (``native_bf16``)."""
    native, why = bf16
    if not native:
        log.info("engine auto for %s: fp32, because %s", _id(base), why)
        return _as_loaded(base)
    candidate, worst = _bf16_candidate(base, request)
    if candidate is None:
        log.warning("engine auto for %s: fp32, because the model cannot run under bf16 autocast", _id(base))
        return _as_loaded(base)
    if worst < request.min_cosine:
        log.warning(
            "engine auto for %s: fp32, because bf16 reached cosine %.6f to fp32 on the probe set, "
            "below the %s required",
            _id(base),
            worst,
            request.min_cosine,
        )
        return _as_loaded(base)
    log.info("engine auto for %s: bf16 (%s; worst probe cosine %.6f)", _id(base), why, worst)
    return candidate


def _bf16_candidate(
    base: SentenceTransformerBackend, request: EngineRequest
) -> tuple[MixedPrecisionTextBackend | None, float]:
    try:
        candidate = MixedPrecisionTextBackend(base, torch.bfloat16, "bf16", min_cosine=request.min_cosine)
    except NotMixedPrecisionCapable as exc:
        log.warning("engine bf16 unavailable: %s", exc)
        return None, 0.0
    return candidate, _probe(base, candidate, request)


def _probe(base: SentenceTransformerBackend, candidate: Backend, request: EngineRequest) -> float:
    """The candidate's worst probe cosine to fp32, remembered where the model has local files."""
    verdicts = key = None
    if request.cache_dir is not None and request.model_dir is not None:
        verdicts = ProbeVerdicts(request.cache_dir / "engine-probes")
        key = _verdict_key(verdicts.model_digest(request.model_dir), candidate, base.device)
        cached = verdicts.worst_cosine(key)
        if cached is not None:
            log.info("engine %s for %s: probe verdict of an earlier start", candidate.info.engine, _id(base))
            return cached
    worst = worst_cosine(encode(base), candidate)
    if verdicts is not None and key is not None:
        about = {"model": base.info.model_id, "engine": candidate.info.engine, "torch": torch.__version__}
        verdicts.remember(key, worst, about)
    return worst


def _verdict_key(model_digest: str, candidate: Backend, device: torch.device) -> str:
    """What a verdict depends on: the files, the engine, the kernels (device, torch), the probes."""
    if device.type == "cuda":
        kernels = torch.cuda.get_device_name(device)
    else:
        kernels = f"{device.type}:{torch.backends.cpu.get_cpu_capability()}:" + ",".join(
            sorted(cpu_flags() & NATIVE_BF16_CPU_FLAGS)
        )
    parts = [model_digest, candidate.info.engine, kernels, torch.__version__, PROBE_SET_VERSION]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _as_loaded(base: SentenceTransformerBackend) -> SentenceTransformerBackend:
    """``base`` itself, its engine named by the dtype its weights were loaded in."""
    dtype = next(base.model.parameters()).dtype
    engine = _DTYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))
    if base.info.engine != engine:
        base.info = replace(base.info, description=f"{base.info.description} [{engine}]", engine=engine)
    return base


def _id(base: SentenceTransformerBackend) -> str:
    return base.info.model_id
