"""``omnivec batch submit|wait|get|list|cancel|delete|results``: in-process on the data
directory, or against a running server with ``--remote URL``.

``submit`` prints the job's name before anything else, follows it with a progress bar when
asked to ``--wait``, and ends with a summary; a job with failed requests exits 1. A submit that
fails leaves nothing behind (its uploaded input is deleted)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from omnivec.cli import ray_batch
from omnivec.cli.access import (
    add_access_flags,
    existing_file,
    management_container,
    owner,
    read_file,
    remote,
    resource_name,
    run_service,
)
from omnivec.cli.commands import CliError, add_model_flags, build_container, example_help, load_settings
from omnivec.cli.errors import EXIT_FAILED, EXIT_OK
from omnivec.cli.output import add_file_flag, add_format_flag, atomic_output, emit, print_json
from omnivec.cli.progress import Bar, progress_bar

_POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a job stands, read from an operation (remote) or a job record (in-process)."""

    name: str
    state: str
    total: int
    succeeded: int
    failed: int
    done: bool

    @staticmethod
    def of_operation(operation: dict[str, Any]) -> Progress:
        meta = operation["metadata"]
        stats = meta.get("batchStats", {})
        return Progress(
            operation["name"],
            meta["state"].removeprefix("BATCH_STATE_"),
            int(stats.get("requestCount", 0)),
            int(stats.get("successfulRequestCount", 0)),
            int(stats.get("failedRequestCount", 0)),
            bool(operation.get("done", False)),
        )

    def show(self, bar: Bar) -> None:
        bar.update(self.succeeded + self.failed, total=self.total or None, status=self.state)

    def summary(self) -> str:
        return (
            f"{self.name} {self.state}: {self.succeeded} of {self.total} requests embedded, "
            f"{self.failed} failed"
        )

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.state == "SUCCEEDED" and self.failed == 0 else EXIT_FAILED


def _announce(name: str) -> None:
    print(f"batch {name} created", file=sys.stderr, flush=True)


def _finish(operation: dict[str, Any]) -> int:
    """Print the operation and its summary; the exit code says whether every request embedded."""
    progress = Progress.of_operation(operation)
    print_json(operation)
    if progress.done:
        print(progress.summary(), file=sys.stderr)
        if progress.failed:
            print(
                f"see the errors with: omnivec batch results {progress.name} | grep error",
                file=sys.stderr,
            )
        return progress.exit_code
    return EXIT_OK


# --- submit ------------------------------------------------------------------------------------
def _submit(args: argparse.Namespace) -> int:
    path = existing_file(args.path)
    if args.remote:
        client = remote(args)
        file = client.upload(path, mime_type="application/jsonl", name=None, display_name=path.name)
        body = {"batch": {"displayName": args.display_name or "", "inputConfig": {"fileName": file["name"]}}}
        try:
            operation = client.post(f"models/{args.use_model}:asyncBatchEmbedContent", body)
        except BaseException:
            _quietly(lambda: client.delete(file["name"]))  # nothing left behind by a failed submit
            raise
        _announce(operation["name"])
        if args.wait:
            operation = _wait_remote(client, operation["name"])
        return _finish(operation)
    container = build_container(load_settings(args))  # its catalogue checks the model names
    return _finish(run_service(_submit_local(container, args, path)))


async def _submit_local(c: Any, args: argparse.Namespace, path: Path) -> Any:
    from omnivec.api.schemas.batches import RequestReader, operation_json

    if args.wait:
        await c.start()  # the runtime and the worker: this process runs the job
    try:
        record = await c.files.create(
            owner(args),
            read_file(path),
            display_name=path.name,
            mime_type="application/jsonl",
            declared_size=path.stat().st_size,
        )
        try:
            reader = RequestReader(c.catalogue, args.use_model)
            job = await c.batches.create_from_file(
                owner(args),
                args.use_model,
                f"files/{record.file_id}",
                reader.jsonl_line,
                display_name=args.display_name or "",
            )
        except BaseException:
            await c.files.delete(owner(args), record.file_id)  # nothing left behind
            raise
        _announce(f"batches/{job.job_id}")
        if not args.wait:
            return operation_json(job)
        return operation_json(await _follow_local(c, args, job.job_id))
    finally:
        if args.wait:
            await c.stop()


