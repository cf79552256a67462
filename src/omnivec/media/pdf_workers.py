"""PDFs are parsed in child processes, each limited in memory and time, so a hostile PDF costs one
worker, not the server.

The expansion guard (``pdf_guard``) refuses the bombs it recognises before PDFium sees them, but
PDF is too loose a format for a byte scan to be sure of everything PDFium will inflate. So PDFium
runs only here: in a small pool of long-lived worker processes, each with an address-space limit
(``RLIMIT_AS``: an allocation past it fails inside the worker) and a deadline per document (past
it the worker is killed). Either way the request gets a 400 that says what happened, a fresh
worker replaces the lost one, and the server's own memory and every other request are untouched.
Each worker holds its own PDFium, so PDFs no longer wait for one another behind a process-wide
lock.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from omnivec.errors import FieldViolation, InvalidArgument
from omnivec.media.limits import PageLimit
from omnivec.media.types import DecodedDocument
from omnivec.settings import MediaSettings

# A worker that does not answer a stop request within this long is killed.
_STOP_GRACE_S = 2.0


@dataclass(frozen=True, slots=True)
class PdfWorkerLimits:
    workers: int = 2
    # Address space a worker may grow by while parsing, on top of what it holds once started.
    memory_bytes: int = 1024 * 1024 * 1024
    timeout_s: float = 20.0


class PdfWorkers:
    """Parses PDFs in worker processes. ``decode`` blocks: call it off the event loop (it is,
    like every media decode, behind the decoder's concurrency slots)."""

    def __init__(self, limits: PdfWorkerLimits | None = None) -> None:
        self.limits = limits or PdfWorkerLimits()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(self.limits.workers)
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  # workers lost to a bomb, a deadline or a crash (for tests and logs)

    def decode(
        self,
        data: bytes,
        *,
        field: str,
        settings: MediaSettings,
        pages: PageLimit,
        render: bool,
        page_range: tuple[int, int] | None = None,
        timeout_s: float | None = None,
    ) -> DecodedDocument:
        """As ``pdf.decode_pdf``, in a worker. ``timeout_s`` replaces the pool's deadline for
        this document (a search-store document may be far longer than a request's PDF)."""
        deadline = self.limits.timeout_s if timeout_s is None else timeout_s
        with self._slots:
            worker = self._take()
            try:
                outcome = worker.run((data, field, settings, pages, render, page_range), deadline)
            except _WorkerLost as lost:
                self._discard(worker)
                raise self._refusal(field, lost.timed_out) from None
            kind, value = outcome
            if kind in ("memory", "crash"):
                self._discard(worker)  # its heap may be in any state after a failed allocation
            else:
                self._idle.put(worker)
        if kind == "ok":
            assert isinstance(value, DecodedDocument)
            return value
        if kind == "memory":
            raise self._refusal(field, timed_out=False)
        if kind == "crash":
            raise InvalidArgument.at(field, "the PDF is corrupt or malformed and cannot be read")
        message, violations = value
        raise InvalidArgument(message, violations=tuple(FieldViolation(*v) for v in violations))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()

    def pids(self) -> list[int]:
        """The worker processes alive now."""
        with self._lock:
            return [w.pid for w in self._all if w.alive]

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker.alive:
                return worker
            self._discard(worker)
        with self._lock:
            if self._closed:
                raise InvalidArgument("the server is shutting down; PDFs are no longer read")
            worker = _Worker.start(self.limits.memory_bytes)
            self._all.add(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.discard(worker)
                self.replaced += 1

    def _refusal(self, field: str, timed_out: bool) -> InvalidArgument:
        if timed_out:
            return InvalidArgument.at(
                field,
                f"reading the PDF took longer than {self.limits.timeout_s:g} s, far beyond a few pages; "
                "send the text itself or a simpler PDF",
            )
        mib = self.limits.memory_bytes // (1024 * 1024)
        return InvalidArgument.at(
            field,
            f"reading the PDF needed more than {mib} MiB of memory, far beyond a few pages; "
            "send the text itself or a simpler PDF",
        )


class _WorkerLost(Exception):
    def __init__(self, timed_out: bool) -> None:
        super().__init__()
        self.timed_out = timed_out


class _Worker:
    """One child process and its end of the pipe."""

    def __init__(self, process: subprocess.Popen[bytes], conn: Connection) -> None:
        self.process = process
        self.conn = conn

    @classmethod
    def start(cls, memory_bytes: int) -> _Worker:
        # A fresh interpreter rather than fork (the server has threads a forked child would inherit
        # in whatever state they were) or multiprocessing's spawn (which re-imports the caller's
        # main module: a library user's script would run again).
        ours, theirs = socket.socketpair()
        code = (
            f"import sys; sys.path[:0] = {sys.path!r}; "
            f"from omnivec.media.pdf_workers import serve; serve({theirs.fileno()}, {memory_bytes})"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL
        )
        theirs.close()
        return cls(process, Connection(ours.detach()))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, job: tuple[Any, ...], timeout_s: float) -> tuple[str, Any]:
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout_s):
                raise _WorkerLost(timed_out=True)
            outcome: tuple[str, Any] = self.conn.recv()
        except (EOFError, OSError):
            raise _WorkerLost(timed_out=False) from None  # it died: killed by the OS or crashed
        return outcome

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_STOP_GRACE_S)
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_STOP_GRACE_S)
        self.conn.close()


def serve(fd: int, memory_bytes: int) -> None:
    """The worker's loop (in the child): one document at a time until told to stop or the
    server goes away."""
    conn = Connection(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    from omnivec.media.pdf import decode_pdf, load_pdfium

    load_pdfium()
    _limit_address_space(memory_bytes)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if job is None:
            return
        data, field, settings, pages, render, page_range = job
        try:
            outcome: tuple[str, Any] = (
                "ok",
                decode_pdf(
                    data, field=field, settings=settings, pages=pages, render=render, page_range=page_range
                ),
            )
        except MemoryError:
            outcome = ("memory", None)
        except InvalidArgument as exc:
            outcome = ("invalid", (exc.message, [(v.field, v.description) for v in exc.violations]))
        except Exception:  # PDFium or Pillow tripped over the document: it costs this worker only
            outcome = ("crash", None)
        del data, job
        conn.send(outcome)
        if outcome[0] in ("memory", "crash"):
            return


def _limit_address_space(memory_bytes: int) -> None:
    """Cap the address space at what the worker maps now plus ``memory_bytes``."""
    try:
        import resource
    except ImportError:  # not POSIX: the deadline still bounds a worker
        return
    limit = _mapped_bytes() + memory_bytes
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
