"""Qdrant Edge keeps what it acknowledged: across close and reopen, and across a kill."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from omnivec.index.base import Compare, Point, SearchMode
from omnivec.index.edge import EdgeVectorStore
from tests.index.test_contract import pid, unit

DIMS = 16


def test_points_indexes_and_dimensions_survive_reopen(tmp_path: Path) -> None:
    store = EdgeVectorStore(tmp_path)
    store.create_collection("s", DIMS)
    store.upsert(
        "s",
        [
            Point(
                pid(str(i)),
                unit(i),
                f"text about topic{i}",
                {"document": f"d{i % 3}", "metadata": {"n": float(i)}},
            )
            for i in range(30)
        ],
    )
    store.delete_where("s", "document", "d0")
    store.close()

    reopened = EdgeVectorStore(tmp_path)
    assert reopened.has_collection("s")
    assert reopened.count("s") == 20
    assert reopened.count("s", Compare("n", ">=", 15.0)) == 10
    [hit] = reopened.search("s", vector=unit(4), text=None, mode=SearchMode.DENSE, limit=1)
    assert hit.id == pid("4")
    [hit] = reopened.search("s", vector=None, text="topic7", mode=SearchMode.LEXICAL, limit=1)
    assert hit.id == pid("7")
    with pytest.raises(ValueError, match="dimensions"):
        reopened.create_collection("s", DIMS + 1)
    reopened.drop_collection("s")
    reopened.close()
    assert not EdgeVectorStore(tmp_path).has_collection("s")


def test_an_acknowledged_upsert_survives_kill(tmp_path: Path) -> None:
    """The writer dies without closing anything (os._exit, as kill -9 would) right after upsert."""
    writer = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        import numpy as np
        from omnivec.index.base import Point
        from omnivec.index.edge import EdgeVectorStore
        store = EdgeVectorStore(Path({str(tmp_path)!r}))
        store.create_collection("s", 4)
        store.upsert("s", [Point("00000000-0000-0000-0000-00000000000%d" % i, np.eye(4)[i % 4], "kept", {{"metadata": {{"k": "v"}}}}) for i in range(8)])
        print("acknowledged", flush=True)
        os._exit(0)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", writer], env=env, capture_output=True, text=True, timeout=120
    )
    assert "acknowledged" in result.stdout, result.stderr[-2000:]

    store = EdgeVectorStore(tmp_path)
    assert store.count("s") == 8
    assert store.count("s", Compare("k", "=", "v")) == 8
    hits = store.search("s", vector=np.eye(4)[1], text=None, mode=SearchMode.DENSE, limit=2)
    assert {h.text for h in hits} == {"kept"}
    store.close()


def test_unfinished_directories_are_swept(tmp_path: Path) -> None:
    (tmp_path / ".tmp-s-1234abcd" / "wal").mkdir(parents=True)
    (tmp_path / ".trash-t-1234abcd").mkdir()
    EdgeVectorStore(tmp_path).close()
    assert list(tmp_path.iterdir()) == []
