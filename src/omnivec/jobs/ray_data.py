"""Batch embedding as a Ray Data pipeline (the distributed extra).

read the inputs (JSONL in the Batch API's file format, Parquet with a text column, or folders
of files, each file one request) -> an actor pool that reads each request and embeds it with
omnivec's own EmbeddingService (prompts, media decoding, tokenisation, the dynamic batcher,
the model) -> the results stream back, in input order, to the driver, which writes them.

Exactly once: Ray Data re-runs the blocks of a task or actor that died, and a block is handed
to the driver only when it is complete, so every input row reaches the output once. The output
appears under its final name only when the whole run succeeded (written beside it, then
renamed); a run that died leaves no partial output to be mistaken for a result.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from omnivec.errors import OmnivecError, ResourceExhausted
from omnivec.logging import get_logger
from omnivec.services.batch_items import decode_input, encode_input, failure, item_error, output_line, success
from omnivec.services.batches import BatchRequest
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.storage.records import BatchItem, ItemError, ItemResult
from omnivec.types import BlobPart, EmbedInput, EmbedOptions, Priority, TextPart

log = get_logger(__name__)

# Builds the embedding service inside each actor (the model loads there, not in the driver).
ServiceFactory = Callable[[], EmbeddingService]
# Builds the Batch API line reader for a model, given that model's catalogue.
ReaderFactory = Callable[[ModelCatalogue, str], Callable[[int, bytes], BatchRequest]]

_CRASHED = ItemError(13, "INTERNAL", "An internal error occurred while embedding this request.")
READ_CPUS = 0.25
_NO_VECTOR = np.zeros(0, dtype=np.float32)
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".csv", ".tsv", ".json", ".html", ".htm", ".xml", ".py"}


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    model: str
    # Rows handed to one actor call; the actor's batcher forms the forward passes inside.
    batch_rows: int = 256
    actors_min: int = 1
    actors_max: int = 2
    actor_cpus: float = 0.5
    actor_gpus: float = 0.0
    text_column: str = "text"
    key_column: str | None = None


@dataclass(slots=True)
class RunStats:
    requests: int = 0
    succeeded: int = 0
    failed: int = 0


# --- reading ------------------------------------------------------------------------------------
def input_kind(paths: Sequence[Path]) -> str:
    """'jsonl', 'parquet' or 'files' (folders); one kind per run."""
    kinds = set()
    for path in paths:
        if path.is_dir():
            kinds.add("files")
        elif path.suffix.lower() in {".parquet", ".pq"}:
            kinds.add("parquet")
        else:
            kinds.add("jsonl")
    if len(kinds) != 1:
        raise ValueError("give inputs of one kind: JSONL files, Parquet files, or folders")
    return kinds.pop()


def _dataset(paths: Sequence[Path], kind: str, options: PipelineOptions) -> Any:
    import ray.data

    names = [str(p) for p in paths]
    # Readers take a fraction of a CPU: whole-CPU read tasks cannot be placed beside the model
    # actors on small nodes, and the pipeline would wait for them forever.
    read_args = {"num_cpus": READ_CPUS}
    if kind == "jsonl":
        # One row per line; the actor reads each line as the Batch API does.
        return ray.data.read_text(names, drop_empty_lines=True, ray_remote_args=read_args)
    if kind == "parquet":
        columns = [options.text_column] + ([options.key_column] if options.key_column else [])
        return ray.data.read_parquet(names, columns=columns, ray_remote_args=read_args)
    files = sorted(str(f) for p in paths for f in _walk(p))
    if not files:
        raise ValueError("the input folders hold no files")
    return ray.data.from_items([{"path": f, "key": _relative(f, paths)} for f in files])


def _walk(folder: Path) -> Iterator[Path]:
    for root, _, names in os.walk(folder):
        for name in names:
            if not name.startswith("."):
                yield Path(root) / name


def _relative(file: str, roots: Sequence[Path]) -> str:
    for root in roots:
        if file.startswith(str(root) + os.sep):
            return os.path.join(root.name, os.path.relpath(file, root))
    return file


def _file_request(path: str, key: str) -> BatchRequest:
    data = Path(path).read_bytes()
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if mime.startswith("text/") or Path(path).suffix.lower() in TEXT_SUFFIXES:
        try:
            return BatchRequest(key=key, input=EmbedInput((TextPart(data.decode("utf-8")),), EmbedOptions()))
        except UnicodeDecodeError:
            pass
    return BatchRequest(key=key, input=EmbedInput((BlobPart(mime, data),), EmbedOptions()))


# --- embedding (one actor of the pool) -----------------------------------------------------------
class EmbedStage:
    """Owns one copy of the model (its own runtime and batcher) and an event loop to drive it."""

    def __init__(
        self, make_service: ServiceFactory, make_reader: ReaderFactory, options: PipelineOptions, kind: str
    ) -> None:
        self.service = make_service()
        self.service.runtime.start()
        self.options = options
        self.model = self.service.catalogue.resolve(options.model).name
        self.read_line = make_reader(self.service.catalogue, options.model)
        self.loop = asyncio.new_event_loop()
        self.kind = kind

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        requests = self._requests(batch)
        results = self.loop.run_until_complete(self._embed_all(requests))
        # One array per row: requests may ask for different outputDimensionality.
        vectors = np.empty(len(results), dtype=object)
        for i, r in enumerate(results):
            vectors[i] = np.frombuffer(r.vector, np.float32) if r.vector is not None else _NO_VECTOR
        return {
            "key": np.array([req.key if req.key is not None else "" for req in requests], dtype=object),
            "has_key": np.array([req.key is not None for req in requests]),
            "metadata": np.array([_metadata(req) for req in requests], dtype=object),
            "vector": vectors,
            "token_count": np.array([r.token_count for r in results], dtype=np.int64),
            "error": np.array([_error_json(r.error) for r in results], dtype=object),
        }

    def _requests(self, batch: dict[str, np.ndarray]) -> list[BatchRequest]:
        if self.kind == "jsonl":
            return [self.read_line(0, _bytes(line)) for line in batch["text"]]
        if self.kind == "files":
            return [_file_request(str(p), str(k)) for p, k in zip(batch["path"], batch["key"], strict=True)]
        texts = batch[self.options.text_column]
        keys = batch[self.options.key_column] if self.options.key_column else [None] * len(texts)
        return [
            BatchRequest(
                key=None if k is None else str(k), input=EmbedInput((TextPart(str(t)),), EmbedOptions())
            )
            for t, k in zip(texts, keys, strict=True)
        ]

    async def _embed_all(self, requests: list[BatchRequest]) -> list[ItemResult]:
        results: dict[int, ItemResult] = {}
        runnable: list[tuple[int, EmbedInput]] = []
        for i, req in enumerate(requests):
            if req.error is not None or req.input is None:
                error = req.error or OmnivecError("The request could not be read.")
                results[i] = failure(i, item_error(error))
            else:
                # The stored form, as the Batch API worker reads it back: the same path embeds.
                runnable.append((i, decode_input(encode_input(req.input))))
        if runnable:
            try:
                embedded = await self._embed([x for _, x in runnable])
                for (i, _), e in zip(runnable, embedded, strict=True):
                    results[i] = success(i, e.values, e.token_count)
            except Exception:
                # One bad input fails the whole call: embed them one at a time to find it.
                alone = await asyncio.gather(*(self._one(i, x) for i, x in runnable))
                results.update({r.index: r for r in alone})
        return [results[i] for i in range(len(requests))]

    async def _one(self, index: int, item: EmbedInput) -> ItemResult:
        try:
            [e] = await self._embed([item])
        except OmnivecError as exc:
            return failure(index, item_error(exc))
        except Exception:
            log.exception("item %d failed", index)
            return failure(index, _CRASHED)
        return success(index, e.values, e.token_count)

    async def _embed(self, inputs: list[EmbedInput]) -> list[Any]:
        while True:
            try:
                return await self.service.embed(self.model, inputs, priority=Priority.BATCH, field_prefix="")
            except ResourceExhausted:
                await asyncio.sleep(0.1)


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _metadata(req: BatchRequest) -> str:
    """The request's metadata as JSON text ('' for none), echoed with its result."""
    return "" if req.metadata is None else orjson.dumps(req.metadata).decode()


