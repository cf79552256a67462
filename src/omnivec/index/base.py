"""The vector-store protocol the search-store service is written against.

A *collection* holds the chunks of one File Search store. Each point carries a dense vector,
the chunk's text (indexed for BM25 by the store, so hybrid search needs no second engine) and a
payload of plain JSON values used for filtering and for showing the hit. Adapters translate
``Filter`` trees into their engine's filter language; nothing above ``index/`` sees an engine
type.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np


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
    """``key OP value``. ``op`` is one of ``= != < <= > >=``; ``=`` on a list-valued key means
    membership (the list contains the value)."""

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
    """Thread-safe; every method may block (the service calls them off the event loop)."""

    def create_collection(self, name: str, dimensions: int) -> None:
        """Create the collection if it does not exist (idempotent)."""

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

    def close(self) -> None: ...
