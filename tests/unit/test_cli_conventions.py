"""Command-line conventions: one-line errors with documented exit codes, atomic -o, stdin input,
compact JSON, tables, examples in help, shell completion, the model cache commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnivec.cli.main import build_parser, main

CLI = [sys.executable, "-m", "omnivec"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def subprocess_cli(
    *argv: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        input=stdin,
    )


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["embed", "x", "--model", "fake", "--task-type", "foo"], 2, "--task-type foo: not a task type"),
        (["serve", "--device", "gpu"], 2, "device 'gpu' is not one of"),
        (["serve", "--max-batch-tokens", "-5", "--max-queue-items", "0"], 2, "batching.max_batch_tokens"),
        (["serve", "--config", "/nonexistent/omnivec.toml"], 2, "does not exist"),
        (["embed", "x", "--model", "fake", "--use", "nope"], 4, "not found"),
        (["batch", "get", "batches/nope"], 4, "does not exist"),
        (["embed", "x", "--remote", "http://127.0.0.1:9"], 3, "cannot reach http://127.0.0.1:9"),
    ],
)
def test_user_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], code: int, message: str
) -> None:
    got, _, err = run_cli(capsys, *argv, *(["--data-dir", str(tmp_path)] if argv[0] == "batch" else []))
    assert got == code
    assert message in err and err.count("\n") == 1 and err.startswith("omnivec: ")


def test_a_cuda_device_on_a_cpu_build_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = run_cli(capsys, "embed", "x", "--device", "cuda", "--model", "default")
    assert code == 3 and "no usable CUDA device" in err and "use --device cpu" in err


def test_a_toml_syntax_error_and_a_misspelt_key(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "omnivec.toml"
    config.write_text("port = \n")
    code, _, err = run_cli(capsys, "serve", "--config", str(config))
    assert code == 2 and "is not valid TOML" in err and "line 1" in err
    config.write_text("prot = 9000\n")
    code, _, err = run_cli(capsys, "config", "--config", str(config))
    assert code == 2 and "unknown setting prot (did you mean 'port'?)" in err


def test_dim_zero_is_refused_not_ignored() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["embed", "x", "--dim", "0"])
    assert exit_info.value.code == 2


def test_embed_reads_stdin_and_prints_compact_json() -> None:
    done = subprocess_cli("embed", "-", "--model", "fake:4", "--use", "fake", stdin="first\n\nsecond\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1  # one compact document, not one number per line
    assert len(json.loads(done.stdout)["embeddings"]) == 2


def test_output_file_is_replaced_only_on_success(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous")
    code, _, _ = run_cli(capsys, "embed", "x", "--model", "fake", "--use", "nope", "-o", str(target))
    assert code == 4 and target.read_text() == "previous"
    code, _, _ = run_cli(capsys, "embed", "x", "--model", "fake:4", "--use", "fake", "-o", str(target))
    assert code == 0 and len(json.loads(target.read_text())["embeddings"][0]["values"]) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_models_lists_without_loading_and_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    # A directory that does not exist: listing names must not try to load it.
    code, out, _ = run_cli(capsys, "models", "--model", "mine=/nonexistent/dir", "--output", "table")
    assert code == 0 and "mine" in out and "gemini-embedding-001" in out and "/nonexistent/dir" in out


def test_closed_pipe_is_quiet() -> None:
    shell = f"{sys.executable} -m omnivec completion bash | head -c 10 >/dev/null"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_help_has_examples_and_no_internal_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["files"])
    err = capsys.readouterr().err
    assert "files_command" not in err and "COMMAND" in err
    for command in ("serve", "embed", "batch", "models", "pull", "files"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "examples:" in capsys.readouterr().out, command


def test_completion_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "completion", "bash")
    assert code == 0 and "serve" in out and "complete" in out


def test_config_shows_sources(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNIVEC_PORT", "9100")
    code, out, _ = run_cli(capsys, "config", "--host", "127.0.0.3", "--output", "json")
    body = json.loads(out)
    assert code == 0
    assert body["settings"]["port"] == 9100 and body["sources"]["port"] == "env OMNIVEC_PORT"
    assert body["sources"]["host"] == "flag" and body["sources"]["data_dir"] == "default"


def test_port_in_use_is_reported_before_models_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # A model directory that does not exist: had it been loaded first, that would be the error.
        code, _, err = run_cli(
            capsys, "serve", "--port", str(port), "--model", "/nonexistent/dir", "--data-dir", str(tmp_path)
        )
    assert code == 2 and f"Port {port} on 127.0.0.1 is already in use" in err
