"""The vector-store protocol the search-store service is written against.

A *collection* holds the chunks of one File Search store. Each point carries a dense vector,
the chunk's text (indexed for BM25 by the store, so hybrid search needs no second engine) and a
payload of plain JSON values used for filtering and for showing the hit. Adapters translate
``Filter`` trees into their engine's filter language; nothing above ``index/`` sees an engine
type.

Payload layout (shared by every adapter and the service):

- ``payload["metadata"]`` holds the chunk's custom metadata, ``{key: value}`` where a value is
  a ``str``, a ``float`` or a ``list[str]``. A filter key ``author`` means
  ``payload["metadata"]["author"]``; adapters index these fields for filtering.
- Any other top-level key is the caller's (document id, page number, offsets...).
  ``delete_where`` and ``count`` work on top-level keys.
- The chunk text travels beside the payload (``Point.text``, ``Hit.text``); adapters store it
  under a key of their own that never shows in ``Hit.payload``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

METADATA_KEY = "metadata"
"""Top-level payload key of the custom metadata that filters refer to."""
TEXT_KEY = "_text"
"""Where adapters keep ``Point.text`` in the engine's payload; stripped from ``Hit.payload``."""


class SearchMode(enum.StrEnum):
    HYBRID = "HYBRID"  # dense + BM25, fused by reciprocal rank
    DENSE = "DENSE"
    LEXICAL = "LEXICAL"


@dataclass(frozen=True, slots=True)
class Point:
    """One chunk. ``id`` is a UUID string chosen by the caller (deterministic ids make
    re-ingestion after a crash an overwrite, never a duplicate)."""

    id: str
    vector: np.ndarray
    text: str
    payload: Mapping[str, Any] = field(default_factory=dict)


# --- filters: a small tree, built by the AIP-160 parser, translated by each adapter ---------


@dataclass(frozen=True, slots=True)
class Compare:
    """``key OP value`` on custom metadata (``payload["metadata"][key]``). ``op`` is one of
    ``= != < <= > >=``; ``=`` on a list-valued key means membership (the list contains the
    value), ``!=`` that it does not. ``< <= > >=`` take numbers only."""

    key: str
    op: str
    value: str | float


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Filter


Filter = Compare | And | Or | Not


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    text: str
    payload: Mapping[str, Any]


class VectorStore(Protocol):
    """Thread-safe; every method may block (the service calls them off the event loop).

    Collection names are ``[A-Za-z0-9_-]``, at most 128 characters (``ValueError`` otherwise).
    Point-level methods on a collection that does not exist raise ``errors.NotFound``."""

    def create_collection(self, name: str, dimensions: int) -> None:
        """Create the collection if it does not exist (idempotent). ``ValueError`` if it exists
        with other dimensions."""

    def has_collection(self, name: str) -> bool: ...

    def drop_collection(self, name: str) -> None:
        """Remove the collection and all its points (idempotent)."""

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        """Insert or overwrite points by id; durable when it returns."""

    def delete_where(self, name: str, key: str, value: str) -> None:
        """Delete every point whose payload ``key`` equals ``value`` (e.g. one document)."""

    def count(self, name: str, where: Filter | None = None) -> int: ...

    def search(
        self,
        name: str,
        *,
        vector: np.ndarray | None,
        text: str | None,
        mode: SearchMode,
        limit: int,
        where: Filter | None = None,
    ) -> list[Hit]:
        """Best first. DENSE needs ``vector``, LEXICAL needs ``text``, HYBRID uses both."""

    def optimize(self, name: str) -> None:
        """Build the ANN and payload indexes for what has been written so far. Searches are
        exact (and slower) on points not yet optimized; searching and writing keep working
        while it runs. May take minutes on a large collection: call it when ingestion goes
        idle. A no-op where the engine optimizes by itself (a Qdrant server)."""

    def close(self) -> None: ...


_COLLECTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_collection_name(name: str) -> str:
    """Names become directory names (Edge) and collection names (server): keep them plain."""
    if not _COLLECTION_NAME.fullmatch(name):
        raise ValueError(f"Collection name {name!r} must be 1-128 characters of [A-Za-z0-9_-].")
    return name


def metadata_path(key: str) -> str:
    """The Qdrant JSON path of custom metadata ``key``, quoted so any key (spaces, dashes,
    dots) is one path segment."""
    if '"' in key or "\\" in key:
        raise ValueError(f"Metadata key {key!r} cannot contain quotes or backslashes.")
    return f'{METADATA_KEY}."{key}"'


def check_vector(vector: np.ndarray, dimensions: int) -> list[float]:
    """The vector as the engines take it; ``ValueError`` (not an engine error) on a wrong size."""
    values = np.asarray(vector, dtype=np.float32).ravel()
    if values.shape[0] != dimensions:
        raise ValueError(f"Vector has {values.shape[0]} dimensions; the collection has {dimensions}.")
    if not np.isfinite(values).all():
        raise ValueError("Vector has NaN or infinite values.")
    return values.tolist()


def check_limit(limit: int) -> int:
    if limit < 1:
        raise ValueError(f"A search returns at least 1 result; {limit} asked.")
    return limit
