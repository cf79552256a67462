"""``omnivec`` entry point. argparse only at import time, so ``--help`` is instant; each command
imports what it needs when it runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from omnivec.benchmark.options import add_arguments as add_bench_arguments
from omnivec.cli import batch_commands, commands, files_commands, ray_flags


def _common_model_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config file (also OMNIVEC_CONFIG).")
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="[ID=]SOURCE",
        help="Model to serve (repeatable): 'default' (bundled all-MiniLM-L6-v2), a local directory, "
        "a hub id, or 'fake[:DIM]'. The first is the target of the default aliases.",
    )
    p.add_argument(
        "--alias",
        dest="aliases",
        action="append",
        metavar="NAME=MODEL",
        help="Extra model name (repeatable).",
    )
    p.add_argument(
        "--engine",
        dest="engines",
        action="append",
        metavar="[ID=]ENGINE",
        help="How a text model runs: torch (default), onnx (ONNX Runtime fp32) or onnx-int8 (int8 weights, "
        "faster on CPU). Without ID=, every model (repeatable). Needs the onnx extra.",
    )
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps.")
    p.add_argument("--offline", action="store_true", default=None, help="Never contact a model hub.")
    p.add_argument("--torch-threads", type=int, help="Intra-op threads for torch.")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omnivec", description="Self-hosted embeddings behind Google's Gemini embedding API."
    )
    parser.add_argument("--version", action="version", version=f"omnivec {commands.version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="Run the HTTP server.")
    _common_model_flags(serve)
    serve.add_argument("--host", help="Address to bind (default 127.0.0.1).")
    serve.add_argument("--port", type=int, help="Port (default 8080).")
    serve.add_argument("--api-key", dest="api_keys", action="append", help="Require this key (repeatable).")
    serve.add_argument("--data-dir", help="Where files, batch jobs and their results live.")
    serve.add_argument("--public-url", help="Base URL clients reach the server at (for upload URLs).")
    serve.add_argument(
        "--allow-public-bind-without-keys",
        action="store_true",
        default=None,
        help="Allow a non-loopback --host without --api-key.",
    )
    serve.add_argument("--max-batch-tokens", type=int, help="Padded tokens per forward pass.")
    serve.add_argument("--max-batch-items", type=int, help="Items per forward pass.")
    serve.add_argument("--max-wait-ms", type=float, help="How long a lone item waits for company.")
    serve.add_argument("--max-queue-items", type=int, help="Queued items before 429.")
    ray_flags.add_serve_flags(serve)
    serve.set_defaults(run=commands.serve)

    embed = sub.add_parser("embed", help="Embed texts and print JSON.")
    _common_model_flags(embed)
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--use", dest="use_model", default="gemini-embedding-001", help="Model name to call.")
    embed.add_argument("--task-type", help="RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT, …")
    embed.add_argument("--title", help="Document title (RETRIEVAL_DOCUMENT).")
    embed.add_argument("--dim", type=int, help="outputDimensionality.")
    embed.add_argument("--remote", metavar="URL", help="Call a running server instead of loading the model.")
    embed.add_argument("--api-key", help="Key for --remote.")
    embed.set_defaults(run=commands.embed)

    models = sub.add_parser("models", help="List the models (and aliases) a server would serve.")
    _common_model_flags(models)
    models.add_argument("--remote", metavar="URL", help="Ask a running server.")
    models.add_argument("--api-key", help="Key for --remote.")
    models.set_defaults(run=commands.models)

    files_commands.add_parsers(sub)
    batch_commands.add_parsers(sub)

    bench = sub.add_parser(
        "bench",
        help="Benchmark omnivec against the model's forward pass and its peers (needs the bench extra).",
    )
    add_bench_arguments(bench)
    bench.set_defaults(run=commands.bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except commands.CliError as exc:
        print(f"omnivec: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
