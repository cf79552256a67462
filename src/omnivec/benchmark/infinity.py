"""Infinity (``infinity-emb``), the peer measured over HTTP, in a virtual environment of its own.

Infinity pins libraries omnivec has moved past (sentence-transformers 3, transformers 4,
numpy 1), so it never shares our environment. Its torch is pinned to the CPU build we run, and a
constraint keeps pip from swapping it for a CUDA build of several gigabytes.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

from omnivec.benchmark.server import ManagedServer

INFINITY_REQUIREMENT = "infinity-emb[server,torch]==0.0.78"
SERVED_NAME = "bench-model"
_STAMP = ".omnivec-bench-installed"
_INSTALL_TIMEOUT_S = 1800


class InfinityUnavailable(RuntimeError):
    """Infinity could not be installed or started; the run goes on without it."""


def torch_requirement() -> str:
    """The torch this environment runs, without its local tag (``2.13.0+cpu`` -> ``2.13.0``)."""
    try:
        return "torch==" + metadata.version("torch").split("+", 1)[0]
    except metadata.PackageNotFoundError:
        return "torch==2.13.0"


def ensure_installed(venv: Path, log_path: Path) -> Path:
    """Create the environment once; returns the ``infinity_emb`` executable."""
    executable = venv / "bin" / "infinity_emb"
    if (venv / _STAMP).is_file() and executable.is_file():
        return executable
    log_path.parent.mkdir(parents=True, exist_ok=True)
    pin = torch_requirement()
    constraints = venv.parent / f"{venv.name}-constraints.txt"
    python = venv / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        # torch first, alone: the local CPU wheel satisfies it before anything can pull CUDA.
        [str(python), "-m", "pip", "install", "--quiet", pin],
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints), INFINITY_REQUIREMENT],
        [str(python), "-c", "import torch, infinity_emb; assert torch.version.cuda is None, 'CUDA torch'"],
    ]
    with log_path.open("ab") as log:
        for step in steps:
            if step[-1] == INFINITY_REQUIREMENT:
                constraints.write_text(pin + "\n")
            try:
                done = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=_INSTALL_TIMEOUT_S)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise InfinityUnavailable(f"installing Infinity failed at {step[2:4]}: {exc}") from None
            if done.returncode != 0:
                failed = " ".join(step[2:5])
                raise InfinityUnavailable(
                    f"installing Infinity failed at {failed} (exit {done.returncode}); see {log_path.name}"
                )
    (venv / _STAMP).write_text(INFINITY_REQUIREMENT + "\n" + pin + "\n")
    return executable


def infinity_server(
    executable: Path,
    model_dir: Path,
    port: int,
    log_path: Path,
    env: dict[str, str],
    *,
    dtype: str | None = None,
) -> ManagedServer:
    """Infinity with its default settings (torch engine, batch size 32) on the same model files;
    ``dtype`` sets its ``--dtype`` (bfloat16 is its fastest documented setting on a CPU that
    computes bf16 natively)."""
    server_env = {
        **env,
        "HF_HUB_OFFLINE": "1",
        # Infinity reports anonymous usage by default; a benchmark must not phone home.
        "INFINITY_ANONYMOUS_USAGE_STATS": "0",
        "DO_NOT_TRACK": "1",
    }
    argv = [
        str(executable), "v2",
        "--model-id", str(model_dir),
        "--served-model-name", SERVED_NAME,
        "--engine", "torch",
        "--device", "cpu",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    if dtype is not None:
        argv += ["--dtype", dtype]
    return ManagedServer(
        "infinity" if dtype is None else f"infinity-{dtype}",
        argv,
        port=port,
        ready_path="/health",
        log_path=log_path,
        env=server_env,
    )
