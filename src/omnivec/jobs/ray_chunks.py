"""Embedding one chunk of a Batch API job as a Ray Data run (``serve --ray``).

The batch worker is the same as in one process: it takes a chunk of pending items, hands it
here, and commits the chunk's results and the new checkpoint in one transaction. Here the
chunk's stored requests go through the Ray Data pipeline of ``jobs.ray_data`` (the CPU stage,
then the model actors) and come back as one result per item. A server killed mid-run loses only
the uncommitted chunk, which the next server runs again; a cancelled chunk stops its run.

Files named by ``file_data`` parts are resolved here, in the server, which holds the stored
files; the cluster receives their bytes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

import numpy as np

from omnivec.errors import OmnivecError
from omnivec.jobs import ray_data
from omnivec.jobs.chunks import read_items
from omnivec.jobs.ray_data import PipelineOptions, ServiceFactory
from omnivec.logging import get_logger
from omnivec.services.batch_items import encode_input, failure, item_error, success
from omnivec.services.embeddings import FileResolver
from omnivec.storage.records import BatchItem, BatchJob, ItemResult
from omnivec.types import EmbedInput, FileRefPart, Part

log = get_logger(__name__)

# The pipeline's options for a model (pool sizes, CPUs and GPUs per actor).
OptionsFor = Callable[[str], PipelineOptions]
# What each actor of a model's pipeline builds: that model's embedding path.
ServiceFor = Callable[[str], ServiceFactory]


class RayDataChunks:
    """``embed_chunk`` of the batch worker, on Ray Data."""

    def __init__(self, service_for: ServiceFor, options_for: OptionsFor, files: FileResolver | None) -> None:
        self.service_for = service_for
        self.options_for = options_for
        self.files = files

    async def embed_chunk(self, job: BatchJob, items: Sequence[BatchItem]) -> list[ItemResult]:
        """One result per item, in the items' order."""
        results, runnable = read_items(items)
        rows: list[tuple[int, bytes]] = []
        for index, embed_input in runnable:
            try:
                rows.append((index, await self._with_file_bytes(embed_input, job.owner)))
            except OmnivecError as exc:
                results[index] = failure(index, item_error(exc))
        if rows:
            embedded = await self._run(job.model, rows)
            if len(embedded) != len(rows):
                # Nothing is committed: the worker counts a failed turn and runs the chunk again.
                raise RuntimeError(f"the pipeline returned {len(embedded)} results for {len(rows)} requests")
            results.update(embedded)
        return [results[item.index] for item in items]

    async def _with_file_bytes(self, embed_input: EmbedInput, owner: str) -> bytes:
        """The stored request, its ``file_data`` parts replaced by the bytes they name."""
        if self.files is None or not any(isinstance(p, FileRefPart) for p in embed_input.parts):
            return encode_input(embed_input)
        parts: list[Part] = []
        for j, part in enumerate(embed_input.parts):
            if isinstance(part, FileRefPart):
                parts.append(await self.files.resolve(part, owner, f"content.parts[{j}]"))
            else:
                parts.append(part)
        return encode_input(EmbedInput(tuple(parts), embed_input.options))

    async def _run(self, model: str, rows: list[tuple[int, bytes]]) -> dict[int, ItemResult]:
        stop = threading.Event()
        try:
            return await asyncio.to_thread(self._collect, model, rows, stop)
        except asyncio.CancelledError:
            stop.set()  # the run ends at its next batch; its actors go with it
            raise

    def _collect(
        self, model: str, rows: list[tuple[int, bytes]], stop: threading.Event
    ) -> dict[int, ItemResult]:
        options = self.options_for(model)
        results: dict[int, ItemResult] = {}
        for batch in ray_data.stored_results(rows, self.service_for(model), options, stop):
            for i, index in enumerate(batch["index"]):
                index = int(index)
                error = str(batch["error"][i])
                if error:
                    results[index] = failure(index, ray_data.read_error(error))
                else:
                    vector = np.asarray(batch["vector"][i], dtype=np.float32)
                    results[index] = success(index, vector, int(batch["token_count"][i]))
        return results
