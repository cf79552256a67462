"""``omnivec stores create|list|get|delete``, ``omnivec index PATH... --store NAME`` and
``omnivec search TEXT --store NAME``: in-process on the data directory, or against a running
server with ``--remote URL``.

A store is named by its id (``fileSearchStores/ID`` or ``ID``) or by its display name when that
is unique.
"""

from __future__ import annotations

import argparse
import base64
import mimetypes
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omnivec.cli.access import (
    add_access_flags,
    management_container,
    owner,
    remote,
    resource_name,
    run_service,
)
from omnivec.cli.commands import CliError, load_settings
from omnivec.cli.output import print_json as _print

_PREFIX = "fileSearchStores/"


# --- stores ------------------------------------------------------------------------------------
def _create(args: argparse.Namespace) -> None:
    if args.remote:
        body = {"displayName": args.display_name}
        if args.embedding_model:
            body["embeddingModel"] = args.embedding_model
        _print(remote(args).post("fileSearchStores", body))
        return
    from omnivec.bootstrap import build
    from omnivec.wire.search_stores import store_json

    c = build(load_settings(args))

    async def run() -> Any:
        await c.start(background_jobs=False)
        try:
            return await _service(c).create_store(owner(args), args.display_name, args.embedding_model)
        finally:
            await c.stop()

    _print(store_json(run_service(run())))


def _list(args: argparse.Namespace) -> None:
    if args.remote:
        _print({"fileSearchStores": _remote_stores(args)})
        return
    from omnivec.wire.search_stores import store_json

    c = management_container(args)
    stores = run_service(_all_stores(c, owner(args)))
    _print({"fileSearchStores": [store_json(s) for s in stores]})


def _get(args: argparse.Namespace) -> None:
    if args.remote:
        _print(remote(args).get(_remote_store(args, args.name)))
        return
    from omnivec.wire.search_stores import store_json

    c = management_container(args)
    _print(store_json(run_service(_local_store(c, owner(args), args.name))))


def _delete(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).delete(f"{_remote_store(args, args.name)}?force={str(args.force).lower()}")
    else:
        c = management_container(args)

        async def run() -> None:
            store = await _local_store(c, owner(args), args.name)
            try:
                await _service(c).delete_store(owner(args), store.store_id, force=args.force)
            finally:
                _service(c).vectors.close()

        run_service(run())
    _print({})


# --- index --------------------------------------------------------------------------------------
def _index(args: argparse.Namespace) -> int:
    from omnivec.errors import OmnivecError
    from omnivec.services.store_indexer import find_files
    from omnivec.wire.search_stores import parse_chunking_config

    raw = {"maxTokensPerChunk": args.chunk_words, "maxOverlapTokens": args.overlap_words}
    try:
        parse_chunking_config({"whiteSpaceConfig": raw})
    except OmnivecError as exc:
        raise CliError(exc.message.replace("chunkingConfig.whiteSpaceConfig.", "")) from None

    try:
        files = find_files(Path(p) for p in args.paths)
    except FileNotFoundError as exc:
        raise CliError(f"{exc} is neither a file nor a folder") from None
    if not files:
        raise CliError("no files found under the paths given")
    failures = _index_remote(args, files) if args.remote else _index_local(args, files)
    if failures:
        print(f"\n{len(failures)} of {len(files)} files failed:", file=sys.stderr)
        for name, reason in failures:
            print(f"  {name}: {reason}", file=sys.stderr)
        return 1
    return 0


