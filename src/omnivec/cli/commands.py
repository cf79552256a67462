"""``omnivec serve``, ``embed`` and ``bench``, and what every command shares: settings from
flags, the container, one meaning per flag name (``--model`` loads a model, ``--use`` names the
model a call goes to). Heavy imports happen inside the functions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from omnivec.cli import ray_flags
from omnivec.cli.errors import EXIT_UNAVAILABLE, CliError, from_domain
from omnivec.cli.output import add_file_flag, atomic_output, print_json
from omnivec.cli.ray_flags import ray_overrides

__all__ = ["CliError", "add_parsers", "build_container", "load_settings", "print_json", "version"]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    try:
        return pkg_version("omnivec")
    except PackageNotFoundError:
        return "0+unknown"


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1 (``--dim 0`` is an error, not silently ignored)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def example_help(*lines: str) -> dict[str, Any]:
    """``add_parser`` keywords for a help text that ends with examples, kept as written."""
    return {
        "epilog": "examples:\n" + "\n".join(f"  {line}" for line in lines),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """The flags of every command that loads models in this process."""
    p.add_argument("--config", help="TOML config file (also OMNIVEC_CONFIG).")
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="[ID=]SOURCE",
        help="Model to load (repeatable): 'default' (bundled all-MiniLM-L6-v2), a local directory, "
        "a hub id, or 'fake[:DIM]'. The first is the target of the default aliases.",
    )
    p.add_argument(
        "--alias",
        dest="aliases",
        action="append",
        metavar="NAME=MODEL",
        help="Extra model name (repeatable); adds to the gemini-embedding-* aliases, as the config does.",
    )
    p.add_argument(
        "--engine",
        dest="engines",
        action="append",
        metavar="[ID=]ENGINE",
        help="How a text model runs: auto (default: bf16 where the device computes it natively and a "
        "parity probe passes, else fp32), fp32, bf16, torch, onnx or onnx-int8 (the ONNX engines need the "
        "onnx extra). Without ID=, every model (repeatable).",
    )
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps.")
    p.add_argument("--offline", action="store_true", default=None, help="Never contact a model hub.")
    p.add_argument("--torch-threads", type=positive_int, help="Intra-op threads for torch.")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING, ERROR.")
    p.add_argument("--log-format", choices=("text", "json"), help="Log lines as text (default) or JSON.")


# The flags that map one-to-one onto a top-level setting.
_SETTING_FLAGS = (
    "models", "api_keys", "host", "port", "data_dir", "public_url", "device",
    "offline", "torch_threads", "log_level", "log_format", "allow_public_bind_without_keys",
    "vector_store",
)  # fmt: skip
_BATCHING_FLAGS = ("max_batch_tokens", "max_batch_items", "max_wait_ms", "max_queue_items")


def setting_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line sets, as ``Settings.load`` keywords."""
    overrides: dict[str, Any] = {}
    for name in _SETTING_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "aliases", None):
        overrides["aliases"] = _parse_aliases(args.aliases)
    if getattr(args, "engines", None):
        overrides["backend_engine"] = _parse_engines(args.engines)
    # Nested, so they merge with the file's and the environment's batching and are validated
    # with them (a negative token budget is refused before any model loads).
    batching = {k: getattr(args, k) for k in _BATCHING_FLAGS if getattr(args, k, None) is not None}
    if batching:
        overrides["batching"] = batching
    if getattr(args, "cache_mb", None) is not None:
        overrides["cache"] = {"memory_mb": args.cache_mb}
    if ray := ray_overrides(args):
        overrides["ray"] = ray
    return overrides


def load_settings(args: argparse.Namespace) -> Any:
    from omnivec.settings import Settings, SettingsError

    try:
        return Settings.load(getattr(args, "config", None), **setting_overrides(args))
    except SettingsError as exc:
        raise CliError(f"invalid settings: {exc}") from None


def _parse_aliases(items: list[str]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for item in items:
        name, sep, target = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"--alias takes NAME=MODEL, got {item!r}")
        aliases[name.strip()] = target.strip()
    return aliases


