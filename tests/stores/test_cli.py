"""``omnivec stores``, ``omnivec index`` and ``omnivec search``, in-process and ``--remote``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from omnivec.cli.main import main
from tests.support.server import RunningServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    (root / "travel").mkdir(parents=True)
    (root / "bees.txt").write_text("Honey bees make honey from the nectar of flowers.")
    (root / "travel" / "japan.md").write_text("# Trains\nThe Shinkansen links Tokyo and Osaka.\n")
    (root / "archive.zip").write_bytes(b"PK\x03\x04 not a document")
    (root / ".hidden").write_text("never indexed")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_in_process(tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = ["--data-dir", str(tmp_path / "data"), "--model", "fake:16"]
    code, out, _ = run(capsys, "stores", "create", "My Notes", *local)
    assert code == 0 and json.loads(out)["displayName"] == "My Notes"

    code, out, err = run(capsys, "index", str(folder), "--store", "My Notes", *local)
    assert code == 1  # one file failed
    assert "2 added, 0 replaced, 0 unchanged, 1 failed" in out
    assert "notes/archive.zip: Documents of type application/zip are not supported" in err
    assert str(folder / "archive.zip") in err  # outside the working directory: absolute names

    (folder / "bees.txt").write_text("Bumble bees nest in the ground.")
    code, out, _ = run(
        capsys, "index", str(folder / "travel"), str(folder / "bees.txt"), "--store", "My Notes", *local
    )
    assert code == 0 and "0 added, 1 replaced, 1 unchanged, 0 failed" in out

    code, out, _ = run(
        capsys, "search", "Shinkansen", "--store", "My Notes", "--mode", "LEXICAL", "-k", "1", *local
    )
    assert code == 0
    assert out.splitlines()[0].split()[-1].endswith("/notes/travel/japan.md")
    assert "Shinkansen links Tokyo" in out.splitlines()[1]

    code, out, _ = run(capsys, "stores", "list", "--data-dir", str(tmp_path / "data"))
    (store,) = json.loads(out)["fileSearchStores"]
    assert store["activeDocumentsCount"] == "2" and store["failedDocumentsCount"] == "1"

    code, _, err = run(capsys, "stores", "delete", "My Notes", "--data-dir", str(tmp_path / "data"))
    assert code == 2 and "force" in err and "Traceback" not in err
    code, _, _ = run(capsys, "stores", "delete", "My Notes", "--force", "--data-dir", str(tmp_path / "data"))
    assert code == 0
    code, _, err = run(capsys, "search", "x", "--store", "My Notes", *local)
    assert code == 2 and "no store is called 'My Notes'" in err


def test_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = ["--data-dir", str(tmp_path / "data"), "--model", "fake:16"]
    code, _, err = run(capsys, "index", str(tmp_path / "missing"), "--store", "x", *local)
    assert code == 2 and err.count("\n") == 1 and "neither a file nor a folder" in err
    code, _, err = run(capsys, "index", str(tmp_path), "--store", "x", "--chunk-words", "600", *local)
    assert code == 2 and "between 1 and 512" in err


def test_remote(
    serve: Callable[..., RunningServer], folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(api_keys=["k1"])
    remote = ["--remote", server.base_url, "--api-key", "k1"]
    code, out, _ = run(capsys, "stores", "create", "Remote Notes", *remote)
    name = json.loads(out)["name"]
    code, out, err = run(capsys, "index", str(folder), "--store", "Remote Notes", *remote)
    assert code == 1 and "2 indexed, 0 unchanged, 1 failed" in out and "archive.zip" in err
    code, out, _ = run(capsys, "index", str(folder), "--store", name, *remote)
    assert "0 indexed, 2 unchanged" in out  # compared by content hash, the failed one retried
    code, out, _ = run(capsys, "search", "honey", "--store", "Remote Notes", "--filter", "year > 1", *remote)
    assert code == 0 and out.strip() == "no results"  # no document has that metadata
    code, out, _ = run(capsys, "search", "honey bees", "--store", "Remote Notes", "-k", "1", *remote)
    assert "notes/bees.txt" in out.splitlines()[0]
    code, out, _ = run(capsys, "stores", "get", "Remote Notes", *remote)
    assert json.loads(out)["activeDocumentsCount"] == "2"
    code, _, _ = run(capsys, "stores", "delete", name, "--force", *remote)
    assert code == 0
    code, out, _ = run(capsys, "stores", "list", *remote)
    assert json.loads(out) == {"fileSearchStores": []}
