"""``omnivec models --local``, ``rm`` and ``pull``, and serving a hub id from the local cache,
against a real Hugging Face cache layout in a temporary directory (no network: the offline
failure paths are what can be tested here, and they must be fast and say what to do)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiny_text_models import build_bert_mean

pytestmark = pytest.mark.slow

REPO = "tiny-org/tiny-bert"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def place_in_cache(model_dir: Path, cache: Path, repo_id: str) -> Path:
    """The layout the hub library writes: blobs by content hash, a snapshot of symlinks, a ref."""
    root = cache / ("models--" + repo_id.replace("/", "--"))
    blobs, snapshot = root / "blobs", root / "snapshots" / COMMIT
    blobs.mkdir(parents=True)
    for file in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        data = file.read_bytes()
        blob = blobs / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / file.relative_to(model_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    return root


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hub")
    model = build_bert_mean(base / "build")
    cache = base / "cache"
    place_in_cache(model, cache, REPO)
    shutil.rmtree(base / "build")
    return cache


def cli(cache: Path, *argv: str, offline: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_CACHE": str(cache)}
    env.pop("HF_HUB_OFFLINE", None)
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "omnivec", *argv], capture_output=True, text=True, timeout=180, env=env
    )


def test_local_listing_serving_from_cache_and_removal(hub_cache: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(hub_cache, cache, symlinks=True)
    listed = cli(cache, "models", "--local", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["models"]
    assert row["model"] == REPO and row["sizeBytes"] > 0 and row["revisions"] == 1

    # A cached hub id loads offline, without asking the hub.
    embedded = cli(
        cache, "embed", "a cat", "--model", REPO, "--use", "tiny-bert", "--data-dir", str(tmp_path)
    )
    assert embedded.returncode == 0, embedded.stderr
    assert len(json.loads(embedded.stdout)["embeddings"][0]["values"]) == 32

    removed = cli(cache, "rm", REPO)
    assert removed.returncode == 0 and removed.stdout.startswith(f"removed {REPO}")
    assert json.loads(cli(cache, "models", "--local").stdout)["models"] == []
    again = cli(cache, "rm", REPO)
    assert again.returncode == 4 and "not in the model cache" in again.stderr


def test_a_model_not_cached_fails_fast_with_the_fix(tmp_path: Path) -> None:
    offline = cli(tmp_path, "embed", "x", "--model", "some-org/not-cached", "--data-dir", str(tmp_path))
    assert offline.returncode == 3
    assert "HF_HUB_OFFLINE=1" in offline.stderr and "omnivec pull some-org/not-cached" in offline.stderr
    assert "huggingface-cli" not in offline.stderr and offline.stderr.count("\n") == 1
    pulled = cli(tmp_path, "pull", "some-org/not-cached")
    assert pulled.returncode == 3 and "HF_HUB_OFFLINE" in pulled.stderr


def test_a_directory_that_is_not_a_model(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli(tmp_path, "embed", "x", "--model", str(empty), "--data-dir", str(tmp_path))
    assert done.returncode == 3 and "is not a model" in done.stderr