def _parse_engines(items: list[str]) -> dict[str, str]:
    from omnivec.settings import ALL_MODELS

    engines: dict[str, str] = {}
    for item in items:
        model, sep, engine = item.rpartition("=")
        engines[model.strip() if sep else ALL_MODELS] = engine.strip()
    return engines


def configure_logging(settings: Any) -> None:
    from omnivec import logging as omnivec_logging

    omnivec_logging.configure(settings.log_level, settings.log_format)


def build_container(settings: Any) -> Any:
    """Load the configured models (with download/loading bars only at a terminal)."""
    from omnivec.bootstrap import build
    from omnivec.cli.progress import interactive
    from omnivec.errors import ModelLoadError

    configure_logging(settings)
    try:
        return build(settings, show_progress=interactive(), owns_process=True)
    except ModelLoadError as exc:
        raise CliError(exc.message, EXIT_UNAVAILABLE) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


# --- serve ---------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    from omnivec.api.server import bind, check_bind
    from omnivec.api.server import serve as run_server
    from omnivec.errors import FailedPrecondition
    from omnivec.storage.local import check_writable

    settings = load_settings(args)
    try:
        check_bind(settings.host, bool(settings.api_keys), settings.allow_public_bind_without_keys)
        check_writable(settings.data_dir)
        # Bound before the models load: a taken port is reported at once, not after a minute.
        sock = bind(settings.host, settings.port)
    except FailedPrecondition as exc:
        raise CliError(exc.message) from None
    if settings.tune_allocator:
        from omnivec.runtime.memory import tune_allocator

        tune_allocator()  # before the model loads, so its threads take the capped arenas
    try:
        container = build_container(settings)
        run_server(container, sock)
    finally:
        sock.close()
    return 0


# --- embed ---------------------------------------------------------------------------------------
def read_texts(texts: list[str]) -> list[str]:
    """The TEXT arguments; ``-`` (or none) reads standard input, one text per line."""
    if texts and texts != ["-"]:
        return texts
    if sys.stdin.isatty():
        raise CliError(
            "no text to embed: pass TEXT arguments, or pipe lines in (e.g. `cat docs.txt | omnivec embed -`)"
        )
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    found = [line for line in lines if line.strip()]
    if not found:
        raise CliError("standard input had no text to embed")
    return found


def _task_type(value: str | None) -> str | None:
    from omnivec.types import TaskType

    if value is None:
        return None
    names = [t.value for t in TaskType if t.value != "TASK_TYPE_UNSPECIFIED"]
    if value.upper() not in {t.value for t in TaskType}:
        raise CliError(f"--task-type {value}: not a task type; use one of {', '.join(names)}")
    return value.upper()


def embed(args: argparse.Namespace) -> int:
    texts = read_texts(args.texts)
    task_type = _task_type(args.task_type)
    options: dict[str, Any] = {}
    if task_type:
        options["taskType"] = task_type
    if args.title:
        options["title"] = args.title
    if args.dim:
        options["outputDimensionality"] = args.dim
    if args.remote:
        from omnivec.cli.remote import RemoteClient

        requests = [{"content": {"parts": [{"text": t}]}, **options} for t in texts]
        body = RemoteClient(args.remote, args.api_key).post(
            f"models/{args.use_model}:batchEmbedContents", {"requests": requests}
        )
    else:
        body = _embed_in_process(args, texts, task_type)
    with atomic_output(args.output_file) as out:
        out.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")
    return 0


def _embed_in_process(args: argparse.Namespace, texts: list[str], task_type: str | None) -> Any:
    import asyncio

    import orjson

    from omnivec.errors import OmnivecError
    from omnivec.library import to_embed_input
    from omnivec.wire.embeddings import batch_embed_response_json

    settings = load_settings(args)
    container = build_container(settings)

    async def run() -> dict[str, Any]:
        await container.start(background_jobs=False)
        try:
            inputs = [
                to_embed_input(t, task_type=task_type, title=args.title, output_dimensionality=args.dim)
                for t in texts
            ]
            results = await container.embeddings.embed(args.use_model, inputs)
        finally:
            await container.stop()
        # The same JSON a server's batchEmbedContents answers (what --remote prints), as plain
        # lists so the standard json module writes it.
        return orjson.loads(
            orjson.dumps(batch_embed_response_json(results), option=orjson.OPT_SERIALIZE_NUMPY)
        )

    try:
        return asyncio.run(run())
    except OmnivecError as exc:
        raise from_domain(exc) from None


