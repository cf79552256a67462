"""A local two-node Ray cluster for one test, in network and PID namespaces of its own.

Ray addresses nodes by an interface address; inside a fresh network namespace only loopback
exists, so every node, replica and request stays on 127.0.0.1, and leaving the namespace ends
every process the cluster started (also on a timeout: ``--kill-child`` ends the namespace's
first process, and with it the rest, when ``unshare`` is killed). The scenario (a Python script) runs inside as the cluster's
client and writes what it observed as JSON for the test to check.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HEAD_PORT = 6379
ADDRESS = f"127.0.0.1:{HEAD_PORT}"
REPO_SRC = Path(__file__).resolve().parents[2] / "src"
REPO_ROOT = REPO_SRC.parent


def skip_unless_available() -> None:
    """Skip (with the reason) where a namespace cluster cannot run."""
    pytest.importorskip("ray", reason="the distributed extra (ray) is not installed")
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs Linux, root and unshare for a cluster in its own network namespace")
    if not (Path(sys.executable).parent / "ray").exists():
        pytest.skip("the ray command is not installed next to this Python")


def run_scenario(
    tmp_path: Path,
    scenario: Path,
    *args: str,
    head_cpus: float = 1,
    node_cpus: float = 1,
    timeout_s: float = 420,
) -> dict[str, Any]:
    """Start a head and a second node, run the ``scenario`` script (with ``args``) against them
    and return the JSON it wrote to ``$SCENARIO_OUT``."""
    bindir = Path(sys.executable).parent
    # A short temp dir: Ray's Unix socket paths must fit in 107 bytes.
    ray_tmp = Path("/tmp") / f"ovr-{os.getpid()}-{tmp_path.name[-12:]}"
    out = tmp_path / "scenario.json"
    log = tmp_path / "cluster.log"
    common = "--node-ip-address 127.0.0.1 --disable-usage-stats --log-style record"
    # On a loaded machine a node can miss Ray's start deadline: stop what started, try again.
    head = (
        f"{bindir}/ray start --head --port {HEAD_PORT} --num-cpus {head_cpus} --num-gpus 0 "
        f"--include-dashboard false --temp-dir {ray_tmp} {common}"
    )
    node = f"{bindir}/ray start --address {ADDRESS} --num-cpus {node_cpus} --num-gpus 0 {common}"
    shell = f"""
        set -e
        ip link set lo up
        for try in 1 2; do
            if {head} >> {log} 2>&1 && {node} >> {log} 2>&1; then break; fi
            [ $try = 2 ] && exit 3
            {bindir}/ray stop --force >> {log} 2>&1 || true
        done
        {sys.executable} {scenario} {" ".join(shlex.quote(a) for a in args)}
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO_SRC), str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p
        ),
        "SCENARIO_OUT": str(out),
        "SCENARIO_WORK": str(tmp_path),
        "RAY_ADDRESS": ADDRESS,
        "RAY_CLUSTER_TMP": str(ray_tmp),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "RAY_USAGE_STATS_ENABLED": "0",
        # On a small, shared machine a node can take over a minute to register.
        "RAY_raylet_start_wait_time_s": "240",
    }
    try:
        proc = subprocess.run(
            ["unshare", "-n", "-p", "-f", "--kill-child", "-m", "--mount-proc", "bash", "-c", shell],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    if proc.returncode != 0 or not out.exists():
        tail = (log.read_text()[-3000:] if log.exists() else "") + proc.stdout[-3000:] + proc.stderr[-6000:]
        raise AssertionError(f"the cluster scenario failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result