def _index_local(args: argparse.Namespace, files: list[Any]) -> list[tuple[str, str]]:
    from omnivec.bootstrap import build
    from omnivec.errors import OmnivecError
    from omnivec.services.store_indexer import Outcome, StoreIndexer
    from omnivec.types import ChunkingConfig, DocumentState

    chunking = ChunkingConfig(args.chunk_words, args.overlap_words)
    c = build(load_settings(args))

    async def run() -> list[tuple[str, str]]:
        await c.start(background_jobs=False)
        try:
            service = _service(c)
            store = await _local_store(c, owner(args), args.store)
            indexer = StoreIndexer(service)
            failures: list[tuple[str, str]] = []
            added: dict[str, tuple[str, Outcome]] = {}  # document id -> file, outcome
            counts = dict.fromkeys(Outcome, 0)
            with _progress() as progress:
                task = progress.add_task("indexing", total=len(files), rate="")
                started = time.monotonic()
                for f in files:
                    try:
                        outcome, doc = await indexer.add_file(
                            owner(args), store.store_id, f, mime_type=_mime(f.path), chunking=chunking
                        )
                    except OmnivecError as exc:
                        failures.append((f.display_name, exc.message))
                        progress.advance(task)
                        continue
                    counts[outcome] += 1
                    if doc is None:
                        progress.advance(task)
                    else:
                        added[doc.document_id] = (f.display_name, outcome)

                def settled(_: Any) -> None:
                    progress.advance(task)
                    done = progress.tasks[0].completed
                    progress.update(task, rate=f"{done / max(time.monotonic() - started, 1e-6):.1f} files/s")

                assert c.ingestion is not None
                await c.ingestion.drain(settled)
                progress.update(task, completed=len(files))
            for doc_id, (name, outcome) in added.items():
                doc = await service.get_document(owner(args), store.store_id, doc_id)
                if doc.state is DocumentState.FAILED:
                    failures.append((name, doc.error or "failed"))
                    counts[outcome] -= 1
            print(
                f"{counts[Outcome.ADDED]} added, {counts[Outcome.REPLACED]} replaced, "
                f"{counts[Outcome.UNCHANGED]} unchanged, {len(failures)} failed"
            )
            return failures
        finally:
            await c.stop()

    return run_service(run())


def _index_remote(args: argparse.Namespace, files: list[Any]) -> list[tuple[str, str]]:
    from omnivec.services.store_indexer import sha256_of

    client = remote(args)
    store = _remote_store(args, args.store)
    known: dict[str, list[dict[str, Any]]] = {}
    token = ""
    while True:
        page = client.get(f"{store}/documents?pageSize=20" + (f"&pageToken={token}" if token else ""))
        for doc in page.get("documents", []):
            known.setdefault(doc.get("displayName", ""), []).append(doc)
        token = page.get("nextPageToken", "")
        if not token:
            break
    failures: list[tuple[str, str]] = []
    operations: list[tuple[str, str]] = []
    unchanged = 0
    with _progress() as progress:
        task = progress.add_task("indexing", total=len(files), rate="")
        started = time.monotonic()
        for f in files:
            digest = base64.b64encode(sha256_of(f.path).encode()).decode()
            earlier = known.get(f.display_name, [])
            if any(d.get("sha256Hash") == digest and d.get("state") != "STATE_FAILED" for d in earlier):
                unchanged += 1
                progress.advance(task)
                continue
            try:
                op = client.upload_to_store(
                    store, f.path, mime_type=_mime(f.path), display_name=f.display_name
                )
                for old in earlier:
                    client.delete(f"{old['name']}?force=true")
            except CliError as exc:
                failures.append((f.display_name, str(exc)))
                progress.advance(task)
                continue
            operations.append((op["name"], f.display_name))
        while operations:
            pending = []
            for name, display in operations:
                op = client.get(name)
                if not op.get("done"):
                    pending.append((name, display))
                    continue
                if op.get("error"):
                    failures.append((display, op["error"].get("message", "failed")))
                progress.advance(task)
            done = progress.tasks[0].completed
            progress.update(task, rate=f"{done / max(time.monotonic() - started, 1e-6):.1f} files/s")
            operations = pending
            if operations:
                time.sleep(0.2)
    print(f"{len(files) - unchanged - len(failures)} indexed, {unchanged} unchanged, {len(failures)} failed")
    return failures


