"""How commands print: compact JSON or a readable table (``--output json|table``), and ``-o FILE``
written atomically (the file appears whole once the command succeeds, never half-written or
emptied by a failure)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from omnivec.cli.errors import CliError

FORMATS = ("json", "table")


def add_format_flag(p: argparse.ArgumentParser, default: str = "json") -> None:
    """``--output json|table`` for commands that print records."""
    p.add_argument(
        "--output",
        dest="output_format",
        choices=FORMATS,
        default=default,
        help=f"How to print: compact JSON (one document) or a table (default {default}).",
    )


def add_file_flag(p: argparse.ArgumentParser, what: str = "the output") -> None:
    """``-o FILE`` (``-`` or none: stdout), written atomically."""
    p.add_argument(
        "-o",
        "--output-file",
        dest="output_file",
        metavar="FILE",
        help=f"Write {what} to FILE, replacing it only once complete (default: stdout).",
    )


def print_json(body: Any, out: IO[str] | None = None) -> None:
    """Compact JSON, one document on one line: readable by ``jq``, cheap for big vectors."""
    stream = out or sys.stdout
    stream.write(json.dumps(body, separators=(",", ":"), ensure_ascii=False))
    stream.write("\n")


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str | None = None) -> None:
    """Rows as a table; values that are lists are joined, None shows as blank."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    Console(soft_wrap=True).print(table)


def emit(args: argparse.Namespace, body: Any, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print ``body`` as JSON, or ``rows`` as a table with ``columns`` (per ``--output``)."""
    if getattr(args, "output_format", "json") == "table":
        print_table(rows, columns)
    else:
        print_json(body)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@contextmanager
def atomic_output(path: str | None) -> Iterator[IO[bytes]]:
    """Binary output to ``path`` or stdout. A file is written beside its destination and renamed
    over it only when the block succeeds; on any failure the destination keeps what it had."""
    if not path or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise CliError(f"-o {path} is a directory; name a file")
    if not target.parent.exists():
        raise CliError(f"-o {path}: directory {target.parent} does not exist")
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
