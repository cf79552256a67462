"""Batch embedding as a Ray Data pipeline (the distributed extra).

read the inputs (JSONL in the Batch API's file format, Parquet with a text column, folders of
files, each file one request, or a Batch API job's stored requests) -> a CPU stage of
fractional-CPU actors that reads each request, validates it, decodes its media and tokenises it
-> an actor pool that embeds (omnivec's own runtime: the dynamic batcher and the model) -> the
results stream back to the driver, which writes them (an output file, or the job's storage).

Exactly once: Ray Data re-runs the blocks of a task or actor that died, and a block is handed
to the driver only when it is complete, so every input row reaches the output once. The output
appears under its final name only when the whole run succeeded (written beside it, then
renamed); a run that died leaves no partial output to be mistaken for a result.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import pickle
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from omnivec.errors import Internal, InvalidArgument, OmnivecError
from omnivec.logging import get_logger
from omnivec.runtime.backends.base import InputError
from omnivec.runtime.inputs import PreparedItem
from omnivec.services.batch_items import decode_input, encode_input, failure, item_error, output_line, success
from omnivec.services.batches import BatchRequest
from omnivec.services.catalogue import ModelCatalogue
from omnivec.services.embeddings import EmbeddingService
from omnivec.services.matryoshka import cut
from omnivec.storage.records import BatchItem, ItemError
from omnivec.types import BlobPart, EmbedInput, EmbedOptions, Priority, TextPart

log = get_logger(__name__)

# Builds the embedding service inside each actor (the model loads there, not in the driver);
# ``device="cpu"`` for the CPU stage, which only tokenises and preprocesses.
ServiceFactory = Callable[..., EmbeddingService]
# Builds the Batch API line reader for a model, given that model's catalogue.
ReaderFactory = Callable[[ModelCatalogue, str], Callable[[int, bytes], BatchRequest]]

_CRASHED = ItemError(13, "INTERNAL", "An internal error occurred while embedding this request.")
READ_CPUS = 0.25
# The rows of a Batch API job: (index, stored request payload).
STORED = "stored"
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
    # The CPU stage (parse, decode media, tokenise): its actors and the CPUs each reserves.
    prepare_actors_max: int = 1
    prepare_cpus: float = 0.25
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
        # Ray Data's newer Parquet reader lists files in a task that takes a whole CPU, which
        # cannot be placed beside the fractional-CPU stages on small nodes; the classic reader
        # takes the readers' fraction.
        ray.data.DataContext.get_current().use_datasource_v2 = False
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


# --- the pipeline: a CPU stage, then the model actors ------------------------------------------
class RequestStage:
    """The CPU stage: reads each row as a request (a Batch API line, a Parquet text, a file, or
    a job's stored request), validates it and decodes its media as ``EmbeddingService.embed``
    does, and tokenises it with the model's own ``prepare``. Its output is what the model
    actors put on the device, so they spend no time on any of this."""

    def __init__(
        self,
        make_service: ServiceFactory,
        make_reader: ReaderFactory | None,
        options: PipelineOptions,
        kind: str,
    ) -> None:
        # The model's tokenizer and preprocessing come with its backend, loaded here on the CPU.
        self.service = make_service(device="cpu")
        self.options = options
        self.model = self.service.catalogue.resolve(options.model).name
        self.backend = self.service.runtime.runners[self.model].backend
        self.read_line = make_reader(self.service.catalogue, options.model) if make_reader else None
        self.loop = asyncio.new_event_loop()
        self.kind = kind

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        requests = self._requests(batch)
        prepared = self.loop.run_until_complete(self._prepare_all(requests))
        indices = batch["index"] if self.kind == STORED else np.full(len(requests), -1, dtype=np.int64)
        return {
            "index": np.asarray(indices, dtype=np.int64),
            "key": np.array([req.key if req.key is not None else "" for req in requests], dtype=object),
            "has_key": np.array([req.key is not None for req in requests], dtype=bool),
            "metadata": np.array([_metadata(req) for req in requests], dtype=object),
            # Pickled between two stages of one pipeline: token ids, decoded media.
            "prepared": np.array(
                [b"" if p is None else pickle.dumps(p, 5) for p, _ in prepared], dtype=object
            ),
            "dims": np.array([_dims(req) for req in requests], dtype=np.int64),
            "error": np.array([_error_json(e) for _, e in prepared], dtype=object),
        }

    def _requests(self, batch: dict[str, np.ndarray]) -> list[BatchRequest]:
        if self.kind == STORED:
            return [_stored_request(_bytes(payload)) for payload in batch["payload"]]
        if self.kind == "jsonl":
            assert self.read_line is not None
            # The stored form, as the Batch API worker reads it back: the same path embeds.
            return [_as_stored(self.read_line(0, _bytes(line))) for line in batch["text"]]
        if self.kind == "files":
            return [
                _as_stored(_file_request(str(p), str(k)))
                for p, k in zip(batch["path"], batch["key"], strict=True)
            ]
        texts = batch[self.options.text_column]
        keys = batch[self.options.key_column] if self.options.key_column else [None] * len(texts)
        return [
            BatchRequest(
                key=None if k is None else str(k), input=EmbedInput((TextPart(str(t)),), EmbedOptions())
            )
            for t, k in zip(texts, keys, strict=True)
        ]

    async def _prepare_all(
        self, requests: list[BatchRequest]
    ) -> list[tuple[PreparedItem | None, ItemError | None]]:
        return list(await asyncio.gather(*(self._prepare(req) for req in requests)))

    async def _prepare(self, req: BatchRequest) -> tuple[PreparedItem | None, ItemError | None]:
        """What the model actors need for one request, or the request's own error."""
        if req.error is not None or req.input is None:
            return None, item_error(req.error or OmnivecError("The request could not be read."))
        try:
            model_input = await self.service.model_input(self.model, req.input)
            [prepared] = await asyncio.to_thread(
                self.backend.prepare, [model_input], auto_truncate=req.input.options.auto_truncate
            )
        except InputError as exc:  # reported at the request's own field, as embed does
            return None, item_error(InvalidArgument.at("content", exc.description))
        except OmnivecError as exc:
            return None, item_error(exc)
        except Exception:
            log.exception("a request could not be prepared")
            return None, _CRASHED
        return prepared, None


class ForwardStage:
    """One actor of the model pool: its own copy of the model and batcher. It takes prepared
    inputs, lets the batcher form the forward passes, and cuts each vector to the size asked."""

    def __init__(self, make_service: ServiceFactory, options: PipelineOptions) -> None:
        service = make_service()
        service.runtime.start()
        self.service = service
        self.runner = service.runtime.runners[service.catalogue.resolve(options.model).name]
        self.loop = asyncio.new_event_loop()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        errors = [str(e) for e in batch["error"]]
        todo = [i for i, e in enumerate(errors) if not e]
        prepared = [pickle.loads(batch["prepared"][i]) for i in todo]
        outcomes = self.loop.run_until_complete(self._forward(prepared))
        vectors = np.empty(len(errors), dtype=object)
        for i in range(len(errors)):
            vectors[i] = _NO_VECTOR
        token_counts = np.zeros(len(errors), dtype=np.int64)
        for i, item, outcome in zip(todo, prepared, outcomes, strict=True):
            if isinstance(outcome, OmnivecError):
                errors[i] = _error_json(item_error(outcome))
            elif isinstance(outcome, BaseException):
                errors[i] = _error_json(_CRASHED)
            else:
                dims = int(batch["dims"][i])
                [vector] = outcome
                vectors[i] = cut(np.asarray(vector), dims if dims > 0 else None)
                token_counts[i] = item.token_count
        return {
            "index": batch["index"],
            "key": batch["key"],
            "has_key": batch["has_key"],
            "metadata": batch["metadata"],
            "vector": vectors,
            "token_count": token_counts,
            "error": np.array(errors, dtype=object),
        }

    async def _forward(self, prepared: list[PreparedItem]) -> list[Any]:
        # One submission per item: an item the model fails on fails alone (the runner retries a
        # failed pass item by item); the batcher still forms full passes from them.
        return list(
            await asyncio.gather(
                *(self.runner.run([p], Priority.BATCH) for p in prepared), return_exceptions=True
            )
        )


def _stored_request(payload: bytes) -> BatchRequest:
    try:
        return BatchRequest(input=decode_input(payload))
    except Exception:
        return BatchRequest(error=Internal("The stored request could not be read back."))


def _as_stored(req: BatchRequest) -> BatchRequest:
    if req.input is None:
        return req
    return replace(req, input=decode_input(encode_input(req.input)))


def _dims(req: BatchRequest) -> int:
    dims = req.input.options.output_dimensionality if req.input is not None else None
    return dims or 0


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _metadata(req: BatchRequest) -> str:
    """The request's metadata as JSON text ('' for none), echoed with its result."""
    return "" if req.metadata is None else orjson.dumps(req.metadata).decode()


def _error_json(error: ItemError | None) -> str:
    if error is None:
        return ""
    return orjson.dumps({"code": error.code, "status": error.status, "message": error.message}).decode()


def read_error(text: str) -> ItemError:
    """An ``error`` cell of the pipeline's output back as the item's error."""
    e = orjson.loads(text)
    return ItemError(e["code"], e["status"], e["message"])


def embedding_pipeline(
    ds: Any,
    kind: str,
    make_service: ServiceFactory,
    make_reader: ReaderFactory | None,
    options: PipelineOptions,
) -> Any:
    """``ds`` (rows of ``kind``) -> the CPU stage -> the model actors: one row out per row in,
    with index, key, has_key, metadata, vector, token_count and error. The one pipeline of both
    ``batch run`` and Batch API jobs on Ray."""
    from ray.data import ActorPoolStrategy

    ds = ds.map_batches(
        RequestStage,
        fn_constructor_args=(make_service, make_reader, options, kind),
        batch_size=options.batch_rows,
        batch_format="numpy",
        compute=ActorPoolStrategy(min_size=1, max_size=options.prepare_actors_max),
        num_cpus=options.prepare_cpus,
        max_restarts=-1,
        max_task_retries=-1,
    )
    return ds.map_batches(
        ForwardStage,
        fn_constructor_args=(make_service, options),
        batch_size=options.batch_rows,
        batch_format="numpy",
        compute=ActorPoolStrategy(min_size=options.actors_min, max_size=options.actors_max),
        num_cpus=options.actor_cpus,
        num_gpus=options.actor_gpus,
        # A dead actor is replaced and its unfinished batches run again.
        max_restarts=-1,
        max_task_retries=-1,
    )


# --- the run ---------------------------------------------------------------------------------------
def stream_results(
    paths: Sequence[Path], make_service: ServiceFactory, make_reader: ReaderFactory, options: PipelineOptions
) -> Iterator[dict[str, Any]]:
    """The pipeline's output batches (numpy columns), in input order."""
    import ray.data

    ray.data.DataContext.get_current().execution_options.preserve_order = True
    kind = input_kind(paths)
    ds = embedding_pipeline(_dataset(paths, kind, options), kind, make_service, make_reader, options)
    yield from ds.iter_batches(batch_size=options.batch_rows, batch_format="numpy", prefetch_batches=2)


def stored_results(
    rows: Sequence[tuple[int, bytes]],
    make_service: ServiceFactory,
    options: PipelineOptions,
    stop: threading.Event,
) -> Iterator[dict[str, Any]]:
    """A Batch API job's stored requests ``(index, payload)`` through the pipeline; output
    batches as they come (any order: each row carries its index). Setting ``stop`` ends the run
    at the next batch, and with it the pipeline's tasks and actors."""
    import ray.data

    # The server's log, not a progress bar per run.
    ray.data.DataContext.get_current().enable_progress_bars = False
    ds = ray.data.from_items([{"index": i, "payload": payload} for i, payload in rows])
    ds = embedding_pipeline(ds, STORED, make_service, None, options)
    batches = ds.iter_batches(batch_size=options.batch_rows, batch_format="numpy", prefetch_batches=2)
    try:
        for batch in batches:
            if stop.is_set():
                return
            yield batch
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


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
                result = failure(item.index, read_error(error))
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