def _progress() -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=False,
    )


def _mime(path: Path) -> str:
    if path.suffix.lower() in (".md", ".markdown"):
        return "text/markdown"
    if path.suffix.lower() == ".jsonl":
        return "application/jsonl"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# --- search -------------------------------------------------------------------------------------
def _search(args: argparse.Namespace) -> None:
    if not args.text and not args.image:
        raise CliError("give the text to search for, an --image, or both")
    if args.remote:
        body: dict[str, Any] = {"resultsCount": args.k, "searchMode": args.mode}
        if args.filter:
            body["metadataFilter"] = args.filter
        if args.image:
            parts: list[dict[str, Any]] = [{"inlineData": _inline(args.image)}]
            if args.text:
                parts.append({"text": args.text})
            body["content"] = {"parts": parts}
        else:
            body["query"] = args.text
        result = remote(args).post(f"{_remote_store(args, args.store)}:query", body)
        _print_hits(result.get("relevantChunks", []))
        return
    from omnivec.bootstrap import build
    from omnivec.index.base import SearchMode
    from omnivec.types import BlobPart, Part, TextPart
    from omnivec.wire.search_stores import relevant_chunks_json

    c = build(load_settings(args))
    domain_parts: list[Part] | None = None
    if args.image:
        inline = _inline(args.image)
        domain_parts = [BlobPart(inline["mimeType"], base64.b64decode(inline["data"]))]
        if args.text:
            domain_parts.append(TextPart(args.text))

    async def run() -> Any:
        await c.start(background_jobs=False)
        try:
            store = await _local_store(c, owner(args), args.store)
            return await _service(c).query(
                owner(args),
                [store.store_id],
                text=None if domain_parts is not None else args.text,
                parts=domain_parts,
                results_count=args.k,
                metadata_filter=args.filter,
                mode=SearchMode(args.mode),
            )
        finally:
            await c.stop()

    _print_hits(relevant_chunks_json(run_service(run())).get("relevantChunks", []))


def _inline(path: str) -> dict[str, str]:
    file = Path(path)
    if not file.is_file():
        raise CliError(f"{file} is not a file")
    mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    return {"mimeType": mime, "data": base64.b64encode(file.read_bytes()).decode()}


def _print_hits(hits: list[dict[str, Any]]) -> None:
    if not hits:
        print("no results")
        return
    for rank, hit in enumerate(hits, start=1):
        chunk, doc = hit["chunk"], hit["document"]
        where = doc.get("displayName") or doc["name"]
        if "pageNumber" in chunk:
            where += f"  (page {chunk['pageNumber']})"
        if "startOffsetSeconds" in chunk:
            where += f"  ({chunk['startOffsetSeconds']:.1f}s-{chunk.get('endOffsetSeconds', 0):.1f}s)"
        text = " ".join(chunk.get("data", {}).get("stringValue", "").split())
        snippet = text if len(text) <= 200 else text[:197] + "..."
        print(f"{rank:>2}. {hit['chunkRelevanceScore']:.4f}  {where}")
        print(f"    {snippet}")


# --- naming -------------------------------------------------------------------------------------
def _service(c: Any) -> Any:
    if c.search_stores is None:
        raise CliError("File Search stores are not available with this data directory")
    return c.search_stores


async def _all_stores(c: Any, who: str) -> list[Any]:
    found: list[Any] = []
    while True:
        page, more = await _service(c).list_stores(who, len(found), 100)
        found.extend(page)
        if not more:
            return found


