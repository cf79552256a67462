"""The registry of vector stores, by URL scheme. Each adapter module in ``omnivec.index``
declares the schemes it opens with ``@vector_store_scheme``; adapter modules are imported on the
first ``open_vector_store`` call, so importing the package stays cheap.

URLs: none or ``edge`` (Qdrant Edge under ``DATA_DIR/vectors``), ``edge:///path``,
``qdrant+http://HOST:PORT``, ``qdrant+https://HOST:PORT`` (API key as the password:
``qdrant+https://:KEY@HOST:6333``), ``memory`` (qdrant-client in-process, nothing kept) and
``qdrant+local:///path`` (qdrant-client's local files; tests and small stores only).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from omnivec.index.base import VectorStore

DEFAULT_SCHEME = "edge"


class InvalidVectorStoreUrl(ValueError):
    """A ``--vector-store`` value no adapter opens; the message says what is accepted."""


@dataclass(frozen=True, slots=True)
class StoreUrl:
    scheme: str
    host: str | None = None
    port: int | None = None
    path: str = ""
    password: str | None = None

    @classmethod
    def parse(cls, url: str | None) -> StoreUrl:
        text = (url or DEFAULT_SCHEME).strip()
        if text in {":memory:", "memory", "memory:"}:
            return cls("memory")
        if ":" not in text:
            return cls(text.lower())
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise InvalidVectorStoreUrl(f"Vector store URL {text!r} is malformed: {exc}.") from None
        return cls(
            scheme=parts.scheme.lower(),
            host=parts.hostname,
            port=port,
            path=unquote(parts.path),
            password=unquote(parts.password) if parts.password else None,
        )


Opener = Callable[[StoreUrl, Path], VectorStore]
_OpenerT = TypeVar("_OpenerT", bound=Callable[..., VectorStore])
_OPENERS: dict[str, Opener] = {}
_loaded = threading.Lock()
_adapters_imported = False


def vector_store_scheme(*schemes: str) -> Callable[[_OpenerT], _OpenerT]:
    """Declare ``opener(url, data_dir)`` as the way to open these URL schemes."""

    def register(opener: _OpenerT) -> _OpenerT:
        for scheme in schemes:
            if scheme in _OPENERS:
                raise RuntimeError(f"Vector store scheme {scheme} is declared twice.")
            _OPENERS[scheme] = opener
        return opener

    return register


def known_schemes() -> list[str]:
    _import_adapters()
    return sorted(_OPENERS)


def open_vector_store(url: str | None, data_dir: Path) -> VectorStore:
    """Open the vector store ``url`` names (None: the default, Qdrant Edge under ``data_dir``)."""
    parsed = StoreUrl.parse(url)
    _import_adapters()
    opener = _OPENERS.get(parsed.scheme)
    if opener is None:
        raise InvalidVectorStoreUrl(
            f"Unknown vector store {url!r}: use one of {', '.join(known_schemes())} "
            "(for example qdrant+http://localhost:6333)."
        )
    return opener(parsed, data_dir)


def _import_adapters() -> None:
    global _adapters_imported
    with _loaded:
        if _adapters_imported:
            return
        package = importlib.import_module("omnivec.index")
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"omnivec.index.{module.name}")
        _adapters_imported = True
