"""``omnivec`` entry point. argparse only at import time, so ``--help`` is instant; each command
imports what it needs when it runs.

Each command module registers its own subcommands (``add_parsers(sub)``); a new command is one
module and one line in ``COMMAND_MODULES``. User errors end as one line on stderr with the exit
code of ``cli/errors.py``, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from omnivec.cli import (
    batch_commands,
    commands,
    completion_command,
    config_command,
    files_commands,
    models_commands,
    store_commands,
)
from omnivec.cli.errors import EXIT_INTERRUPTED, CliError

COMMAND_MODULES: tuple[Any, ...] = (
    commands,
    models_commands,
    config_command,
    files_commands,
    batch_commands,
    store_commands,
    completion_command,
)
# 128 + SIGPIPE, what a shell reports for a command whose reader went away (``| head -1``).
_EXIT_BROKEN_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnivec",
        description="Self-hosted embeddings behind Google's Gemini embedding API.",
        epilog='examples:\n  omnivec serve\n  omnivec embed "Hello world"\n  omnivec models --output table\n'
        "  omnivec <command> --help\n\nexit codes: 0 ok, 1 failed work (e.g. failed batch items), "
        "2 usage or input error,\n  3 unavailable (server, hub, model), 4 not found, 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"omnivec {commands.version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(sub)
    parser.set_defaults(root_parser=parser)  # for `omnivec completion`
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except CliError as exc:
        print(f"omnivec: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader stopped reading (``omnivec models | head -1``): not an error worth a
        # traceback. Point stdout at /dev/null so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _EXIT_BROKEN_PIPE


if __name__ == "__main__":
    raise SystemExit(main())
