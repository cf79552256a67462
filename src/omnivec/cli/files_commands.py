"""``omnivec files upload|list|get|delete|download``: in-process on the data directory, or
against a running server with ``--remote URL``."""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from omnivec.cli.commands import CliError, _print, load_settings

T = TypeVar("T")


def files(args: argparse.Namespace) -> int:
    handler = {
        "upload": _upload,
        "list": _list,
        "get": _get,
        "delete": _delete,
        "download": _download,
    }[args.files_command]
    handler(args)
    return 0


def run_service(coro: Coroutine[Any, Any, T]) -> T:
    from omnivec.errors import OmnivecError

    try:
        return asyncio.run(coro)
    except OmnivecError as exc:
        raise CliError(exc.message) from None


def management_container(args: argparse.Namespace) -> Any:
    """Files and batches of the data directory, without loading any model."""
    from omnivec.bootstrap import build

    return build(load_settings(args), backends=[])


API_KEY_HELP = "With --remote, the key to send; in-process, whose files and batches to act on."


def owner(args: argparse.Namespace) -> str:
    """In-process, the tenant a server with this API key would use ("" for none)."""
    if not args.api_key:
        return ""
    from omnivec.api.auth import KeyRing

    return KeyRing([args.api_key]).owner_of(args.api_key) or ""


def local_base_url(settings: Any) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def remote(args: argparse.Namespace) -> Any:
    from omnivec.cli.remote import RemoteClient

    return RemoteClient(args.remote, args.api_key)


def _upload(args: argparse.Namespace) -> None:
    path = Path(args.path)
    if not path.is_file():
        raise CliError(f"{path} is not a file")
    mime_type = args.mime_type or guess_mime_type(path)
    display_name = args.display_name or path.name
    if args.remote:
        _print(remote(args).upload(path, mime_type=mime_type, name=args.name, display_name=display_name))
        return
    c = management_container(args)
    record = run_service(
        c.files.create(
            owner(args),
            _read_file(path),
            name=args.name,
            display_name=display_name,
            mime_type=mime_type,
            declared_size=path.stat().st_size,
        )
    )
    _print(_file_json(c, record))


def guess_mime_type(path: Path) -> str:
    if path.suffix.lower() == ".jsonl":  # batch inputs; not in every platform's mime table
        return "application/jsonl"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _list(args: argparse.Namespace) -> None:
    if args.remote:
        _print(remote(args).get(f"files?pageSize={args.page_size}"))
        return
    c = management_container(args)
    page, more = run_service(c.files.list_files(owner(args), 0, args.page_size))
    body: dict[str, Any] = {"files": [_file_json(c, f) for f in page]}
    if more:
        body["more"] = True
    _print(body)


def _get(args: argparse.Namespace) -> None:
    if args.remote:
        _print(remote(args).get(_name(args.name)))
        return
    c = management_container(args)
    _print(_file_json(c, run_service(c.files.get(owner(args), args.name))))


def _delete(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).delete(_name(args.name))
    else:
        c = management_container(args)
        run_service(c.files.delete(owner(args), args.name))
    _print({})


def _download(args: argparse.Namespace) -> None:
    out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115 (closed below)
    try:
        if args.remote:
            remote(args).download(f"{_name(args.name)}:download?alt=media", out)
            return
        c = management_container(args)
        _, chunks = run_service(c.files.download(owner(args), args.name))
        for chunk in chunks:
            out.write(chunk)
    finally:
        if args.output:
            out.close()
        else:
            out.flush()


def _file_json(c: Any, record: Any) -> Any:
    from omnivec.api.schemas.files import file_json

    return file_json(record, local_base_url(c.settings), "v1beta")


def _name(name: str) -> str:
    return name if name.startswith("files/") else f"files/{name}"


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, 1 << 20):
            yield chunk


def add_parsers(sub: Any) -> None:
    files_parser = sub.add_parser("files", help="Files API: upload, list, get, delete, download.")
    files_sub = files_parser.add_subparsers(dest="files_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--remote", metavar="URL", help="Talk to a running server instead of the data directory."
        )
        p.add_argument("--api-key", help=API_KEY_HELP)
        p.add_argument("--data-dir", help="The data directory (in-process use).")
        p.add_argument("--config", help="TOML config file (also OMNIVEC_CONFIG).")
        p.set_defaults(run=files)

    upload = files_sub.add_parser("upload", help="Upload a file; prints the File.")
    upload.add_argument("path")
    upload.add_argument("--name", help="files/ID to create (default: a generated id).")
    upload.add_argument("--display-name")
    upload.add_argument("--mime-type", help="Default: guessed from the file name.")
    common(upload)
    listing = files_sub.add_parser("list", help="List files, newest first.")
    listing.add_argument("--page-size", type=int, default=100)
    common(listing)
    for verb, text in (("get", "Show a File."), ("delete", "Delete a file.")):
        p = files_sub.add_parser(verb, help=text)
        p.add_argument("name", help="files/ID or ID")
        common(p)
    download = files_sub.add_parser("download", help="Write a file's bytes to -o or stdout.")
    download.add_argument("name", help="files/ID or ID")
    download.add_argument("-o", "--output", help="Output path (default: stdout).")
    common(download)
