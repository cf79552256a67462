"""``omnivec files upload|list|get|delete|download``: in-process on the data directory, or
against a running server with ``--remote URL``."""

from __future__ import annotations

import argparse
import mimetypes
from pathlib import Path
from typing import Any

from omnivec.cli.access import (
    add_access_flags,
    existing_file,
    local_base_url,
    management_container,
    output_stream,
    owner,
    read_file,
    remote,
    resource_name,
    run_service,
)
from omnivec.cli.commands import _print


def _upload(args: argparse.Namespace) -> None:
    path = existing_file(args.path)
    mime_type = args.mime_type or guess_mime_type(path)
    display_name = args.display_name or path.name
    if args.remote:
        _print(remote(args).upload(path, mime_type=mime_type, name=args.name, display_name=display_name))
        return
    c = management_container(args)
    record = run_service(
        c.files.create(
            owner(args),
            read_file(path),
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
    with output_stream(args.output) as out:
        if args.remote:
            remote(args).download(f"{_name(args.name)}:download?alt=media", out)
            return
        c = management_container(args)
        _, chunks = run_service(c.files.download(owner(args), args.name))
        for chunk in chunks:
            out.write(chunk)


def _file_json(c: Any, record: Any) -> Any:
    from omnivec.api.schemas.files import file_json

    return file_json(record, local_base_url(c.settings), "v1beta")


def _name(name: str) -> str:
    return resource_name("files", name)


def add_parsers(sub: Any) -> None:
    files_parser = sub.add_parser("files", help="Files API: upload, list, get, delete, download.")
    files_sub = files_parser.add_subparsers(dest="files_command", required=True)

    upload = files_sub.add_parser("upload", help="Upload a file; prints the File.")
    upload.add_argument("path")
    upload.add_argument("--name", help="files/ID to create (default: a generated id).")
    upload.add_argument("--display-name")
    upload.add_argument("--mime-type", help="Default: guessed from the file name.")
    add_access_flags(upload, _upload)
    listing = files_sub.add_parser("list", help="List files, newest first.")
    listing.add_argument("--page-size", type=int, default=100)
    add_access_flags(listing, _list)
    for verb, text, handler in (("get", "Show a File.", _get), ("delete", "Delete a file.", _delete)):
        p = files_sub.add_parser(verb, help=text)
        p.add_argument("name", help="files/ID or ID")
        add_access_flags(p, handler)
    download = files_sub.add_parser("download", help="Write a file's bytes to -o or stdout.")
    download.add_argument("name", help="files/ID or ID")
    download.add_argument("-o", "--output", help="Output path (default: stdout).")
    add_access_flags(download, _download)
