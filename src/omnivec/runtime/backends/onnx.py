"""ONNX Runtime engines for sentence-transformers text models: ``onnx`` (fp32) and ``onnx-int8``.

The transformer is exported from the loaded torch model (once per weights, torch and runtime
version; cached under the data directory) and run by ONNX Runtime; tokenisation, pooling, Dense
layers and normalisation stay the model's own sentence-transformers modules, so everything but
the transformer's arithmetic is identical to the torch engine. ``onnx-int8`` quantises the
transformer's weight matrices to int8 (dynamic quantisation: activations are quantised on the
fly), per output channel.

Neither engine serves a vector it has not checked: at every load both run a fixed probe set
next to the torch model and refuse to serve unless cosine similarity reaches 0.9999 (fp32) or
0.99 (int8) on every probe text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from omnivec.errors import ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.parity import PROBE_TEXTS
from omnivec.runtime.backends.parity import cosines as _cosines
from omnivec.runtime.backends.parity import encode as _encode
from omnivec.runtime.backends.text import SentenceTransformerBackend
from omnivec.runtime.backends.tokens import pad_batch
from omnivec.runtime.inputs import ModelInput, PreparedItem
from omnivec.settings import ENGINES

log = get_logger(__name__)

MIN_COSINE = {"onnx": 0.9999, "onnx-int8": 0.99}
# Quantisation aims a little above the threshold the load check enforces: the probe set is small,
# and other text (and other CPUs' int8 kernels) land a little lower.
_INT8_BUILD_MARGIN = 0.001
_OPSET = 17
_CACHE_VERSION = "3"  # bump when the export or quantisation recipe changes


class OnnxTextBackend(SentenceTransformerBackend):
    """The torch backend's tokenizer and sentence-transformers modules around an ONNX Runtime
    session that replaces the transformer."""

    def __init__(self, base: SentenceTransformerBackend, session: Any, engine: str) -> None:
        super().__init__(
            base.model,
            # One session's thread pool serves every run: concurrent runs would only contend.
            replace(
                base.info,
                description=f"{base.info.description} [{engine}]",
                engine=engine,
                concurrent_forward=False,
            ),
            base.device,
        )
        self.engine = engine
        self.session = session
        self._input_names = tuple(i.name for i in session.get_inputs())
        # Everything after the transformer: pooling, Dense, Normalize, as the model defines them.
        self._tail = [module for _, module in list(base.model.named_children())[1:]]

    def release_torch_model(self) -> None:
        """Once checked, the torch transformer is dead weight: let its memory go."""
        self.model = None

    def forward(self, items: Sequence[PreparedItem]) -> Any:
        batch = pad_batch([item.payload for item in items], self.padding)
        (hidden,) = self.session.run(None, {k: batch[k] for k in self._input_names})
        features: dict[str, Any] = {k: torch.from_numpy(v) for k, v in batch.items()}
        features["modality"] = "text"
        features["token_embeddings"] = torch.from_numpy(hidden)
        with torch.inference_mode():
            for module in self._tail:
                features = module(features)
        return features["sentence_embedding"]

    def close(self) -> None:
        self.session = None
        self._tail = []


def load_onnx_backend(base: Backend, engine: str, cache_dir: Path, threads: int) -> OnnxTextBackend:
    """Export (or reuse) the ONNX transformer of ``base``, check it, and return the backend."""
    if not isinstance(base, SentenceTransformerBackend):
        raise ModelLoadError(
            f"Engine {engine} runs sentence-transformers models; {base.info.source} is not one."
        )
    if engine not in MIN_COSINE:
        raise ModelLoadError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelLoadError(f"Engine {engine} needs ONNX Runtime: pip install 'omnivec[onnx]'.") from None
    transformer = _transformer_module(base)
    directory = cache_dir / "onnx" / _cache_key(base, transformer)
    directory.mkdir(parents=True, exist_ok=True)
    fp32 = directory / "model.onnx"
    if not fp32.is_file():
        log.info("exporting %s to ONNX (once; cached in %s)", base.info.model_id, directory)
        _export(base, transformer, fp32)
    reference = _encode(base, PROBE_TEXTS)

    def worst_cosine(path: Path) -> float:
        candidate = OnnxTextBackend(base, _session(path, threads, base.device), engine)
        return float(_cosines(reference, _encode(candidate, PROBE_TEXTS)).min())

    path = fp32
    if engine == "onnx-int8":
        path = directory / "model-int8.onnx"
        if not path.is_file():
            log.info("quantising %s to int8 (once)", base.info.model_id)
            _quantize(fp32, path, worst_cosine)
    backend = OnnxTextBackend(base, _session(path, threads, base.device), engine)
    worst = float(_cosines(reference, _encode(backend, PROBE_TEXTS)).min())
    if worst < MIN_COSINE[engine]:
        raise ModelLoadError(
            f"The {engine} engine for {base.info.model_id} reaches cosine {worst:.5f} against the torch "
            f"model on the probe set, below the {MIN_COSINE[engine]} required; serve it with engine torch."
        )
    log.info("%s engine for %s: worst probe cosine %.6f", engine, base.info.model_id, worst)
    backend.release_torch_model()
    return backend


# --- export ------------------------------------------------------------------------------------
class _Encoder(torch.nn.Module):
    """The Hugging Face model with positional inputs and one output, as the exporter wants it."""

    def __init__(self, model: Any, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = self.model(**dict(zip(self.names, inputs, strict=True)), return_dict=True)
        hidden: torch.Tensor = out.last_hidden_state
        return hidden


def _transformer_module(base: SentenceTransformerBackend) -> Any:
    first = base.model[0]
    auto_model = getattr(first, "auto_model", None)
    if auto_model is None or getattr(first, "module_output_name", "token_embeddings") != "token_embeddings":
        raise ModelLoadError(
            f"Model {base.info.model_id} does not start with a transformer producing token embeddings; "
            "the ONNX engines cannot serve it. Use engine torch."
        )
    return auto_model


def _export(base: SentenceTransformerBackend, transformer: Any, path: Path) -> None:
    sample = base.prepare(
        [ModelInput(("An example sentence for tracing.",)), ModelInput(("Short.",))], auto_truncate=True
    )
    batch = pad_batch([item.payload for item in sample], base.padding)
    names = tuple(batch)
    config = transformer.config
    # The exporter traces one attention implementation; the plain ("eager") one exports to
    # ordinary MatMul/Softmax nodes that ONNX Runtime fuses and quantises well.
    saved = getattr(config, "_attn_implementation", None)
    config._attn_implementation = "eager"
    tmp = path.with_suffix(".tmp")
    try:
        # The tracer warns about shape-dependent branches and the legacy exporter about itself;
        # the parity check at load is what vouches for the result.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Encoder(transformer, names).eval(),
                tuple(torch.from_numpy(batch[k]) for k in names),
                str(tmp),
                input_names=list(names),
                output_names=["last_hidden_state"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in (*names, "last_hidden_state")},
                opset_version=_OPSET,
                dynamo=False,
            )
    finally:
        config._attn_implementation = saved
    tmp.replace(path)  # never leave a half-written model where the cache would find it


def _quantize(fp32: Path, int8: Path, probe: Callable[[Path], float]) -> None:
    """Dynamic int8, per output channel, on every weight matrix; where that costs too much
    accuracy, keep the feed-forward layers in fp32 — first the down-projections, then the
    up-projections, each from the first transformer layer on (the order int8 hurts them in,
    measured) — until the probe set passes."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    down, up = _feed_forward_projections(onnx.load(str(fp32), load_external_data=False))
    keep_fp32 = down + up
    tmp = int8.with_suffix(".tmp")
    for keep in range(len(keep_fp32) + 1):
        with _quiet_root_logger():  # the quantiser logs a generic advice line on every call
            quantize_dynamic(
                str(fp32),
                str(tmp),
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=keep_fp32[:keep],
                extra_options={"MatMulConstBOnly": True},
            )
        worst = probe(tmp)
        if worst >= MIN_COSINE["onnx-int8"] + _INT8_BUILD_MARGIN:
            log.info("int8: %d feed-forward layer(s) kept in fp32, worst probe cosine %.5f", keep, worst)
            tmp.replace(int8)
            return
    tmp.unlink(missing_ok=True)
    raise ModelLoadError(
        f"int8 quantisation cannot keep cosine {MIN_COSINE['onnx-int8']} (with margin) on the probe set; "
        "serve it with engine onnx or torch."
    )


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _feed_forward_projections(model: Any) -> tuple[list[str], list[str]]:
    """MatMuls whose weight maps a wider input to a narrower output (each transformer layer's
    feed-forward down-projection) and the reverse (its up-projection), in graph order; square
    weights (attention) are neither."""
    shapes = {i.name: tuple(i.dims) for i in model.graph.initializer}
    down: list[str] = []
    up: list[str] = []
    for node in model.graph.node:
        shape = shapes.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if shape is not None and len(shape) == 2 and shape[0] != shape[1]:
            (down if shape[0] > shape[1] else up).append(node.name)
    return down, up


# --- runtime -----------------------------------------------------------------------------------
def _session(path: Path, threads: int, device: torch.device) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # ONNX Runtime's pools spin while waiting for work by default, stealing cores from
    # tokenisation and the event loop that share the machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(str(path), options, providers=providers)


def _cache_key(base: SentenceTransformerBackend, transformer: Any) -> str:
    """Same weights, same torch and ONNX Runtime, same recipe: same files."""
    digest = hashlib.sha256()
    for name, tensor in sorted(transformer.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    versions = {p: _version(p) for p in ("torch", "onnxruntime", "onnx", "transformers")}
    digest.update(json.dumps([versions, _OPSET, _CACHE_VERSION], sort_keys=True).encode())
    return f"{base.info.model_id}-{digest.hexdigest()[:16]}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"
