"""Periodic housekeeping: expired files, abandoned uploads, orphaned blobs, overdue jobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from omnivec.jobs.worker import BatchWorker
from omnivec.logging import get_logger
from omnivec.services.files import FilesService

log = get_logger(__name__)


class Sweeper:
    def __init__(
        self,
        files: FilesService,
        worker: BatchWorker,
        interval_s: float = 60.0,
        compact: Callable[[], int] | None = None,
    ) -> None:
        self.files = files
        self.worker = worker
        self.interval_s = interval_s
        # Gives the space of deleted and expired jobs and files back to the file system.
        self.compact = compact
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="omnivec-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep_once(self) -> None:
        await self.files.sweep()
        await self.worker.expire_overdue()
        if self.compact is not None:
            await asyncio.to_thread(self.compact)

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the sweeper hit an error; it tries again at the next interval")
            await asyncio.sleep(self.interval_s)