def bench(args: argparse.Namespace) -> int:
    from omnivec.benchmark.command import run

    return run(args)


def add_parsers(sub: Any) -> None:
    from omnivec.benchmark.options import add_arguments as add_bench_arguments

    serve_parser = sub.add_parser(
        "serve",
        help="Run the HTTP server.",
        description="Run the Gemini-compatible HTTP server. The port is claimed before models load.",
        **example_help(
            "omnivec serve",
            "omnivec serve --port 9000 --model intfloat/multilingual-e5-small",
            'omnivec serve --host 0.0.0.0 --api-key "$KEY" --log-format json',
        ),
    )
    add_model_flags(serve_parser)
    serve_parser.add_argument("--host", help="Address to bind (default 127.0.0.1).")
    serve_parser.add_argument("--port", type=int, help="Port (default 8080).")
    serve_parser.add_argument(
        "--api-key", dest="api_keys", action="append", help="Require this key (repeatable)."
    )
    serve_parser.add_argument("--data-dir", help="Where files, batch jobs and their results live.")
    serve_parser.add_argument("--public-url", help="Base URL clients reach the server at (for upload URLs).")
    serve_parser.add_argument(
        "--allow-public-bind-without-keys",
        action="store_true",
        default=None,
        help="Allow a non-loopback --host without --api-key.",
    )
    serve_parser.add_argument("--max-batch-tokens", type=int, help="Padded tokens per forward pass.")
    serve_parser.add_argument("--max-batch-items", type=int, help="Items per forward pass.")
    serve_parser.add_argument("--max-wait-ms", type=float, help="How long a lone item waits for company.")
    serve_parser.add_argument("--max-queue-items", type=int, help="Queued items before 429.")
    serve_parser.add_argument(
        "--vector-store",
        metavar="URL",
        help="Where File Search stores keep vectors: embedded Qdrant Edge (default) or qdrant+http://HOST:PORT.",
    )
    serve_parser.add_argument(
        "--cache-mb", type=float, help="Turn on the embedding cache with this much memory."
    )
    ray_flags.add_serve_flags(serve_parser)
    serve_parser.set_defaults(run=serve)

    embed_parser = sub.add_parser(
        "embed",
        help="Embed texts and print JSON.",
        description="Embed each TEXT (one vector each) and print one compact JSON document.",
        **example_help(
            'omnivec embed "Hello world" --task-type RETRIEVAL_QUERY --dim 128',
            "cat sentences.txt | omnivec embed - -o vectors.json",
            'omnivec embed "Hello" --remote http://127.0.0.1:8080',
        ),
    )
    add_model_flags(embed_parser)
    embed_parser.add_argument("texts", nargs="*", metavar="TEXT", help="Texts; '-' or none: stdin lines.")
    embed_parser.add_argument(
        "--use", dest="use_model", default="gemini-embedding-001", help="Model name to call."
    )
    embed_parser.add_argument("--task-type", help="RETRIEVAL_QUERY, RETRIEVAL_DOCUMENT, …")
    embed_parser.add_argument("--title", help="Document title (RETRIEVAL_DOCUMENT).")
    embed_parser.add_argument("--dim", type=positive_int, help="outputDimensionality (1 … model width).")
    embed_parser.add_argument(
        "--remote", metavar="URL", help="Call a running server instead of loading the model."
    )
    embed_parser.add_argument("--api-key", help="Key for --remote.")
    embed_parser.add_argument("--data-dir", help="The data directory (in-process: where engine caches live).")
    add_file_flag(embed_parser, "the JSON")
    embed_parser.set_defaults(run=embed)

    bench_parser = sub.add_parser(
        "bench",
        help="Benchmark omnivec against the model's forward pass and its peers (needs the bench extra).",
    )
    add_bench_arguments(bench_parser)
    bench_parser.set_defaults(run=bench)
