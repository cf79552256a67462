"""The command line's one error type: a problem the user can fix, printed as one line."""

from __future__ import annotations


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""
