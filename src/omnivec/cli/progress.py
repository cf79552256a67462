"""Progress bars for long commands (uploads, batch jobs, indexing, model pulls): rich bars on a
terminal; nothing at all when stderr is not one, so logs and pipes stay clean."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def interactive() -> bool:
    return sys.stderr.isatty()


class Bar:
    """One task of a rich progress display (or a silent stand-in when not on a terminal)."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def update(self, completed: float, *, total: float | None = None, status: str | None = None) -> None:
        if self._progress is None:
            return
        fields = {"status": status} if status is not None else {}
        self._progress.update(self._task, completed=completed, total=total, **fields)

    def log(self, message: str) -> None:
        """A line above the bar (or on stderr when there is no bar)."""
        if self._progress is None:
            print(message, file=sys.stderr)
        else:
            self._progress.console.print(message)


@contextmanager
def progress_bar(description: str, total: float | None = None, *, unit: str = "items") -> Iterator[Bar]:
    """A bar with percentage, rate and ETA on stderr; silent unless stderr is a terminal."""
    if not interactive():
        yield Bar(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn(f"{unit}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total, status="")
        yield Bar(progress, task)
