"""Several executors over one loaded model (torch on the CPU): the same vectors as one executor,
passes really spread over the executor threads, each pass with its share of the torch threads,
and the weights loaded once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from omnivec.runtime.backends.loader import load_backend
from omnivec.runtime.batcher import BatchLimits
from omnivec.runtime.inputs import ModelInput
from omnivec.runtime.observer import BatchReport
from omnivec.runtime.runtime import Runtime
from omnivec.types import Priority

pytestmark = pytest.mark.slow

TEXTS = [f"Sentence number {i} about {'apples ' * (i % 7)}and the weather." for i in range(96)]
LIMITS = BatchLimits(max_batch_tokens=256, max_batch_items=8, max_wait_s=0.002, max_queue_items=4096)


class _Threads:
    """Which threads ran the passes (the observer is called from the executor thread)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.torch_threads: set[int] = set()

    def on_prepare(self, model_id: str, items: int, seconds: float) -> None:
        pass

    def on_batch(self, report: BatchReport) -> None:
        self.names.add(threading.current_thread().name)
        self.torch_threads.add(torch.get_num_threads())


async def _embed_all(runtime: Runtime) -> np.ndarray:
    async def one(text: str) -> np.ndarray:
        [item] = await runtime.embed("m", [ModelInput((text,))], priority=Priority.ONLINE)
        return np.asarray(item.vector)

    return np.stack(await asyncio.gather(*(one(t) for t in TEXTS)))


def _run(runtime: Runtime) -> np.ndarray:
    runtime.start()
    try:
        return asyncio.run(_embed_all(runtime))
    finally:
        runtime.stop()


def test_two_executors_over_one_model_give_the_single_executor_vectors() -> None:
    alone = _run(Runtime([load_backend("m", "default", engine="fp32")], LIMITS))
    backend = load_backend("m", "default", engine="fp32")
    assert backend.info.concurrent_forward
    closed: list[int] = []
    close = backend.close

    def close_once_recorded() -> None:
        closed.append(1)
        close()

    backend.close = close_once_recorded  # type: ignore[method-assign]
    shared = Runtime([backend, backend], LIMITS)
    threads = _Threads()
    shared.add_observer(threads)
    together = _run(shared)
    assert len(threads.names) == 2  # both executor threads ran passes
    cores = torch.get_num_threads()
    if cores >= 2:  # the second executor's passes ran on one thread, the first's on more
        assert 1 in threads.torch_threads
    assert closed == [1]  # one model, closed once
    cos = np.sum(alone * together, axis=1) / (
        np.linalg.norm(alone, axis=1) * np.linalg.norm(together, axis=1)
    )
    assert float(cos.min()) >= 0.99999


_PROBE = """
import json, os, sys
from omnivec.bootstrap import load_backends
from omnivec.settings import Settings
from omnivec.runtime.backends.device import current_torch_threads
import torch
cores = torch.get_num_threads()
settings = Settings(models=["default"], backend_engine={"*": "fp32"}, data_dir=sys.argv[1], **json.loads(sys.argv[2]))
backends = load_backends(settings, owns_process=sys.argv[3] == "own")
print(json.dumps({
    "cores": cores,
    "executors": len(backends),
    "distinct": len({id(b) for b in backends}),
    "threads": current_torch_threads(),
    "cache": [os.environ.get("LRU_CACHE_CAPACITY"), os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY")],
}))
"""


def _probe(tmp_path: object, overrides: dict[str, object], *, own: bool) -> dict[str, object]:
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path), json.dumps(overrides), "own" if own else "library"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_server_runs_two_executors_over_one_model_and_the_library_one(tmp_path: object) -> None:
    served = _probe(tmp_path, {}, own=True)
    cores = served.pop("cores")
    assert isinstance(cores, int)
    # The threads stay the process's: each pass takes its share as it starts (``CoreShare``).
    expected = {"executors": 2 if cores >= 2 else 1, "distinct": 1, "threads": cores, "cache": ["64", "64"]}
    assert served == expected
    library = _probe(tmp_path, {"kernel_cache_entries": 8}, own=False)
    assert library == {"cores": cores, "executors": 1, "distinct": 1, "threads": cores, "cache": ["8", "8"]}
    configured = _probe(tmp_path, {"replicas": 3}, own=False)
    assert configured == {
        "cores": cores,
        "executors": 3,
        "distinct": 1,
        "threads": cores,
        "cache": ["64", "64"],
    }
