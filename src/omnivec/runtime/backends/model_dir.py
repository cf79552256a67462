"""What a model directory (or hub repository) says about itself, read before anything loads.

The architecture comes from the checkpoint's own files: ``config.json`` ``model_type`` of the
transformer module (for a sentence-transformers model, the module ``modules.json`` names), plus
the sentence-transformers settings (prompts, maximum sequence length) when they exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omnivec.logging import get_logger
from omnivec.types import Modality, PromptStyle

log = get_logger(__name__)

# sentence-transformers module types that wrap a transformers checkpoint (CLIPModel: the
# older layout of its CLIP models, e.g. sentence-transformers/clip-ViT-B-32).
_CHECKPOINT_MODULES = ("Transformer", "CLIPModel")


@dataclass(frozen=True, slots=True)
class ModelDirectory:
    """A model on local disk. ``module`` is the folder holding the transformer's config.json
    (the root for plain transformers checkpoints)."""

    root: Path
    module: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def model_type(self) -> str | None:
        value = self.config.get("model_type")
        return value if isinstance(value, str) else None

    def json(self, name: str) -> dict[str, Any]:
        """A JSON object file of the transformer module (or the root), {} when absent."""
        return _read_dict(self.module / name) or _read_dict(self.root / name)

    @property
    def st_prompts(self) -> dict[str, str]:
        prompts = _read_dict(self.root / "config_sentence_transformers.json").get("prompts") or {}
        return {str(k): str(v) for k, v in prompts.items()} if isinstance(prompts, dict) else {}

    @property
    def st_max_seq_length(self) -> int | None:
        value = self.json("sentence_bert_config.json").get("max_seq_length")
        return int(value) if isinstance(value, int) and value > 0 else None


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """What the loader asks a model family's ``load`` for."""

    model_id: str
    path: str  # a local directory, or a hub id
    local_only: bool
    device: str
    # Where the model came from, as clients may be told (a local directory by its name only).
    source: str
    # The settings' prompt style for this model; None: the family decides.
    prompt_style: PromptStyle | None = None
    # What to serve the model for; towers not needed are not loaded. None: all it has.
    modalities: frozenset[Modality] | None = None
    trust_remote_code: bool = False
    half_precision: bool | None = None

    @property
    def wanted(self) -> frozenset[Modality]:
        return self.modalities or frozenset(Modality)

    def open_directory(self) -> ModelDirectory:
        """The model's files on local disk (a hub repository is downloaded first, when allowed)."""
        return local_directory(self.path, local_only=self.local_only)

    def style(self, directory: ModelDirectory, trained: PromptStyle) -> PromptStyle:
        """The prompt style to serve with: the settings', else EmbeddingGemma's when the
        checkpoint's own prompts are written in it, else the family's ``trained`` one."""
        if self.prompt_style is not None:
            return self.prompt_style
        if any(p.startswith("task: ") for p in directory.st_prompts.values()):
            return PromptStyle.GEMMA
        return trained


def peek_model_type(source: str, *, local_only: bool) -> str | None:
    """The transformer's ``model_type`` for a local directory or a hub id, reading only the two
    small JSON files; None when it cannot be told (the text path then decides)."""
    value = peek_config(source, local_only=local_only).get("model_type")
    return value if isinstance(value, str) else None


def architectures_of(config: dict[str, Any]) -> tuple[str, ...]:
    """The ``architectures`` a checkpoint's config.json names (its head: ``…ForSequenceClassification``)."""
    value = config.get("architectures")
    return tuple(a for a in value if isinstance(a, str)) if isinstance(value, list) else ()


def peek_config(source: str, *, local_only: bool) -> dict[str, Any]:
    """The transformer's ``config.json`` for a local directory or a hub id, reading only the two
    small JSON files; {} when it cannot be read."""
    local = Path(source)
    if local.is_dir():
        return open_directory(local).config
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:  # pragma: no cover - a dependency of transformers
        return {}

    def fetch(name: str) -> Any:
        try:
            return _read_json(Path(hf_hub_download(source, name, local_files_only=local_only)))
        except (EntryNotFoundError, OSError, ValueError):
            return {}

    module = _module_path(fetch("modules.json"))
    config = fetch(f"{module}/config.json" if module else "config.json")
    return config if isinstance(config, dict) else {}


def local_directory(source: str, *, local_only: bool) -> ModelDirectory:
    """The model's files on local disk, downloading a hub repository first when allowed."""
    local = Path(source)
    if not local.is_dir():
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(source, local_files_only=local_only))
    return open_directory(local)


def open_directory(root: Path) -> ModelDirectory:
    module = root / _module_path(_read_json(root / "modules.json"))
    return ModelDirectory(root=root, module=module, config=_read_dict(module / "config.json"))


def _module_path(modules: Any) -> str:
    """Where a sentence-transformers pipeline keeps its checkpoint module ('' = the root)."""
    if isinstance(modules, list):
        for entry in modules:
            if isinstance(entry, dict) and str(entry.get("type", "")).endswith(_CHECKPOINT_MODULES):
                return str(entry.get("path") or "")
    return ""


def _read_json(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path.name, exc)
        return {}
    return data


def _read_dict(path: Path) -> dict[str, Any]:
    data = _read_json(path)
    return data if isinstance(data, dict) else {}
