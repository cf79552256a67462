"""``omnivec files …`` and ``omnivec batch …``, in-process on a data directory and with --remote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from omnivec.cli.main import main
from tests.support.server import RunningServer


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def jsonl(tmp_path: Path, n: int = 3) -> Path:
    path = tmp_path / "in.jsonl"
    lines = [{"key": f"k{i}", "request": {"content": {"parts": [{"text": f"t{i}"}]}}} for i in range(n)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    source = jsonl(tmp_path)
    uploaded = run(capsys, "files", "upload", str(source), "--name", "my-input", *data)
    assert uploaded["name"] == "files/my-input" and uploaded["mimeType"] == "application/jsonl"
    assert run(capsys, "files", "get", "my-input", *data)["sizeBytes"] == str(source.stat().st_size)
    assert [f["name"] for f in run(capsys, "files", "list", *data)["files"]] == ["files/my-input"]
    out = tmp_path / "copy.jsonl"
    assert main(["files", "download", "files/my-input", "-o", str(out), *data]) == 0
    assert out.read_bytes() == source.read_bytes()

    assert (
        main(["batch", "submit", str(source), "--model", "fake:8", "--wait", "--log-level", "WARNING", *data])
        == 0
    )
    printed = capsys.readouterr()
    op = json.loads(printed.out)
    assert op["metadata"]["state"] == "BATCH_STATE_SUCCEEDED" and op["done"] is True
    # The job's name first, the summary last.
    assert printed.err.startswith(f"batch {op['name']} created")
    assert f"{op['name']} SUCCEEDED: 3 of 3 requests embedded, 0 failed" in printed.err
    name = op["name"]
    assert run(capsys, "batch", "get", name, *data)["metadata"]["batchStats"]["successfulRequestCount"] == "3"
    assert [o["name"] for o in run(capsys, "batch", "list", *data)["operations"]] == [name]
    results = tmp_path / "results.jsonl"
    assert main(["batch", "results", name, "-o", str(results), *data]) == 0
    assert [json.loads(line)["key"] for line in results.read_text().splitlines()] == ["k0", "k1", "k2"]
    assert main(["batch", "cancel", name, *data]) == 0  # finished: nothing changes
    assert capsys.readouterr().out.startswith(f"cancelled {name}")

    queued = run(
        capsys, "batch", "submit", str(source), "--model", "fake:8", *data
    )  # no --wait: stays queued
    assert queued["metadata"]["state"] == "BATCH_STATE_PENDING"
    assert main(["batch", "cancel", queued["name"], *data]) == 0
    capsys.readouterr()
    assert run(capsys, "batch", "get", queued["name"], *data)["metadata"]["state"] == "BATCH_STATE_CANCELLED"

    assert main(["batch", "delete", queued["name"], *data]) == 0
    assert main(["batch", "get", queued["name"], *data]) == 4
    capsys.readouterr()

    assert main(["files", "delete", "my-input", *data]) == 0
    assert capsys.readouterr().out == "deleted files/my-input\n"
    assert main(["files", "get", "my-input", *data]) == 4  # not found
    assert "does not exist" in capsys.readouterr().err


def test_remote(
    serve: Callable[..., RunningServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(api_keys=["cli-key"], batches={"poll_interval_s": 0.05})
    remote = ["--remote", server.base_url, "--api-key", "cli-key"]
    source = jsonl(tmp_path, 4)
    uploaded = run(capsys, "files", "upload", str(source), *remote)
    assert uploaded["sizeBytes"] == str(source.stat().st_size)
    assert run(capsys, "files", "get", uploaded["name"], *remote)["name"] == uploaded["name"]
    assert len(run(capsys, "files", "list", *remote)["files"]) == 1
    # In-process on the server's data directory, --api-key picks that key's files.
    local = ["--data-dir", str(server.container.settings.data_dir)]
    assert len(run(capsys, "files", "list", *local, "--api-key", "cli-key")["files"]) == 1
    assert run(capsys, "files", "list", *local)["files"] == []
    out = tmp_path / "back.jsonl"
    assert main(["files", "download", uploaded["name"], "-o", str(out), *remote]) == 0
    assert out.read_bytes() == source.read_bytes()

    op = run(capsys, "batch", "submit", str(source), "--wait", *remote)
    assert op["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    assert run(capsys, "batch", "get", op["name"], *remote)["done"] is True
    assert len(run(capsys, "batch", "list", *remote)["operations"]) == 1
    results = tmp_path / "r.jsonl"
    assert main(["batch", "results", op["name"], "-o", str(results), *remote]) == 0
    assert [json.loads(line)["key"] for line in results.read_text().splitlines()] == ["k0", "k1", "k2", "k3"]
    assert main(["batch", "cancel", op["name"], *remote]) == 0
    assert main(["batch", "wait", op["name"], *remote]) == 0  # already done: the summary at once
    assert "SUCCEEDED: 4 of 4 requests embedded" in capsys.readouterr().err
    assert main(["files", "delete", uploaded["name"], *remote]) == 0
    capsys.readouterr()
    assert main(["files", "get", uploaded["name"], *remote]) == 4
    assert "404" in capsys.readouterr().err


def test_failed_requests_exit_1_with_a_summary(
    serve: Callable[..., RunningServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve(batches={"poll_interval_s": 0.05})
    source = tmp_path / "mixed.jsonl"
    good = {"key": "ok", "request": {"content": {"parts": [{"text": "fine"}]}}}
    bad = {"key": "bad", "request": {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 100000}}
    source.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    code = main(["batch", "submit", str(source), "--wait", "--remote", server.base_url])
    printed = capsys.readouterr()
    assert code == 1
    assert "SUCCEEDED: 1 of 2 requests embedded, 1 failed" in printed.err
    assert "omnivec batch results" in printed.err  # where to see the errors


def test_a_failed_submit_leaves_nothing_behind(
    serve: Callable[..., RunningServer], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve()
    remote = ["--remote", server.base_url]
    assert main(["batch", "submit", str(jsonl(tmp_path)), "--use", "no-such-model", *remote]) == 4
    assert "no-such-model" in capsys.readouterr().err
    assert run(capsys, "files", "list", *remote) == {}  # the uploaded input was deleted
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["batch", "submit", str(jsonl(tmp_path)), "--model", "fake:8", "--use", "nope", *data]) == 4
    capsys.readouterr()
    assert run(capsys, "files", "list", *data) == {"files": []}
