"""One contract for every vector store: Qdrant Edge and qdrant-client's in-process mode."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from omnivec.errors import NotFound
from omnivec.index.base import Compare, Hit, Point, SearchMode, VectorStore
from omnivec.index.metadata_filter import parse_metadata_filter
from omnivec.index.registry import open_vector_store
from tests.index.conftest import STORE_URLS

DIMS = 16


def pid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def unit(seed: int, dims: int = DIMS) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return vector / np.linalg.norm(vector)


def names(hits: list[Hit]) -> list[str]:
    return [str(h.payload["name"]) for h in hits]


# --- collections ---------------------------------------------------------------------------


def test_create_and_drop_are_idempotent(store: VectorStore) -> None:
    assert not store.has_collection("s1")
    store.create_collection("s1", DIMS)
    store.create_collection("s1", DIMS)
    assert store.has_collection("s1")
    assert store.count("s1") == 0
    store.drop_collection("s1")
    store.drop_collection("s1")
    assert not store.has_collection("s1")
    store.create_collection("s1", DIMS)  # a dropped name can be used again, empty
    assert store.count("s1") == 0


def test_recreating_with_other_dimensions_is_refused(store: VectorStore) -> None:
    store.create_collection("s1", DIMS)
    with pytest.raises(ValueError, match="dimensions"):
        store.create_collection("s1", DIMS * 2)


def test_collections_are_separate(store: VectorStore) -> None:
    store.create_collection("a", DIMS)
    store.create_collection("b", DIMS)
    store.upsert("a", [Point(pid("x"), unit(1), "x", {"name": "x"})])
    assert (store.count("a"), store.count("b")) == (1, 0)
    store.drop_collection("a")
    assert store.count("b") == 0


def test_point_calls_on_a_missing_collection_are_not_found(store: VectorStore) -> None:
    with pytest.raises(NotFound):
        store.count("nope")
    with pytest.raises(NotFound):
        store.upsert("nope", [Point(pid("x"), unit(1), "x")])
    with pytest.raises(NotFound):
        store.search("nope", vector=unit(1), text=None, mode=SearchMode.DENSE, limit=3)
    with pytest.raises(NotFound):
        store.delete_where("nope", "document", "d")


@pytest.mark.parametrize("name", ["", "../escape", "a/b", "x" * 129, "spa ce"])
def test_collection_names_are_plain(store: VectorStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.create_collection(name, DIMS)


# --- points --------------------------------------------------------------------------------


def test_upsert_overwrites_by_id(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    store.upsert("s", [Point(pid("p"), unit(1), "old text", {"name": "old"})])
    store.upsert("s", [Point(pid("p"), unit(2), "new text", {"name": "new"})])
    assert store.count("s") == 1
    [hit] = store.search("s", vector=unit(2), text=None, mode=SearchMode.DENSE, limit=5)
    assert (hit.id, hit.text, hit.payload["name"]) == (pid("p"), "new text", "new")
    assert hit.score == pytest.approx(1.0, abs=1e-4)


def test_payload_comes_back_without_the_text(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    payload: dict[str, Any] = {"document": "d1", "page": 3, "metadata": {"author": "A", "tags": ["x", "y"]}}
    store.upsert("s", [Point(pid("p"), unit(1), "hello", payload)])
    [hit] = store.search("s", vector=unit(1), text=None, mode=SearchMode.DENSE, limit=1)
    assert hit.text == "hello"
    assert dict(hit.payload) == payload


def test_delete_where_removes_one_document(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    points = [
        Point(pid(f"{doc}-{i}"), unit(i + 10 * n), f"chunk {i}", {"document": doc, "name": f"{doc}-{i}"})
        for n, doc in enumerate(["d1", "d2"])
        for i in range(5)
    ]
    store.upsert("s", points)
    store.delete_where("s", "document", "d1")
    assert store.count("s") == 5
    hits = store.search("s", vector=unit(0), text=None, mode=SearchMode.DENSE, limit=10)
    assert {h.payload["document"] for h in hits} == {"d2"}
    store.delete_where("s", "document", "missing")  # nothing matches: nothing happens
    assert store.count("s") == 5


def test_dense_ranking_is_cosine_order(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    vectors = np.stack([unit(i) for i in range(60)])
    store.upsert(
        "s", [Point(pid(str(i)), v * (1 + i % 3), f"t{i}", {"name": str(i)}) for i, v in enumerate(vectors)]
    )
    query = unit(1000)
    expected = np.argsort(-(vectors @ query))[:10]
    hits = store.search("s", vector=query, text=None, mode=SearchMode.DENSE, limit=10)
    assert names(hits) == [str(i) for i in expected]  # vectors are stored normalised (cosine)
    assert [h.score for h in hits] == pytest.approx(
        sorted((vectors @ query)[expected], reverse=True), abs=1e-4
    )


LEXICAL_CORPUS = {
    "cats": "The cat sat on the warm mat all afternoon.",
    "dogs": "Dogs bark at the postman every single morning.",
    "volcano": "Volcanic eruptions spread ash over the island villages.",
    "tea": "Green tea is brewed at a lower temperature than black tea.",
    "zebra": "A zebra's stripes confuse biting flies.",
}


def _lexical_store(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    store.upsert(
        "s", [Point(pid(k), unit(i), text, {"name": k}) for i, (k, text) in enumerate(LEXICAL_CORPUS.items())]
    )


@pytest.mark.parametrize(
    ("query", "best"),
    [("volcano eruption", "volcano"), ("brewing teas", "tea"), ("barking dog", "dogs"), ("ZEBRAS", "zebra")],
)
def test_lexical_ranking_is_bm25(store: VectorStore, query: str, best: str) -> None:
    _lexical_store(store)
    hits = store.search("s", vector=None, text=query, mode=SearchMode.LEXICAL, limit=3)
    assert names(hits)[0] == best  # stemmed and case-folded: "eruption" finds "eruptions"
    assert all(h.score > 0 for h in hits)


def test_lexical_search_finds_only_documents_sharing_a_term(store: VectorStore) -> None:
    _lexical_store(store)
    assert names(store.search("s", vector=None, text="postman", mode=SearchMode.LEXICAL, limit=5)) == ["dogs"]
    assert (
        store.search("s", vector=None, text="quantum chromodynamics", mode=SearchMode.LEXICAL, limit=5) == []
    )
    assert (
        store.search("s", vector=None, text="the of a", mode=SearchMode.LEXICAL, limit=5) == []
    )  # stop words


def test_hybrid_fuses_dense_and_lexical_ranks(store: VectorStore) -> None:
    _lexical_store(store)
    # the dense side prefers "cats" (its own vector); the lexical side only knows "tea"
    hits = store.search("s", vector=unit(0), text="green tea", mode=SearchMode.HYBRID, limit=5)
    assert set(names(hits)[:2]) == {"cats", "tea"}
    assert len(hits) == len(LEXICAL_CORPUS)  # dense candidates fill the rest
    # a text with no indexable word leaves the dense ranking as it is
    dense = store.search("s", vector=unit(0), text=None, mode=SearchMode.DENSE, limit=5)
    assert names(store.search("s", vector=unit(0), text="the", mode=SearchMode.HYBRID, limit=5)) == names(
        dense
    )


def test_search_modes_need_their_inputs(store: VectorStore) -> None:
    _lexical_store(store)
    with pytest.raises(ValueError):
        store.search("s", vector=None, text="tea", mode=SearchMode.DENSE, limit=3)
    with pytest.raises(ValueError):
        store.search("s", vector=unit(1), text=None, mode=SearchMode.LEXICAL, limit=3)


def test_optimize_keeps_everything_searchable(store: VectorStore) -> None:
    _lexical_store(store)
    store.optimize("s")
    assert store.count("s") == len(LEXICAL_CORPUS)
    assert names(store.search("s", vector=None, text="zebra", mode=SearchMode.LEXICAL, limit=1)) == ["zebra"]


def test_concurrent_writers_and_readers(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for batch in range(5):
                points = [
                    Point(
                        pid(f"{worker}-{batch}-{i}"),
                        unit(worker * 1000 + batch * 10 + i),
                        f"word{worker} text",
                    )
                    for i in range(10)
                ]
                store.upsert("s", points)
                store.search("s", vector=unit(worker), text=f"word{worker}", mode=SearchMode.HYBRID, limit=5)
                store.count("s")
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert store.count("s") == 4 * 5 * 10


# --- filters -------------------------------------------------------------------------------

BOOKS: dict[str, dict[str, Any]] = {
    "goodbye": {"author": "Robert Graves", "year": 1929.0, "genre": ["memoir", "war"], "rating": 4.5},
    "claudius": {"author": "Robert Graves", "year": 1934.0, "genre": ["novel", "history"], "rating": 4.8},
    "orlando": {"author": "Virginia Woolf", "year": 1928.0, "genre": ["novel"], "rating": 4.1},
    "waves": {"author": "Virginia Woolf", "year": 1931.0, "genre": ["novel", "poetic"]},
    "notes": {"author": 'Anon "the" Scribe', "year": 2001.0},
    "untagged": {},
}


@pytest.fixture(scope="module", params=sorted(STORE_URLS))
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorStore]:
    """Read-only tests share one filled store per adapter."""
    store = open_vector_store(STORE_URLS[request.param], tmp_path_factory.mktemp("books"))
    store.create_collection("books", DIMS)
    store.upsert(
        "books",
        [
            Point(pid(k), unit(i), f"book {k}", {"name": k, "document": k, "metadata": m})
            for i, (k, m) in enumerate(BOOKS.items())
        ],
    )
    yield store
    store.close()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('author = "Robert Graves"', {"goodbye", "claudius"}),
        ('chunk.custom_metadata.author = "Robert Graves"', {"goodbye", "claudius"}),
        ('author != "Robert Graves"', {"orlando", "waves", "notes", "untagged"}),
        ('author = "Anon \\"the\\" Scribe"', {"notes"}),
        ("year = 1931", {"waves"}),
        ("year != 1931", {"goodbye", "claudius", "orlando", "notes", "untagged"}),
        ("year < 1929", {"orlando"}),
        ("year <= 1929", {"orlando", "goodbye"}),
        ("year > 1931", {"claudius", "notes"}),
        ("year >= 1931", {"claudius", "notes", "waves"}),
        ("rating > 4.2", {"goodbye", "claudius"}),
        ('genre = "novel"', {"claudius", "orlando", "waves"}),
        ('genre : "war"', {"goodbye"}),
        ("genre:history", {"claudius"}),
        ('genre != "novel"', {"goodbye", "notes", "untagged"}),
        ('author = "Robert Graves" AND year > 1930', {"claudius"}),
        ('author = "Virginia Woolf" OR year > 2000', {"orlando", "waves", "notes"}),
        ('NOT author = "Virginia Woolf"', {"goodbye", "claudius", "notes", "untagged"}),
        ('-genre = "novel"', {"goodbye", "notes", "untagged"}),
        (
            '(genre = "novel" OR genre = "war") AND NOT (year >= 1930 AND year < 1932)',
            {"goodbye", "claudius", "orlando"},
        ),
        # AIP-160: OR binds tighter than AND
        ('author = "Robert Graves" AND year < 1930 OR year > 1933', {"goodbye", "claudius"}),
        ('missing = "x"', set()),
        ('year = "1931"', set()),  # a string never equals a number
    ],
)
def test_every_filter_operator(books: VectorStore, expression: str, expected: set[str]) -> None:
    where = parse_metadata_filter(expression)
    assert books.count("books", where) == len(expected)
    for mode in SearchMode:
        hits = books.search("books", vector=unit(99), text="book", mode=mode, limit=10, where=where)
        assert set(names(hits)) == expected, mode


def test_filter_and_delete_compose(store: VectorStore) -> None:
    store.create_collection("s", DIMS)
    store.upsert(
        "s",
        [Point(pid(k), unit(i), k, {"document": k, "metadata": m}) for i, (k, m) in enumerate(BOOKS.items())],
    )
    store.delete_where("s", "document", "claudius")
    assert store.count("s", Compare("author", "=", "Robert Graves")) == 1


def test_wrong_vectors_and_limits_are_value_errors(store: VectorStore) -> None:
    """Errors the service can turn into a clear 400, never an engine exception."""
    store.create_collection("s", DIMS)
    with pytest.raises(ValueError, match="dimensions"):
        store.upsert("s", [Point(pid("p"), unit(1, DIMS + 1), "x")])
    with pytest.raises(ValueError, match="NaN"):
        store.upsert("s", [Point(pid("p"), np.full(DIMS, np.nan), "x")])
    with pytest.raises(ValueError, match="dimensions"):
        store.search("s", vector=unit(1, DIMS - 1), text=None, mode=SearchMode.DENSE, limit=3)
    with pytest.raises(ValueError, match="at least 1"):
        store.search("s", vector=unit(1), text=None, mode=SearchMode.DENSE, limit=0)
    assert store.count("s") == 0
