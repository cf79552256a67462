"""``omnivec bench`` / ``python -m bench``: run, print the table, write the files."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from omnivec.benchmark.options import BenchOptions, build_parser


def run(args: argparse.Namespace) -> int:
    from omnivec import logging as omnivec_logging
    from omnivec.benchmark.report import render_text, write_results
    from omnivec.benchmark.run import Bench

    omnivec_logging.configure("WARNING")
    options = BenchOptions.from_args(args)
    results = asyncio.run(Bench(options).run())
    written = write_results(results, options.out_dir)
    print()
    print(render_text(results), end="")
    print("written: " + ", ".join(str(p) for p in written))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))
