"""The model families: which backend serves a checkpoint, declared by the backend modules.

Each backend module registers its family when it is imported
(``register(ModelFamily(...))``): the ``model_type`` values of ``config.json`` it serves (or the
task heads, by ``architectures`` name), and how it loads. The loader asks
``family_for(model_type, architectures)``; the registry imports every module of this package the
first time it is asked (only when a real model is loaded, so heavy libraries stay out of
``omnivec --help``). Adding a family is adding its module and its test.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnivec.errors import ModelLoadError

if TYPE_CHECKING:
    from omnivec.runtime.backends.base import Backend
    from omnivec.runtime.backends.model_dir import LoadRequest


# Engines that leave a model in its own precision: what every family accepts.
OWN_PRECISION_ENGINES = frozenset({"auto", "torch"})


@dataclass(frozen=True, slots=True)
class ModelFamily:
    name: str
    load: Callable[[LoadRequest], Backend]
    # config.json model_type values this family serves (of the checkpoint's transformer module).
    model_types: frozenset[str] = frozenset()
    # Serves every checkpoint no other family claims (sentence-transformers text models).
    fallback: bool = False
    # The engines (settings.ENGINES) that can run it.
    engines: frozenset[str] = OWN_PRECISION_ENGINES
    # config.json ``architectures`` name endings this family serves, whatever the model_type
    # (a task head such as ``ForSequenceClassification`` decides over the backbone's type).
    architecture_suffixes: tuple[str, ...] = ()


_families: dict[str, ModelFamily] = {}
_discovered = False
_lock = threading.Lock()


def register(family: ModelFamily) -> ModelFamily:
    """Declare a family; a second family for the same name or model_type is a programming error."""
    with _lock:
        for other in _families.values():
            if other.name == family.name:
                raise ValueError(f"model family {family.name} is registered twice")
            if shared := other.model_types & family.model_types:
                raise ValueError(f"model types {sorted(shared)} belong to {other.name} and {family.name}")
            if shared_heads := set(other.architecture_suffixes) & set(family.architecture_suffixes):
                raise ValueError(
                    f"architectures {sorted(shared_heads)} belong to {other.name} and {family.name}"
                )
            if other.fallback and family.fallback:
                raise ValueError(f"{other.name} and {family.name} both claim to serve any checkpoint")
        _families[family.name] = family
    return family


def families() -> list[ModelFamily]:
    _discover()
    return list(_families.values())


def family_for(model_type: str | None, architectures: tuple[str, ...] = ()) -> ModelFamily:
    """The family that serves checkpoints of ``model_type`` (None: it could not be read) whose
    ``config.json`` names ``architectures``: a family claiming one of them by its ending first."""
    known = families()
    for family in known:
        if family.architecture_suffixes and any(
            a.endswith(family.architecture_suffixes) for a in architectures
        ):
            return family
    for family in known:
        if model_type in family.model_types:
            return family
    for family in known:
        if family.fallback:
            return family
    served = ", ".join(sorted(t for f in known for t in f.model_types))
    raise ModelLoadError(f"No model family serves model type {model_type!r}; this build serves {served}.")


def family(name: str) -> ModelFamily:
    """A family by its name; an unknown name is a clear error, never a guess."""
    for candidate in families():
        if candidate.name == name:
            return candidate
    names = ", ".join(sorted(f.name for f in families()))
    raise ModelLoadError(f"Unknown model family {name!r}; the families are {names}.")


def _discover() -> None:
    """Import every module of the backends package once: each declares its own family."""
    global _discovered
    if _discovered:
        return
    package = importlib.import_module(__package__ or "omnivec.runtime.backends")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    _discovered = True