async def _follow_local(c: Any, args: argparse.Namespace, job_id: str) -> Any:
    from omnivec.api.schemas.batches import operation_json

    name = f"batches/{job_id}"
    with _interrupt_note(name), progress_bar(f"embedding {name}", unit="requests") as bar:
        while True:
            job = await c.batches.get(owner(args), job_id)
            Progress.of_operation(operation_json(job)).show(bar)
            if job.state.is_terminal:
                return job
            await asyncio.sleep(_POLL_S)


def _wait_remote(client: Any, name: str) -> Any:
    with _interrupt_note(name, remote=True), progress_bar(f"embedding {name}", unit="requests") as bar:
        while True:
            operation = client.get(name)
            progress = Progress.of_operation(operation)
            progress.show(bar)
            if progress.done:
                return operation
            time.sleep(_POLL_S)


class _interrupt_note:
    """On Ctrl-C while following a job, say which job it was and how to pick it up again."""

    def __init__(self, name: str, *, remote: bool = False) -> None:
        self.name = name
        self.remote = remote

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and issubclass(kind, KeyboardInterrupt | asyncio.CancelledError):
            where = "on the server" if self.remote else "in the data directory; `omnivec serve` runs it"
            print(
                f"\nstopped following {self.name} (it stays {where}); "
                f"follow it with: omnivec batch wait {self.name}",
                file=sys.stderr,
            )


def _quietly(action: Any) -> None:
    # Best effort: the error being reported is the one that matters.
    with contextlib.suppress(Exception):
        action()


# --- wait, get, list, cancel, delete ---------------------------------------------------------
def _wait(args: argparse.Namespace) -> int:
    if args.remote:
        return _finish(_wait_remote(remote(args), _name(args.name)))
    from omnivec.api.schemas.batches import operation_json

    c = management_container(args)

    async def follow() -> Any:
        job = await c.batches.get(owner(args), args.name)
        return operation_json(await _follow_local(c, args, job.job_id))

    return _finish(run_service(follow()))


def _get(args: argparse.Namespace) -> None:
    if args.remote:
        print_json(remote(args).get(_name(args.name)))
        return
    from omnivec.api.schemas.batches import operation_json

    c = management_container(args)

    async def read() -> Any:
        job = await c.batches.get(owner(args), args.name)
        results = await c.batches.results(job) if job.state.is_terminal and job.input_file is None else None
        return operation_json(job, results)

    print_json(run_service(read()))


_COLUMNS = ["name", "state", "requests", "embedded", "failed", "created"]


def _list(args: argparse.Namespace) -> None:
    if args.remote:
        body = remote(args).get(f"batches?pageSize={args.page_size}")
    else:
        from omnivec.api.schemas.batches import operation_json

        c = management_container(args)
        jobs, more = run_service(c.batches.list_jobs(owner(args), 0, args.page_size))
        body = {"operations": [operation_json(j) for j in jobs]}
        if more:
            body["more"] = True
    rows = []
    for operation in body.get("operations", []):
        p = Progress.of_operation(operation)
        rows.append(
            {
                "name": p.name,
                "state": p.state,
                "requests": p.total,
                "embedded": p.succeeded,
                "failed": p.failed,
                "created": operation["metadata"].get("createTime"),
            }
        )
    emit(args, body, rows, _COLUMNS)


def _cancel(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).post(f"{_name(args.name)}:cancel", {})
    else:
        c = management_container(args)
        run_service(c.batches.cancel(owner(args), args.name))
    print(f"cancelled {_name(args.name)} (a finished job stays as it was)")


def _delete(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).delete(_name(args.name))
    else:
        c = management_container(args)
        run_service(c.batches.delete(owner(args), args.name))
    print(f"deleted {_name(args.name)}")


