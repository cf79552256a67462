"""``omnivec completion bash|zsh|tcsh``: a shell completion script generated from the parser."""

from __future__ import annotations

import argparse
from typing import Any

from omnivec.cli.commands import example_help

SHELLS = ("bash", "zsh", "tcsh")


def _completion(args: argparse.Namespace) -> int:
    import shtab

    # The whole command line's parser, handed down by main (importing main here would be a cycle).
    print(shtab.complete(args.root_parser, shell=args.shell))
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "completion",
        help="Print a shell completion script.",
        **example_help(
            'eval "$(omnivec completion bash)"          # this shell',
            "omnivec completion zsh > ~/.zfunc/_omnivec  # zsh, with ~/.zfunc in fpath",
        ),
    )
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(run=_completion)
