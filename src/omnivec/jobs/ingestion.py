"""The ingestion worker: brings PENDING search-store documents to ACTIVE or FAILED, oldest
first, one at a time, at batch priority (online embedding goes first).

Nothing is lost on a crash: a document stays PENDING until every chunk is indexed, and the next
worker starts it again (point ids are deterministic, so what was written is overwritten). Only
one process per data directory ingests (an OS file lock), as the embedded vector store allows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from omnivec.logging import get_logger
from omnivec.services.search_store_ingestion import DocumentIngestor, is_transient
from omnivec.storage.interfaces import ExclusiveLock
from omnivec.storage.sqlite_search_stores import SqliteSearchStoreStore
from omnivec.types import StoreDocument

log = get_logger(__name__)

# A document that fails this often with unexpected errors is marked FAILED, never left PENDING.
_MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IngestionWorkerSettings:
    poll_interval_s: float = 2.0
    stop_timeout_s: float = 10.0
    backoff_s: float = 0.5


class IngestionWorker:
    def __init__(
        self,
        store: SqliteSearchStoreStore,
        ingestor: DocumentIngestor,
        lock: ExclusiveLock,
        settings: IngestionWorkerSettings | None = None,
    ) -> None:
        self.store = store
        self.ingestor = ingestor
        self.lock = lock
        self.settings = settings or IngestionWorkerSettings()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._attempts: dict[tuple[str, str], int] = {}
        self._touched: set[str] = set()  # stores written to since their indexes were last built

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="omnivec-ingestion-worker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.settings.stop_timeout_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self.lock.release()

    def wake(self) -> None:
        self._wake.set()

    async def drain(self, on_settled: Callable[[StoreDocument], None] | None = None) -> int:
        """Ingest every PENDING document now, in this task (the command line and the library,
        which run no background worker); returns how many were settled."""
        settled = 0
        while (doc := await self._next()) is not None:
            if await self._one(doc):
                settled += 1
                if on_settled is not None:
                    on_settled(doc)
        await self._optimize()
        return settled

    async def _run(self) -> None:
        logged = False
        while not self._stopping:
            if not self.lock.acquire():
                if not logged:
                    log.info("another process ingests documents in this data directory; waiting")
                    logged = True
                await self._sleep(self.settings.poll_interval_s)
                continue
            try:
                doc = await self._next()
                if doc is None:
                    await self._optimize()  # idle: build the indexes for what was written
                    await self._sleep(self.settings.poll_interval_s)
                    continue
                await self._one(doc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # storage trouble: log, wait, go on
                log.error("ingestion worker error", exc_info=exc)
                await self._sleep(self.settings.poll_interval_s)

    async def _next(self) -> StoreDocument | None:
        if not self.store.initialized():
            return None
        found = await asyncio.to_thread(self.store.next_pending)
        return found[1] if found else None

    async def _one(self, doc: StoreDocument) -> bool:
        """True when the document left PENDING (or went away)."""
        key = (doc.store_id, doc.document_id)
        self._touched.add(doc.store_id)
        try:
            await self.ingestor.ingest(doc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_transient(exc):
                await self._sleep(self.settings.backoff_s)
                return False
            attempts = self._attempts.get(key, 0) + 1
            self._attempts[key] = attempts
            log.error("ingesting %s/%s failed (attempt %d)", *key, attempts, exc_info=exc)
            if attempts < _MAX_ATTEMPTS:
                await self._sleep(self.settings.backoff_s)
                return False
            await self.ingestor.fail(doc, "An internal error occurred while ingesting this document.")
        self._attempts.pop(key, None)
        return True

    async def _optimize(self) -> None:
        while self._touched:
            await self.ingestor.optimize(self._touched.pop())

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