# --- results ---------------------------------------------------------------------------------------
def _results(args: argparse.Namespace) -> None:
    """The results as JSONL (one line per request, in request order) to -o or stdout."""
    with atomic_output(args.output_file) as out:
        if args.remote:
            _remote_results(args, out)
        else:
            _local_results(args, out)


def _remote_results(args: argparse.Namespace, out: IO[bytes]) -> None:
    client = remote(args)
    operation = client.get(_name(args.name))
    output = operation["metadata"].get("output")
    if output is None:
        raise CliError(f"{operation['name']} has no results ({operation['metadata']['state']})")
    if "responsesFile" in output:
        client.download(f"{output['responsesFile']}:download?alt=media", out)
        return
    for item in output["inlinedResponses"]["inlinedResponses"]:
        out.write(json.dumps(item).encode() + b"\n")


def _local_results(args: argparse.Namespace, out: IO[bytes]) -> None:
    from omnivec.services.batch_items import output_line

    c = management_container(args)

    async def write() -> None:
        job = await c.batches.get(owner(args), args.name)
        if job.output_file:
            _, chunks = await c.files.download(owner(args), job.output_file)
            for chunk in chunks:
                out.write(chunk)
        elif job.state.is_terminal:
            for item, result in await c.batches.results(job):
                out.write(output_line(item, result))
        else:
            raise CliError(f"batches/{job.job_id} has no results yet ({job.state.value})")

    run_service(write())


def _name(name: str) -> str:
    return resource_name("batches", name)


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser(
        "batch",
        help="Batch API: submit a JSONL file, follow and collect jobs.",
        **example_help(
            "omnivec batch submit requests.jsonl --wait",
            "omnivec batch submit requests.jsonl --remote http://127.0.0.1:8080",
            "omnivec batch wait batches/ID --remote http://127.0.0.1:8080",
            "omnivec batch results batches/ID -o results.jsonl",
        ),
    )
    batch_sub = parser.add_subparsers(dest="batch_command", required=True, metavar="COMMAND")

    submit = batch_sub.add_parser(
        "submit",
        help="Submit a JSONL file of {key, request} lines; prints the batch operation.",
        description="Submit a JSONL file of {key, request} lines. The job's name is printed (stderr) "
        "first; with --wait a progress bar follows it and a summary ends it (exit 1 if requests failed).",
    )
    submit.add_argument("path", metavar="FILE.jsonl")
    submit.add_argument(
        "--use", dest="use_model", default="gemini-embedding-001", help="Model name the job embeds with."
    )
    submit.add_argument("--display-name")
    submit.add_argument("--wait", action="store_true", help="Follow the job to its end, with a progress bar.")
    # In-process with --wait this process loads the models and runs the job.
    add_model_flags(submit)
    add_access_flags(submit, _submit, config_flag=False)
    wait = batch_sub.add_parser(
        "wait", help="Follow a batch to its end (progress bar, summary, exit 1 on failures)."
    )
    wait.add_argument("name", help="batches/ID or ID")
    add_access_flags(wait, _wait)
    for verb, text, handler in (
        ("get", "Show a batch operation.", _get),
        ("cancel", "Cancel a batch.", _cancel),
        ("delete", "Forget a batch (cancelling it first).", _delete),
    ):
        p = batch_sub.add_parser(verb, help=text)
        p.add_argument("name", help="batches/ID or ID")
        add_access_flags(p, handler)
    listing = batch_sub.add_parser("list", help="List batches, newest first.")
    listing.add_argument("--page-size", type=int, default=100)
    add_format_flag(listing)
    add_access_flags(listing, _list)
    results = batch_sub.add_parser(
        "results", help="Write a finished batch's results (JSONL) to -o or stdout."
    )
    results.add_argument("name", help="batches/ID or ID")
    add_file_flag(results, "the results")
    add_access_flags(results, _results)
    ray_batch.add_run_parser(batch_sub)
