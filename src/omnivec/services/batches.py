"""The Batch API use case: submit, look at, list, cancel and delete batch embedding jobs.

A job is stored whole (the job and every request) in one transaction before it is
acknowledged; the worker in ``omnivec.jobs`` then runs it. Requests that cannot be read are
kept as failed items, so one bad request never sinks the job.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from omnivec.errors import InvalidArgument, NotFound, OmnivecError
from omnivec.services.batch_items import encode_input, encode_metadata, item_error
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import embedding_model
from omnivec.services.files import FilesService
from omnivec.storage.interfaces import BatchStore
from omnivec.storage.records import BatchItem, BatchJob, Clock, ItemResult, utc_now
from omnivec.types import BatchState, EmbedInput

_ID_ALPHABET = string.ascii_lowercase + string.digits
_JOB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One request of a job as submitted: the input, or why it could not be read."""

    key: str | None = None
    metadata: Any = None
    input: EmbedInput | None = None
    error: OmnivecError | None = None


# Reads one line of an input JSONL file (0-based request index, the line's bytes).
LineParser = Callable[[int, bytes], BatchRequest]


# A job's priority orders only its own key's jobs (keys take turns whatever their priorities);
# values outside this range are clamped to it.
MIN_PRIORITY = -1000
MAX_PRIORITY = 1000


@dataclass(frozen=True, slots=True)
class JobLimits:
    max_requests: int = 1_000_000
    ttl: timedelta = timedelta(hours=48)
    # Longest line of a JSONL input file (one request); the online body limit by default.
    max_line_bytes: int = 64 * 1024 * 1024


class JobControl(Protocol):
    """What the service needs from whoever runs jobs (``omnivec.jobs.worker``)."""

    async def cancel(self, job: BatchJob) -> BatchJob: ...

    def wake(self) -> None: ...


def job_id_of(name: str) -> str:
    job_id = name[len("batches/") :] if name.startswith("batches/") else name
    if not _JOB_ID.match(job_id):
        raise NotFound(f"Batch {name[:80]!r} does not exist.")
    return job_id


class BatchService:
    def __init__(
        self,
        store: BatchStore,
        files: FilesService,
        catalogue: ModelCatalogue,
        control: JobControl,
        limits: JobLimits | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.files = files
        self.catalogue = catalogue
        self.control = control
        self.limits = limits or JobLimits()
        self.clock = clock

    async def create(
        self,
        owner: str,
        model: str,
        requests: Iterable[BatchRequest],
        *,
        display_name: str = "",
        priority: int = 0,
    ) -> BatchJob:
        """A job over inline requests."""
        job = self._new_job(owner, model, display_name, priority, input_file=None)
        stored = await asyncio.to_thread(self._store_job, job, requests)
        self.control.wake()
        return stored

    async def create_from_file(
        self,
        owner: str,
        model: str,
        file_name: str,
        parse_line: LineParser,
        *,
        display_name: str = "",
        priority: int = 0,
    ) -> BatchJob:
        """A job over the JSONL lines of an uploaded file (blank lines are skipped)."""
        record = await self.files.get(owner, file_name)
        job = self._new_job(owner, model, display_name, priority, input_file=f"files/{record.file_id}")

        def requests() -> Iterator[BatchRequest]:
            index = 0
            for line in self.files.lines(record, self.limits.max_line_bytes):
                if line.strip():
                    yield parse_line(index, line)
                    index += 1

        stored = await asyncio.to_thread(self._store_job, job, requests())
        self.control.wake()
        return stored

    async def get(self, owner: str, name: str) -> BatchJob:
        job_id = job_id_of(name)
        job = await asyncio.to_thread(self.store.get, owner, job_id)
        if job is None:
            raise NotFound(f"Batch batches/{job_id} does not exist.")
        return job

    async def list_jobs(self, owner: str, offset: int, limit: int) -> tuple[list[BatchJob], bool]:
        rows = await asyncio.to_thread(self.store.list_jobs, owner, offset, limit + 1)
        return rows[:limit], len(rows) > limit

    def result_pages(self, job: BatchJob, size: int = 500) -> Iterator[list[tuple[BatchItem, ItemResult]]]:
        """The stored results of a job a page at a time, in request order (blocking: iterate
        off the event loop). Memory stays at one page however large the job."""
        start = 0
        while page := self.store.results(job.job_id, start, size):
            yield page
            start = page[-1][0].index + 1

    async def results(self, job: BatchJob) -> list[tuple[BatchItem, ItemResult]]:
        """Every stored result of a job, in request order."""

        def read_all() -> list[tuple[BatchItem, ItemResult]]:
            out: list[tuple[BatchItem, ItemResult]] = []
            start = 0
            while page := self.store.results(job.job_id, start, 1000):
                out.extend(page)
                start = page[-1][0].index + 1
            return out

        return await asyncio.to_thread(read_all)

    async def cancel(self, owner: str, name: str) -> BatchJob:
        """Stop a job. A finished job stays as it is: cancelling is a request, and the job
        may have completed first (as with Google's long-running operations)."""
        job = await self.get(owner, name)
        if job.state.is_terminal:
            return job
        return await self.control.cancel(job)

    async def delete(self, owner: str, name: str) -> None:
        """Forget a job and its results; an unfinished job is cancelled first. Its output
        file, if any, stays until it expires."""
        job = await self.get(owner, name)
        if not job.state.is_terminal:
            await self.control.cancel(job)
        await asyncio.to_thread(self.store.delete, owner, job.job_id)

    def _new_job(
        self, owner: str, model: str, display_name: str, priority: int, input_file: str | None
    ) -> BatchJob:
        descriptor_name = model[len("models/") :] if model.startswith("models/") else model
        # 404 for a model this server does not serve, 400 for a reranker (it embeds nothing).
        embedding_model(self.catalogue, descriptor_name)
        now = self.clock()
        return BatchJob(
            job_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(16)),
            owner=owner,
            model=f"models/{descriptor_name}",
            display_name=display_name,
            priority=min(max(priority, MIN_PRIORITY), MAX_PRIORITY),
            state=BatchState.PENDING,
            input_file=input_file,
            request_count=0,
            succeeded=0,
            failed=0,
            checkpoint=0,
            create_time=now,
            update_time=now,
            expire_time=now + self.limits.ttl,
        )

    def _store_job(self, job: BatchJob, requests: Iterable[BatchRequest]) -> BatchJob:
        limit = self.limits.max_requests

        def items() -> Iterator[BatchItem]:
            for index, request in enumerate(requests):
                if index >= limit:
                    raise InvalidArgument(f"A batch may hold at most {limit} requests.")
                yield BatchItem(
                    index=index,
                    key=request.key,
                    metadata=encode_metadata(request.metadata),
                    payload=encode_input(request.input) if request.input is not None else None,
                    error=item_error(request.error) if request.error is not None else None,
                )

        stored = self.store.create(job, items())
        if stored.request_count == 0:
            self.store.delete(job.owner, job.job_id)
            raise InvalidArgument("The batch holds no requests.")
        return stored
