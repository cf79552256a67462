"""``omnivec batch submit|get|list|cancel|results``: in-process on the data directory, or
against a running server with ``--remote URL``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from omnivec.cli import ray_batch
from omnivec.cli.access import (
    add_access_flags,
    existing_file,
    management_container,
    output_stream,
    owner,
    read_file,
    remote,
    resource_name,
    run_service,
)
from omnivec.cli.commands import CliError, _build_container, _print, load_settings

_POLL_S = 0.5


# --- submit ------------------------------------------------------------------------------------
def _submit(args: argparse.Namespace) -> None:
    path = existing_file(args.path)
    if args.remote:
        client = remote(args)
        file = client.upload(path, mime_type="application/jsonl", name=None, display_name=path.name)
        body = {"batch": {"displayName": args.display_name or "", "inputConfig": {"fileName": file["name"]}}}
        operation = client.post(f"models/{args.use_model}:asyncBatchEmbedContent", body)
        if args.wait:
            operation = _wait_remote(client, operation["name"])
        _print(operation)
        return
    container = _build_container(load_settings(args))
    _print(run_service(_submit_local(container, args, path)))


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
        reader = RequestReader(c.catalogue, args.use_model)
        job = await c.batches.create_from_file(
            owner(args),
            args.use_model,
            f"files/{record.file_id}",
            reader.jsonl_line,
            display_name=args.display_name or "",
        )
        while args.wait and not job.state.is_terminal:
            _progress(job.succeeded, job.failed, job.request_count, job.state.value)
            await asyncio.sleep(_POLL_S)
            job = await c.batches.get(owner(args), job.job_id)
        if args.wait:
            _progress(job.succeeded, job.failed, job.request_count, job.state.value, end=True)
        return operation_json(job)
    finally:
        if args.wait:
            await c.stop()


def _wait_remote(client: Any, name: str) -> Any:
    while True:
        operation = client.get(name)
        meta = operation["metadata"]
        stats = meta.get("batchStats", {})
        state = meta["state"].removeprefix("BATCH_STATE_")
        done = operation.get("done", False)
        _progress(
            int(stats.get("successfulRequestCount", 0)),
            int(stats.get("failedRequestCount", 0)),
            int(stats.get("requestCount", 0)),
            state,
            end=done,
        )
        if done:
            return operation
        time.sleep(_POLL_S)


def _progress(succeeded: int, failed: int, total: int, state: str, *, end: bool = False) -> None:
    line = f"\r{succeeded + failed}/{total} done ({succeeded} embedded, {failed} failed)  {state:<10}"
    sys.stderr.write(line + ("\n" if end else ""))
    sys.stderr.flush()


# --- get, list, cancel ---------------------------------------------------------------------------
def _get(args: argparse.Namespace) -> None:
    if args.remote:
        _print(remote(args).get(_name(args.name)))
        return
    from omnivec.api.schemas.batches import operation_json

    c = management_container(args)

    async def read() -> Any:
        job = await c.batches.get(owner(args), args.name)
        results = await c.batches.results(job) if job.state.is_terminal and job.input_file is None else None
        return operation_json(job, results)

    _print(run_service(read()))


def _list(args: argparse.Namespace) -> None:
    if args.remote:
        _print(remote(args).get(f"batches?pageSize={args.page_size}"))
        return
    from omnivec.api.schemas.batches import operation_json

    c = management_container(args)
    jobs, more = run_service(c.batches.list_jobs(owner(args), 0, args.page_size))
    body: dict[str, Any] = {"operations": [operation_json(j) for j in jobs]}
    if more:
        body["more"] = True
    _print(body)


def _cancel(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).post(f"{_name(args.name)}:cancel", {})
    else:
        c = management_container(args)
        run_service(c.batches.cancel(owner(args), args.name))
    _print({})


# --- results ---------------------------------------------------------------------------------------
def _results(args: argparse.Namespace) -> None:
    """The results as JSONL (one line per request, in request order) to -o or stdout."""
    with output_stream(args.output) as out:
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
    parser = sub.add_parser("batch", help="Batch API: submit a JSONL file, follow and collect jobs.")
    batch_sub = parser.add_subparsers(dest="batch_command", required=True)

    submit = batch_sub.add_parser(
        "submit", help="Submit a JSONL file of {key, request} lines; prints the batch operation."
    )
    submit.add_argument("path", metavar="FILE.jsonl")
    submit.add_argument(
        "--model", dest="use_model", default="gemini-embedding-001", help="Model name the job embeds with."
    )
    submit.add_argument("--display-name")
    submit.add_argument(
        "--wait", action="store_true", help="Follow the job to its end, with a progress line."
    )
    submit.add_argument(
        "--serve",
        dest="models",
        action="append",
        metavar="[ID=]SOURCE",
        help="In-process: model to load (repeatable, as 'serve --model'); default from the settings.",
    )
    submit.add_argument("--device", help="In-process: auto (default), cpu, cuda, cuda:N or mps.")
    submit.add_argument("--offline", action="store_true", default=None, help="Never contact a model hub.")
    submit.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR.")
    add_access_flags(submit, _submit)
    for verb, text, handler in (
        ("get", "Show a batch operation.", _get),
        ("cancel", "Cancel a batch.", _cancel),
    ):
        p = batch_sub.add_parser(verb, help=text)
        p.add_argument("name", help="batches/ID or ID")
        add_access_flags(p, handler)
    listing = batch_sub.add_parser("list", help="List batches, newest first.")
    listing.add_argument("--page-size", type=int, default=100)
    add_access_flags(listing, _list)
    results = batch_sub.add_parser(
        "results", help="Write a finished batch's results (JSONL) to -o or stdout."
    )
    results.add_argument("name", help="batches/ID or ID")
    results.add_argument("-o", "--output", help="Output path (default: stdout).")
    add_access_flags(results, _results)
    ray_batch.add_run_parser(batch_sub)
