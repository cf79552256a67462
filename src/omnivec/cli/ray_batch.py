"""``omnivec batch run INPUT... --ray ADDRESS --model NAME -o OUT``: embed inputs too big for
the Batch API as a Ray Data pipeline on a cluster (the distributed extra)."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import Any

from omnivec.cli.commands import CliError
from omnivec.cli.errors import EXIT_UNAVAILABLE


def add_run_parser(batch_sub: Any) -> None:
    p = batch_sub.add_parser(
        "run",
        help="Embed JSONL (Batch API format), Parquet or folders of files on a Ray cluster (Ray Data).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="JSONL files, Parquet files, or folders.")
    p.add_argument("-o", "--output", required=True, help="Output: .jsonl (Batch API lines) or .parquet.")
    p.add_argument("--ray", dest="ray_address", required=True, metavar="auto|HOST:PORT", help="The cluster.")
    p.add_argument(
        "--model",
        dest="model_name",
        required=True,
        metavar="NAME",
        help="The model to embed with: [ID=]SOURCE as 'serve --model' takes it, or an alias "
        "(gemini-embedding-001…) of the configured model.",
    )
    p.add_argument("--column", default="text", help="Parquet: the text column (default 'text').")
    p.add_argument("--key-column", help="Parquet: a column of keys (default: the row number).")
    p.add_argument("--actors", type=int, default=2, help="Most model actors at once (default 2).")
    p.add_argument("--actor-cpus", type=float, default=0.5, help="CPUs per model actor (default 0.5).")
    p.add_argument("--actor-gpus", type=float, default=0.0, help="GPUs per model actor (default 0).")
    p.add_argument("--batch-rows", type=int, default=256, help="Rows per actor call (default 256).")
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps.")
    p.add_argument("--offline", action="store_true", default=None, help="Never contact a model hub.")
    p.add_argument("--config", help="TOML config file (also OMNIVEC_CONFIG).")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR.")
    p.add_argument("--quiet", action="store_true", help="No progress line.")
    p.set_defaults(run=run)


def _line_reader(catalogue: Any, model: str) -> Any:
    from omnivec.api.schemas.batches import RequestReader

    return RequestReader(catalogue, model).jsonl_line


def run(args: argparse.Namespace) -> int:
    from omnivec.cli.commands import load_settings
    from omnivec.errors import ModelLoadError
    from omnivec.runtime.ray.cluster import connect, import_ray
    from omnivec.settings import split_model_spec

    paths = [Path(p) for p in args.inputs]
    for path in paths:
        if not path.exists():
            raise CliError(f"{path} does not exist")
    out = Path(args.output)
    if out.suffix.lower() not in {".jsonl", ".parquet", ".pq"}:
        raise CliError("-o must end in .jsonl or .parquet")
    settings = load_settings(args)
    if args.model_name in settings.aliases:
        model_id = args.model_name  # the actors resolve it to the configured model
    else:
        settings = settings.model_copy(update={"models": [args.model_name]})
        model_id, _ = split_model_spec(args.model_name)
    try:
        import_ray()
        connect(args.ray_address)
        from omnivec.bootstrap import embedding_service
        from omnivec.jobs import ray_data

        kind = ray_data.input_kind(paths)
        options = ray_data.PipelineOptions(
            model=model_id,
            batch_rows=args.batch_rows,
            actors_max=max(1, args.actors),
            actor_cpus=args.actor_cpus,
            actor_gpus=args.actor_gpus,
            prepare_actors_max=max(1, args.actors),
            text_column=args.column,
            key_column=args.key_column,
        )
        started = time.monotonic()
        progress = None if args.quiet else _progress(started)
        stats = ray_data.run(
            paths,
            out,
            functools.partial(embedding_service, settings),
            _line_reader,
            options,
            progress,
        )
    except ModelLoadError as exc:  # Ray, its cluster or the model is not there
        raise CliError(exc.message, EXIT_UNAVAILABLE) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None
    elapsed = time.monotonic() - started
    print(
        f"{stats.requests} {kind} requests -> {out}: {stats.succeeded} embedded, {stats.failed} failed "
        f"in {elapsed:.1f}s ({stats.requests / max(elapsed, 1e-9):.0f}/s)",
        file=sys.stderr,
    )
    return 0


def _progress(started: float) -> Any:
    last = [0.0]

    def show(stats: Any) -> None:
        now = time.monotonic()
        if now - last[0] >= 2.0:
            last[0] = now
            print(f"  {stats.requests} done ({stats.failed} failed), {now - started:.0f}s", file=sys.stderr)

    return show
