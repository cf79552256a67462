"""What both Qdrant adapters (Edge in-process, qdrant-client for a server) translate alike: the
filter tree, the payload indexes custom metadata needs, the plan of a search and the hits.

The two libraries model the same engine with different classes (``qdrant_edge.RangeFloat`` is
``qdrant_client.models.Range``; one takes positional arguments, the other keywords), so each
adapter hands over its few constructors as a ``QdrantTypes`` and everything else is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnivec.index.base import (
    METADATA_KEY,
    TEXT_KEY,
    And,
    Compare,
    Filter,
    Hit,
    Not,
    Or,
    Point,
    SearchMode,
    check_vector,
    metadata_path,
)
from omnivec.index.lexical import Bm25Encoder, SparseWeights

_RANGE_ARGUMENT = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


@dataclass(frozen=True, slots=True)
class QdrantTypes:
    """One library's constructors for what filters and payload indexes are made of."""

    match: Callable[[str, str], Any]  # (path, value) -> a FieldCondition matching a keyword
    range: Callable[..., Any]  # (path, lt=, lte=, gt=, gte=) -> a FieldCondition on a float
    filter: Callable[..., Any]  # (must=, should=, must_not=) -> a Filter
    filter_class: type  # what ``filter`` returns, to tell a Filter from a FieldCondition
    keyword_schema: Any  # the PayloadSchemaType of strings and lists of strings
    float_schema: Any  # the PayloadSchemaType of numbers


def translate_filter(where: Filter | None, types: QdrantTypes) -> Any:
    """The engine's Filter for ``where`` (None for no filter). ``ValueError`` for an order
    comparison on a string."""
    if where is None:
        return None
    condition = _condition(where, types)
    return condition if isinstance(condition, types.filter_class) else types.filter(must=[condition])


def _condition(node: Filter, types: QdrantTypes) -> Any:
    match node:
        case Compare(key=key, op=op, value=value):
            path = metadata_path(key)
            if op in ("=", "!="):
                # a number is equal when it is in the one-point range: Qdrant matches floats so
                equal = (
                    types.match(path, value)
                    if isinstance(value, str)
                    else types.range(path, gte=float(value), lte=float(value))
                )
                return equal if op == "=" else types.filter(must_not=[equal])
            if isinstance(value, str):
                raise ValueError(f"Operator {op} compares numbers, not strings.")
            return types.range(path, **{_RANGE_ARGUMENT[op]: float(value)})
        case And(items=items):
            return types.filter(must=[_condition(item, types) for item in items])
        case Or(items=items):
            return types.filter(should=[_condition(item, types) for item in items])
        case Not(item=item):
            return types.filter(must_not=[_condition(item, types)])
    raise TypeError(f"Not a filter node: {node!r}")


def metadata_indexes(points: Sequence[Point], types: QdrantTypes) -> set[tuple[str, Any]]:
    """(path, schema) of each custom metadata key in ``points`` that can be indexed: keywords
    for strings and lists of strings, floats for numbers; booleans and keys with quotes or
    backslashes (no JSON path can name them) are left out."""
    wanted: dict[str, Any] = {}
    for point in points:
        metadata = point.payload.get(METADATA_KEY)
        if not isinstance(metadata, dict):
            continue
        for key, value in metadata.items():
            schema = _schema_of(value, types)
            if schema is not None and '"' not in key and "\\" not in key:
                wanted.setdefault(metadata_path(key), schema)
    return set(wanted.items())


def _schema_of(value: object, types: QdrantTypes) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return types.keyword_schema
    if isinstance(value, int | float):
        return types.float_schema
    return None


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """The rankings a search asks for: dense, BM25, or both (then fused by reciprocal rank)."""

    dense: list[float] | None
    sparse: SparseWeights | None

    @property
    def empty(self) -> bool:
        """Lexical only, and the text has no indexable word: nothing can match."""
        return self.dense is None and self.sparse is None


def plan_search(
    mode: SearchMode,
    vector: np.ndarray | None,
    text: str | None,
    dimensions: Callable[[], int],
    bm25: Bm25Encoder,
) -> SearchPlan:
    """``dimensions`` is asked only when a vector is used (it may cost a call to the engine)."""
    if mode is SearchMode.DENSE and vector is None:
        raise ValueError("A DENSE search needs a query vector.")
    if mode is SearchMode.LEXICAL and text is None:
        raise ValueError("A LEXICAL search needs a query text.")
    dense = None if mode is SearchMode.LEXICAL or vector is None else check_vector(vector, dimensions())
    sparse = bm25.query(text or "") if mode is not SearchMode.DENSE else None
    return SearchPlan(dense, sparse or None)


def hit(point_id: object, score: float, payload: Mapping[str, Any] | None) -> Hit:
    """A scored point of either library as a ``Hit``, the chunk text taken out of its payload."""
    rest = dict(payload or {})
    text = rest.pop(TEXT_KEY, "")
    return Hit(id=str(point_id), score=float(score), text=str(text), payload=rest)