async def _local_store(c: Any, who: str, name: str) -> Any:
    from omnivec.errors import NotFound

    try:
        return await _service(c).get_store(who, name)
    except NotFound:
        matches = [s for s in await _all_stores(c, who) if s.display_name == name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise CliError(f"{len(matches)} stores are called {name!r}; name one by its id") from None
        raise CliError(f"no store is called {name!r} (see omnivec stores list)") from None


def _remote_stores(args: argparse.Namespace) -> list[Any]:
    client = remote(args)
    found: list[Any] = []
    token = ""
    while True:
        page = client.get("fileSearchStores?pageSize=20" + (f"&pageToken={token}" if token else ""))
        found.extend(page.get("fileSearchStores", []))
        token = page.get("nextPageToken", "")
        if not token:
            return found


def _remote_store(args: argparse.Namespace, name: str) -> str:
    """The resource name of the store ``name`` (an id or a unique display name)."""
    if name.startswith(_PREFIX) or not any(ch.isupper() or ch.isspace() for ch in name):
        candidate = resource_name("fileSearchStores", name)
        try:
            remote(args).get(candidate)
            return candidate
        except CliError:
            pass
    matches = [s["name"] for s in _remote_stores(args) if s.get("displayName") == name]
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        raise CliError(f"{len(matches)} stores are called {name!r}; name one by its id")
    raise CliError(f"no store is called {name!r} (see omnivec stores list)")


def _access(
    p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], Any], *, config: bool = True
) -> None:
    if config:
        add_access_flags(p, run)
    else:  # the model flags already brought --config
        p.add_argument(
            "--remote", metavar="URL", help="Talk to a running server instead of the data directory."
        )
        p.add_argument(
            "--api-key", help="With --remote, the key to send; in-process, whose stores to act on."
        )
        p.add_argument("--data-dir", help="The data directory (in-process use).")
        p.set_defaults(run=run)
    p.add_argument("--vector-store", help="In-process: the vector store URL, as for omnivec serve.")


def add_parsers(sub: Any) -> None:
    from omnivec.cli.commands import add_model_flags as model_flags

    stores = sub.add_parser("stores", help="File Search stores: create, list, get, delete.")
    stores_sub = stores.add_subparsers(dest="stores_command", required=True)
    create = stores_sub.add_parser("create", help="Create a store; prints the FileSearchStore.")
    create.add_argument("display_name", metavar="DISPLAY_NAME")
    create.add_argument(
        "--embedding-model", help="A served model or alias (default: the first served model)."
    )
    model_flags(create)
    _access(create, _create, config=False)
    _access(stores_sub.add_parser("list", help="List stores, oldest first."), _list)
    get = stores_sub.add_parser("get", help="Show a store.")
    get.add_argument("name", help="fileSearchStores/ID, ID, or a unique display name")
    _access(get, _get)
    delete = stores_sub.add_parser("delete", help="Delete a store.")
    delete.add_argument("name", help="fileSearchStores/ID, ID, or a unique display name")
    delete.add_argument("--force", action="store_true", help="Delete it with its documents.")
    _access(delete, _delete)

    index = sub.add_parser(
        "index", help="Add files and folders (recursively) to a store; unchanged files are skipped."
    )
    index.add_argument("paths", nargs="+", metavar="PATH")
    index.add_argument("--store", required=True, help="The store (id or unique display name).")
    index.add_argument("--chunk-words", type=int, help="Words per chunk (default: fits the model).")
    index.add_argument("--overlap-words", type=int, help="Words shared by neighbouring chunks.")
    model_flags(index)
    _access(index, _index, config=False)

    search = sub.add_parser("search", help="Search a store; prints a ranked list.")
    search.add_argument("text", nargs="?", metavar="TEXT")
    search.add_argument("--store", required=True, help="The store (id or unique display name).")
    search.add_argument("--image", metavar="FILE", help="Search with an image (for image-capable models).")
    search.add_argument("--filter", help='Metadata filter, e.g. author = "Robert Graves" AND year > 1930.')
    search.add_argument("-k", type=int, default=10, help="How many results (default 10).")
    search.add_argument("--mode", default="HYBRID", choices=["HYBRID", "DENSE", "LEXICAL"])
    model_flags(search)
    _access(search, _search, config=False)
