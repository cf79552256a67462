"""Servers under test as real subprocesses on loopback ports, with their memory watched."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


class ServerFailed(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedServer:
    """One server process: started in its own session, polled until ready, always stopped."""

    def __init__(
        self,
        label: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.label = label
        self.argv = list(argv)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ready_path = ready_path
        self.log_path = log_path
        self.env = dict(env) if env is not None else None  # None: the child inherits ours
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise ServerFailed(f"{self.label} is not running")
        return self._process.pid

    def start(self, timeout_s: float = 300.0) -> ManagedServer:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerFailed(f"{self.label} exited with {self._process.returncode}: {self.log_tail()}")
            if self._ready():
                return self
            time.sleep(0.25)
        self.stop()
        raise ServerFailed(f"{self.label} was not ready within {timeout_s:g} s: {self.log_tail()}")

    def rss(self) -> int:
        import psutil

        return int(psutil.Process(self.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far, all its threads together."""
        import psutil

        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)

    def peak_rss(self) -> int | None:
        """The kernel's high-water mark of resident memory (Linux), or None elsewhere."""
        return self._proc_status("VmHWM")

    def anonymous_rss(self) -> int | None:
        """Resident memory that is the process's own (heap, weights), without the pages of
        shared libraries it has mapped (Linux), or None elsewhere."""
        return self._proc_status("RssAnon")

    def _proc_status(self, field: str) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def wait_ready(self, path: str, timeout_s: float = 600.0) -> None:
        """Until ``path`` answers 200 (``/readyz``: every model on its final engine)."""
        deadline = time.monotonic() + timeout_s
        while not self._ready(path):
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.label}: {path} not 200 within {timeout_s:g} s: {self.log_tail()}")
            time.sleep(0.25)

    def _ready(self, path: str | None = None) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + (path or self.ready_path), timeout=2) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def __enter__(self) -> ManagedServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class RssSampler:
    """Samples a process's resident memory on a thread; keeps the maximum and, while recording,
    a (seconds, rss) series."""

    def __init__(self, server: ManagedServer, interval_s: float = 0.1) -> None:
        self.server = server
        self.interval_s = interval_s
        self.peak = 0
        self.series: list[tuple[float, int]] = []
        self._recording_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{server.label}", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def record(self) -> None:
        self.series = []
        self._recording_since = time.monotonic()

    def stop_recording(self) -> list[tuple[float, int]]:
        self._recording_since = None
        return self.series

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                rss = self.server.rss()
            except Exception:  # the process is gone or not started yet; nothing to sample
                continue
            self.peak = max(self.peak, rss)
            since = self._recording_since
            if since is not None:
                self.series.append((time.monotonic() - since, rss))
