"""Qdrant Edge, in-process: the default vector store. One shard per collection, each in its own
directory under the root, holding a dense cosine vector and a BM25 sparse vector per point.

Edge takes an exclusive lock on a shard's write-ahead log, so one process owns a root. Writes
go through the WAL before ``update`` returns, so a process killed right after an upsert finds
its points again on reopen. Payload indexes are created as metadata keys first appear (keyword
for strings and lists of strings, float for numbers), and on the keys ``delete_where`` uses.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from omnivec.errors import NotFound
from omnivec.index.base import (
    TEXT_KEY,
    Filter,
    Hit,
    Point,
    SearchMode,
    check_collection_name,
    check_limit,
    check_vector,
)
from omnivec.index.fusion import hybrid_candidates, reciprocal_rank_fusion
from omnivec.index.lexical import DENSE_VECTOR_NAME, SPARSE_VECTOR_NAME, Bm25Encoder
from omnivec.index.qdrant_translation import (
    QdrantTypes,
    hit,
    metadata_indexes,
    plan_search,
    translate_filter,
)
from omnivec.index.registry import StoreUrl, vector_store_scheme
from omnivec.logging import get_logger

log = get_logger(__name__)

# Working directories: a shard is built under a temporary name and renamed into place, and
# dropped by renaming it away first, so a crash never leaves half a shard under a real name.
_TMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"
# Our own note beside Edge's files: what the collection was created with.
_DESCRIPTION_FILE = "omnivec-collection.json"


class _Shard:
    def __init__(self, shard: qe.EdgeShard, dimensions: int) -> None:
        self.shard = shard
        self.dimensions = dimensions
        self.lock = threading.RLock()
        # held by ``optimize`` (which runs outside ``lock``) and by whoever closes the shard, so
        # a shard is never closed under a running index build
        self.maintenance = threading.Lock()
        self.indexed: set[str] = set(shard.info().payload_schema)
        self.closed = False

    def ensure_index(self, path: str, schema: qe.PayloadSchemaType) -> None:
        if path not in self.indexed:
            self.shard.update(qe.UpdateOperation.create_field_index(path, schema))
            self.indexed.add(path)


class EdgeVectorStore:
    """``VectorStore`` over Qdrant Edge shards under ``root``."""

    def __init__(self, root: Path, *, indexing_threshold_kb: int | None = None) -> None:
        """``indexing_threshold_kb``: how large a segment's vectors grow before ``optimize``
        builds an HNSW index for it (Edge's default, about 10 MB, when None); smaller segments
        are searched exactly. Applies to collections created from now on."""
        self._root = root
        self._indexing_threshold_kb = indexing_threshold_kb
        root.mkdir(parents=True, exist_ok=True)
        self._bm25 = Bm25Encoder()
        self._shards: dict[str, _Shard] = {}
        self._lock = threading.Lock()  # guards ``_shards``; each shard has its own lock
        self._dropping: set[str] = set()
        self._sweep_leftovers()

    # --- collections ---------------------------------------------------------------------

    def create_collection(self, name: str, dimensions: int) -> None:
        check_collection_name(name)
        with self._lock:
            if name in self._dropping:
                raise ValueError(f"Collection {name} is being dropped; create it again afterwards.")
            shard = self._open(name)
            if shard is not None:
                if shard.dimensions != dimensions:
                    raise ValueError(
                        f"Collection {name} exists with {shard.dimensions} dimensions, not {dimensions}."
                    )
                return
            staging = self._root / f"{_TMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
            qe.EdgeShard.create(str(staging), _config(dimensions, self._indexing_threshold_kb)).close()
            (staging / _DESCRIPTION_FILE).write_text(json.dumps({"dimensions": dimensions}))
            os.replace(staging, self._root / name)
            self._shards[name] = _Shard(qe.EdgeShard.load(str(self._root / name)), dimensions)

    def has_collection(self, name: str) -> bool:
        check_collection_name(name)
        with self._lock:
            return self._open(name) is not None

    def drop_collection(self, name: str) -> None:
        check_collection_name(name)
        with self._lock:
            shard = self._shards.pop(name, None)
            self._dropping.add(name)  # nobody reopens it meanwhile
        try:
            if shard is not None:
                _close(shard)  # outside ``_lock``: it may wait for a running index build
            path = self._root / name
            if path.exists():
                trash = self._root / f"{_TRASH_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
                os.replace(path, trash)
                shutil.rmtree(trash, ignore_errors=True)
        finally:
            with self._lock:
                self._dropping.discard(name)

    # --- points --------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        if not points:
            return
        shard = self._require(name)
        edge_points = [self._edge_point(p, shard.dimensions) for p in points]
        with shard.lock:
            self._check_open(shard, name)
            for path, schema in metadata_indexes(points, EDGE_TYPES):
                shard.ensure_index(path, schema)
            shard.shard.update(qe.UpdateOperation.upsert_points(edge_points))

    def delete_where(self, name: str, key: str, value: str) -> None:
        shard = self._require(name)
        with shard.lock:
            self._check_open(shard, name)
            shard.ensure_index(key, qe.PayloadSchemaType.Keyword)
            condition = qe.FieldCondition(key, match=qe.MatchValue(value))
            shard.shard.update(qe.UpdateOperation.delete_points_by_filter(qe.Filter(must=[condition])))

    def count(self, name: str, where: Filter | None = None) -> int:
        shard = self._require(name)
        with shard.lock:
            self._check_open(shard, name)
            return shard.shard.count(qe.CountRequest(exact=True, filter=translate_filter(where, EDGE_TYPES)))

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
        check_limit(limit)
        shard = self._require(name)
        edge_filter = translate_filter(where, EDGE_TYPES)
        plan = plan_search(mode, vector, text, lambda: shard.dimensions, self._bm25)
        queries = []
        if plan.dense is not None:
            queries.append(qe.Query.Nearest(plan.dense, using=DENSE_VECTOR_NAME))
        if plan.sparse is not None:
            sparse = qe.SparseVector(plan.sparse.indices, plan.sparse.values)
            queries.append(qe.Query.Nearest(sparse, using=SPARSE_VECTOR_NAME))
        if not queries:
            return []  # lexical only, and the text has no indexable word
        if len(queries) == 1:
            with shard.lock:
                self._check_open(shard, name)
                return [_hit(p) for p in shard.shard.query(_query_request(queries[0], limit, edge_filter))]
        candidates = hybrid_candidates(limit)
        batch = qe.QueryBatchRequest([_query_request(q, candidates, edge_filter) for q in queries])
        with shard.lock:
            self._check_open(shard, name)
            rankings = shard.shard.query_batch(batch)
        return reciprocal_rank_fusion([[_hit(p) for p in ranking] for ranking in rankings], limit)

    def optimize(self, name: str) -> None:
        shard = self._require(name)
        # Not under the shard lock: Edge optimizes segments copy-on-write beside live ones, so
        # searches and writes go on meanwhile.
        with shard.maintenance:
            self._check_open(shard, name)
            shard.shard.optimize()

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                _close(shard)
            self._shards.clear()

    # --- internals -----------------------------------------------------------------------

    def _open(self, name: str) -> _Shard | None:
        """The open shard, opened from disk on first use; None if there is none. Holds ``_lock``."""
        if name in self._dropping:
            return None
        shard = self._shards.get(name)
        if shard is None and (self._root / name).is_dir():
            description = json.loads((self._root / name / _DESCRIPTION_FILE).read_text())
            shard = _Shard(qe.EdgeShard.load(str(self._root / name)), int(description["dimensions"]))
            self._shards[name] = shard
        return shard

    def _require(self, name: str) -> _Shard:
        check_collection_name(name)
        with self._lock:
            shard = self._open(name)
        if shard is None:
            raise NotFound(f"Vector collection {name} does not exist.")
        return shard

    @staticmethod
    def _check_open(shard: _Shard, name: str) -> None:
        if shard.closed:  # dropped (or the store closed) while this call waited for the lock
            raise NotFound(f"Vector collection {name} does not exist.")

    def _edge_point(self, point: Point, dimensions: int) -> qe.Point:
        vectors: dict[str, Any] = {DENSE_VECTOR_NAME: check_vector(point.vector, dimensions)}
        sparse = self._bm25.document(point.text)
        vectors[SPARSE_VECTOR_NAME] = qe.SparseVector(sparse.indices, sparse.values)
        payload = {**point.payload, TEXT_KEY: point.text}
        return qe.Point(point.id, vectors, payload)

    def _sweep_leftovers(self) -> None:
        for entry in self._root.iterdir():
            if entry.name.startswith((_TMP_PREFIX, _TRASH_PREFIX)):
                log.info("removing an unfinished vector collection directory", extra={"path": entry.name})
                shutil.rmtree(entry, ignore_errors=True)


def _close(shard: _Shard) -> None:
    with shard.maintenance, shard.lock:
        if not shard.closed:
            shard.closed = True
            shard.shard.close()


def _config(dimensions: int, indexing_threshold_kb: int | None) -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR_NAME: qe.EdgeVectorParams(size=dimensions, distance=qe.Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR_NAME: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        optimizers=qe.EdgeOptimizersConfig(indexing_threshold=indexing_threshold_kb),
    )


def _query_request(query: qe.Query, limit: int, where: qe.Filter | None) -> qe.QueryRequest:
    return qe.QueryRequest(limit=limit, query=query, filter=where, with_payload=True)


def _hit(point: qe.ScoredPoint) -> Hit:
    return hit(point.id, point.score, point.payload)


EDGE_TYPES = QdrantTypes(
    match=lambda path, value: qe.FieldCondition(path, match=qe.MatchValue(value)),
    range=lambda path, **bounds: qe.FieldCondition(path, range=qe.RangeFloat(**bounds)),
    filter=qe.Filter,
    filter_class=qe.Filter,
    keyword_schema=qe.PayloadSchemaType.Keyword,
    float_schema=qe.PayloadSchemaType.Float,
)


@vector_store_scheme("edge")
def open_edge(url: StoreUrl, data_dir: Path) -> EdgeVectorStore:
    """``edge`` (the default: ``DATA_DIR/vectors``) or ``edge:///absolute/path``."""
    return EdgeVectorStore(Path(url.path) if url.path else data_dir / "vectors")