def _error_json(error: ItemError | None) -> str:
    if error is None:
        return ""
    return orjson.dumps({"code": error.code, "status": error.status, "message": error.message}).decode()


# --- the run ---------------------------------------------------------------------------------------
def stream_results(
    paths: Sequence[Path], make_service: ServiceFactory, make_reader: ReaderFactory, options: PipelineOptions
) -> Iterator[dict[str, Any]]:
    """The pipeline's output batches (numpy columns), in input order."""
    import ray.data
    from ray.data import ActorPoolStrategy

    ray.data.DataContext.get_current().execution_options.preserve_order = True
    kind = input_kind(paths)
    ds = _dataset(paths, kind, options)
    ds = ds.map_batches(
        EmbedStage,
        fn_constructor_args=(make_service, make_reader, options, kind),
        batch_size=options.batch_rows,
        batch_format="numpy",
        compute=ActorPoolStrategy(min_size=options.actors_min, max_size=options.actors_max),
        num_cpus=options.actor_cpus,
        num_gpus=options.actor_gpus,
        # A dead actor is replaced and its unfinished batches run again.
        max_restarts=-1,
        max_task_retries=-1,
    )
    yield from ds.iter_batches(batch_size=options.batch_rows, batch_format="numpy", prefetch_batches=2)


