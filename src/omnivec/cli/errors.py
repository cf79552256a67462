"""User errors at the command line: one line on stderr, no traceback, a documented exit code.

Exit codes (README, "Exit codes"):

- 0  success
- 1  the work ran but did not succeed (a batch job with failed requests, a failed job)
- 2  usage or input error: a bad flag, value, setting, config file or argument
- 3  unavailable: a server that cannot be reached, a model that is not on this machine offline
- 4  not found: a file, batch or model name that does not exist
- 130  interrupted (Ctrl-C)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A problem the user can fix; printed as ``omnivec: MESSAGE`` without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def from_domain(exc: Exception) -> CliError:
    """A domain error (``omnivec.errors``) as the CLI reports it: its message, and the exit code
    its kind maps to."""
    from omnivec.errors import NotFound, OmnivecError, Unavailable

    message = exc.message if isinstance(exc, OmnivecError) else str(exc)
    if isinstance(exc, NotFound):
        return CliError(message, EXIT_NOT_FOUND)
    if isinstance(exc, Unavailable):
        return CliError(message, EXIT_UNAVAILABLE)
    return CliError(message, EXIT_USAGE)
