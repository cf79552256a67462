"""A Qdrant server or cluster through ``qdrant-client``: the scale-out vector store, with the
same data model as the Edge default (a dense cosine vector and a BM25 sparse vector with IDF per
point, RRF fusion for hybrid search, payload indexes on custom metadata).

The same adapter drives ``qdrant-client``'s in-process modes (``memory`` and
``qdrant+local:///path``), which is how it is tested: no Qdrant server binary installs from
PyPI. Those modes compute everything in Python, fine for tests and small stores only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from omnivec.errors import NotFound, Unavailable
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
from omnivec.index.registry import InvalidVectorStoreUrl, StoreUrl, vector_store_scheme
from omnivec.logging import get_logger

log = get_logger(__name__)

# Collections on a shared server are namespaced, so omnivec's never collide with others'.
COLLECTION_PREFIX = "omnivec_"
REQUEST_TIMEOUT_S = 60


class QdrantClientVectorStore:
    """``VectorStore`` over a ``QdrantClient``. ``local`` marks the in-process modes, which are
    not thread-safe (calls are serialised) and have no payload indexes."""

    def __init__(self, client: QdrantClient, *, local: bool) -> None:
        self._client = client
        self._local = local
        self._serial = threading.RLock() if local else None
        self._bm25 = Bm25Encoder()
        self._indexed: dict[str, set[str]] = {}
        self._dimensions_of: dict[str, int] = {}
        self._index_lock = threading.Lock()

    @contextmanager
    def _call(self) -> Iterator[None]:
        """Serialise in-process modes; a server that cannot be reached or answers an error is
        UNAVAILABLE to the caller (logged here with the engine's words, which stay private)."""
        with self._serial if self._serial is not None else nullcontext():
            try:
                yield
            except (ResponseHandlingException, UnexpectedResponse) as exc:
                log.warning("the Qdrant server failed a request", extra={"error": repr(exc)[:500]})
                raise Unavailable("The vector store is not reachable; try again later.") from None

    # --- collections ---------------------------------------------------------------------

    def create_collection(self, name: str, dimensions: int) -> None:
        collection = _collection(name)
        with self._call():
            if self._client.collection_exists(collection):
                existing = self._dimensions(collection)
                if existing != dimensions:
                    raise ValueError(
                        f"Collection {name} exists with {existing} dimensions, not {dimensions}."
                    )
                return
            self._client.create_collection(
                collection,
                vectors_config={
                    DENSE_VECTOR_NAME: qm.VectorParams(size=dimensions, distance=qm.Distance.COSINE)
                },
                sparse_vectors_config={SPARSE_VECTOR_NAME: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
            )

    def has_collection(self, name: str) -> bool:
        with self._call():
            return bool(self._client.collection_exists(_collection(name)))

    def drop_collection(self, name: str) -> None:
        collection = _collection(name)
        with self._call():
            if self._client.collection_exists(collection):
                self._client.delete_collection(collection)
        with self._index_lock:
            self._indexed.pop(collection, None)
            self._dimensions_of.pop(collection, None)

    # --- points --------------------------------------------------------------------------

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        collection = self._require(name)
        if not points:
            return
        dimensions = self._collection_dimensions(collection)
        structs = [self._point(p, dimensions) for p in points]
        for path, schema in metadata_indexes(points, CLIENT_TYPES):
            self._ensure_index(collection, path, schema)
        with self._call():
            self._client.upsert(collection, points=structs, wait=True)

    def delete_where(self, name: str, key: str, value: str) -> None:
        collection = self._require(name)
        self._ensure_index(collection, key, qm.PayloadSchemaType.KEYWORD)
        selector = qm.FilterSelector(
            filter=qm.Filter(must=[qm.FieldCondition(key=key, match=qm.MatchValue(value=value))])
        )
        with self._call():
            self._client.delete(collection, points_selector=selector, wait=True)

    def count(self, name: str, where: Filter | None = None) -> int:
        collection = self._require(name)
        count_filter = translate_filter(where, CLIENT_TYPES)
        with self._call():
            result = self._client.count(collection, count_filter=count_filter, exact=True)
        return int(result.count)

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
        collection = self._require(name)
        query_filter = translate_filter(where, CLIENT_TYPES)
        plan = plan_search(mode, vector, text, lambda: self._collection_dimensions(collection), self._bm25)
        requests: list[tuple[Any, str]] = []
        if plan.dense is not None:
            requests.append((plan.dense, DENSE_VECTOR_NAME))
        if plan.sparse is not None:
            sparse = qm.SparseVector(indices=plan.sparse.indices, values=plan.sparse.values)
            requests.append((sparse, SPARSE_VECTOR_NAME))
        if not requests:
            return []  # lexical only, and the text has no indexable word
        size = limit if len(requests) == 1 else hybrid_candidates(limit)
        batch = [
            qm.QueryRequest(query=query, using=using, filter=query_filter, limit=size, with_payload=True)
            for query, using in requests
        ]
        with self._call():
            responses = self._client.query_batch_points(collection, requests=batch)
        rankings = [[_hit(p) for p in response.points] for response in responses]
        return rankings[0] if len(rankings) == 1 else reciprocal_rank_fusion(rankings, limit)

    def optimize(self, name: str) -> None:
        """A server builds its indexes by itself; nothing to do."""
        self._require(name)

    def close(self) -> None:
        with self._call():
            self._client.close()

    # --- internals -----------------------------------------------------------------------

    def _require(self, name: str) -> str:
        collection = _collection(name)
        with self._call():
            if not self._client.collection_exists(collection):
                raise NotFound(f"Vector collection {name} does not exist.")
        return collection

    def _collection_dimensions(self, collection: str) -> int:
        """Cached: a collection's dimensions never change while it exists."""
        known = self._dimensions_of.get(collection)
        if known is None:
            with self._call():
                known = self._dimensions_of[collection] = self._dimensions(collection)
        return known

    def _dimensions(self, collection: str) -> int:
        vectors = self._client.get_collection(collection).config.params.vectors
        assert isinstance(vectors, dict)
        return int(vectors[DENSE_VECTOR_NAME].size)

    def _ensure_index(self, collection: str, path: str, schema: qm.PayloadSchemaType) -> None:
        if self._local:
            return  # qdrant-client's local mode filters by scanning; it has no payload indexes
        with self._index_lock:
            known = self._indexed.get(collection)
            if known is None:
                known = set(self._client.get_collection(collection).payload_schema)
                self._indexed[collection] = known
            if path in known:
                return
            self._client.create_payload_index(collection, field_name=path, field_schema=schema, wait=True)
            known.add(path)

    def _point(self, point: Point, dimensions: int) -> qm.PointStruct:
        sparse = self._bm25.document(point.text)
        vector: dict[str, Any] = {
            DENSE_VECTOR_NAME: check_vector(point.vector, dimensions),
            SPARSE_VECTOR_NAME: qm.SparseVector(indices=sparse.indices, values=sparse.values),
        }
        return qm.PointStruct(id=point.id, vector=vector, payload={**point.payload, TEXT_KEY: point.text})


def _collection(name: str) -> str:
    return COLLECTION_PREFIX + check_collection_name(name)


def _hit(point: qm.ScoredPoint) -> Hit:
    return hit(point.id, point.score, point.payload)


CLIENT_TYPES = QdrantTypes(
    match=lambda path, value: qm.FieldCondition(key=path, match=qm.MatchValue(value=value)),
    range=lambda path, **bounds: qm.FieldCondition(key=path, range=qm.Range(**bounds)),
    filter=qm.Filter,
    filter_class=qm.Filter,
    keyword_schema=qm.PayloadSchemaType.KEYWORD,
    float_schema=qm.PayloadSchemaType.FLOAT,
)


@vector_store_scheme("qdrant+http", "qdrant+https")
def open_server(url: StoreUrl, data_dir: Path) -> QdrantClientVectorStore:
    if not url.host:
        raise InvalidVectorStoreUrl("A Qdrant server URL needs a host: qdrant+http://HOST:6333.")
    scheme = url.scheme.removeprefix("qdrant+")
    port = url.port or 6333
    client = QdrantClient(
        url=f"{scheme}://{url.host}:{port}{url.path.rstrip('/')}",
        api_key=url.password,
        timeout=REQUEST_TIMEOUT_S,
        # no request at start-up: a server that is down fails the first call, as UNAVAILABLE
        check_compatibility=False,
    )
    return QdrantClientVectorStore(client, local=False)


@vector_store_scheme("memory")
def open_in_memory(url: StoreUrl, data_dir: Path) -> QdrantClientVectorStore:
    """qdrant-client's in-process mode: nothing is kept after close."""
    return QdrantClientVectorStore(QdrantClient(location=":memory:"), local=True)


@vector_store_scheme("qdrant+local")
def open_local_files(url: StoreUrl, data_dir: Path) -> QdrantClientVectorStore:
    """qdrant-client's local files (``qdrant+local:///path``, default ``DATA_DIR/qdrant-local``)."""
    path = Path(url.path) if url.path else data_dir / "qdrant-local"
    path.mkdir(parents=True, exist_ok=True)
    return QdrantClientVectorStore(QdrantClient(path=str(path)), local=True)