class ResultWriter:
    """Writes results to ``out`` (.jsonl: the Batch API's output lines; .parquet: key, vector,
    token_count, error) through a temporary file renamed into place when complete."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.partial = out.with_name(f".{out.name}.partial")
        self.parquet = out.suffix.lower() in {".parquet", ".pq"}
        self.stats = RunStats()
        self._writer: Any = None
        self._file: Any = None
        self._next_key = 0

    def __enter__(self) -> ResultWriter:
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        if not self.parquet:
            self._file = self.partial.open("wb")
        return self

    def write(self, batch: dict[str, Any]) -> None:
        n = len(batch["token_count"])
        errors = [str(e) for e in batch["error"]]
        self.stats.requests += n
        self.stats.failed += sum(1 for e in errors if e)
        self.stats.succeeded += sum(1 for e in errors if not e)
        if self.parquet:
            self._write_parquet(batch, errors)
        else:
            self._write_jsonl(batch, errors)

    def _write_jsonl(self, batch: dict[str, Any], errors: list[str]) -> None:
        lines = []
        for i, error in enumerate(errors):
            key = str(batch["key"][i]) if batch["has_key"][i] else None
            metadata = str(batch["metadata"][i])
            item = BatchItem(
                self.stats.requests - len(errors) + i, key, metadata.encode() if metadata else None, None
            )
            if error:
                e = orjson.loads(error)
                result = failure(item.index, ItemError(e["code"], e["status"], e["message"]))
            else:
                result = success(item.index, batch["vector"][i], int(batch["token_count"][i]))
            lines.append(output_line(item, result))
        self._file.write(b"".join(lines))

    def _write_parquet(self, batch: dict[str, Any], errors: list[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        keys = []
        for i in range(len(errors)):
            keys.append(str(batch["key"][i]) if batch["has_key"][i] else str(self._next_key))
            self._next_key += 1
        vectors = [None if e else batch["vector"][i].tolist() for i, e in enumerate(errors)]
        table = pa.table(
            {
                "key": pa.array(keys, pa.string()),
                "vector": pa.array(vectors, pa.list_(pa.float32())),
                "token_count": pa.array(batch["token_count"], pa.int64()),
                "error": pa.array([e or None for e in errors], pa.string()),
            }
        )
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self.partial), table.schema)
        self._writer.write_table(table)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._file is not None:
            self._file.close()
        if self._writer is not None:
            self._writer.close()
        if exc_type is None:
            if self.parquet and self._writer is None:  # no rows at all: an empty, valid file
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({"key": pa.array([], pa.string())}), str(self.partial))
            os.replace(self.partial, self.out)
        else:
            self.partial.unlink(missing_ok=True)


def run(
    paths: Sequence[Path],
    out: Path,
    make_service: ServiceFactory,
    make_reader: ReaderFactory,
    options: PipelineOptions,
    on_progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    with ResultWriter(out) as writer:
        for batch in stream_results(paths, make_service, make_reader, options):
            writer.write(batch)
            if on_progress is not None:
                on_progress(writer.stats)
    return writer.stats
