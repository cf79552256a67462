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
    owner,
    read_file,
    remote,
    resource_name,
    run_service,
)
from omnivec.cli.commands import example_help
from omnivec.cli.output import add_file_flag, add_format_flag, atomic_output, emit, print_json


def _upload(args: argparse.Namespace) -> None:
    path = existing_file(args.path)
    mime_type = args.mime_type or guess_mime_type(path)
    display_name = args.display_name or path.name
    if args.remote:
        print_json(remote(args).upload(path, mime_type=mime_type, name=args.name, display_name=display_name))
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
    print_json(_file_json(c, record))


def guess_mime_type(path: Path) -> str:
    if path.suffix.lower() == ".jsonl":  # batch inputs; not in every platform's mime table
        return "application/jsonl"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


_COLUMNS = ["name", "displayName", "mimeType", "sizeBytes", "createTime", "expirationTime"]


def _list(args: argparse.Namespace) -> None:
    if args.remote:
        body = remote(args).get(f"files?pageSize={args.page_size}")
    else:
        c = management_container(args)
        page, more = run_service(c.files.list_files(owner(args), 0, args.page_size))
        body = {"files": [_file_json(c, f) for f in page]}
        if more:
            body["more"] = True
    emit(args, body, body.get("files", []), _COLUMNS)


def _get(args: argparse.Namespace) -> None:
    if args.remote:
        print_json(remote(args).get(_name(args.name)))
        return
    c = management_container(args)
    print_json(_file_json(c, run_service(c.files.get(owner(args), args.name))))


def _delete(args: argparse.Namespace) -> None:
    if args.remote:
        remote(args).delete(_name(args.name))
    else:
        c = management_container(args)
        run_service(c.files.delete(owner(args), args.name))
    print(f"deleted {_name(args.name)}")


def _download(args: argparse.Namespace) -> None:
    with atomic_output(args.output_file) as out:
        if args.remote:
            remote(args).download(f"{_name(args.name)}:download?alt=media", out)
            return
        c = management_container(args)
        _, chunks = run_service(c.files.download(owner(args), args.name))
        for chunk in chunks:
            out.write(chunk)


def _file_json(c: Any, record: Any) -> Any:
    from omnivec.api.schemas.files import file_json

    body = file_json(record, local_base_url(c.settings), "v1beta")
    if not c.settings.public_url:
        # In-process there is no server whose address the uri could name; with --remote the
        # server builds it from the address it was reached at.
        body.pop("uri", None)
        body.pop("downloadUri", None)
    return body


def _name(name: str) -> str:
    return resource_name("files", name)


def add_parsers(sub: Any) -> None:
    files_parser = sub.add_parser(
        "files",
        help="Files API: upload, list, get, delete, download.",
        **example_help(
            'omnivec files upload notes.pdf --display-name "Notes"',
            "omnivec files list --output table",
            "omnivec files download files/abc123 -o copy.pdf --remote http://127.0.0.1:8080",
        ),
    )
    files_sub = files_parser.add_subparsers(dest="files_command", required=True, metavar="COMMAND")

    upload = files_sub.add_parser("upload", help="Upload a file; prints the File.")
    upload.add_argument("path")
    upload.add_argument("--name", help="files/ID to create (default: a generated id).")
    upload.add_argument("--display-name")
    upload.add_argument("--mime-type", help="Default: guessed from the file name.")
    add_access_flags(upload, _upload)
    listing = files_sub.add_parser("list", help="List files, newest first.")
    listing.add_argument("--page-size", type=int, default=100)
    add_format_flag(listing)
    add_access_flags(listing, _list)
    for verb, text, handler in (("get", "Show a File.", _get), ("delete", "Delete a file.", _delete)):
        p = files_sub.add_parser(verb, help=text)
        p.add_argument("name", help="files/ID or ID")
        add_access_flags(p, handler)
    download = files_sub.add_parser("download", help="Write a file's bytes to -o or stdout.")
    download.add_argument("name", help="files/ID or ID")
    add_file_flag(download, "the bytes")
    add_access_flags(download, _download)
