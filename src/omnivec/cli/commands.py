"""What each subcommand does. Heavy imports happen inside the functions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    try:
        return pkg_version("omnivec")
    except PackageNotFoundError:
        return "0+unknown"


def load_settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from omnivec.cli.ray_flags import ray_overrides
    from omnivec.settings import Settings

    overrides: dict[str, Any] = {}
    for name in (
        "models", "api_keys", "host", "port", "data_dir", "public_url", "device",
        "offline", "torch_threads", "log_level", "allow_public_bind_without_keys",
    ):  # fmt: skip
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "aliases", None):
        overrides["aliases"] = _parse_aliases(args.aliases)
    if getattr(args, "engines", None):
        overrides["backend_engine"] = _parse_engines(args.engines)
    batching = {
        k: getattr(args, k)
        for k in ("max_batch_tokens", "max_batch_items", "max_wait_ms", "max_queue_items")
        if getattr(args, k, None) is not None
    }
    try:
        settings = Settings.load(getattr(args, "config", None), **overrides)
        if batching:
            settings = settings.model_copy(update={"batching": settings.batching.model_copy(update=batching)})
        if ray := ray_overrides(args):
            settings = settings.model_copy(
                update={"ray": type(settings.ray).model_validate({**settings.ray.model_dump(), **ray})}
            )
        return settings
    except ValidationError as exc:
        raise CliError(f"invalid settings: {exc}") from None


def _parse_aliases(items: list[str]) -> dict[str, str]:
    from omnivec.settings import DEFAULT_ALIASES

    aliases = dict.fromkeys(DEFAULT_ALIASES, "")
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


def _build_container(settings: Any) -> Any:
    from omnivec import logging as omnivec_logging
    from omnivec.bootstrap import build
    from omnivec.errors import ModelLoadError

    omnivec_logging.configure(settings.log_level)
    try:
        return build(settings)
    except ModelLoadError as exc:
        raise CliError(exc.message) from None
    except ValueError as exc:
        raise CliError(str(exc)) from None


def serve(args: argparse.Namespace) -> int:
    from omnivec.api.server import check_bind
    from omnivec.api.server import serve as run_server
    from omnivec.errors import FailedPrecondition
    from omnivec.storage.local import check_writable

    settings = load_settings(args)
    try:
        check_bind(settings.host, bool(settings.api_keys), settings.allow_public_bind_without_keys)
        check_writable(settings.data_dir)
    except FailedPrecondition as exc:
        raise CliError(exc.message) from None
    container = _build_container(settings)
    run_server(container)
    return 0


def embed(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    if args.task_type:
        options["taskType"] = args.task_type.upper()
    if args.title:
        options["title"] = args.title
    if args.dim:
        options["outputDimensionality"] = args.dim
    if args.remote:
        from omnivec.cli.remote import RemoteClient

        requests = [{"content": {"parts": [{"text": t}]}, **options} for t in args.texts]
        body = RemoteClient(args.remote, args.api_key).post(
            f"models/{args.use_model}:batchEmbedContents", {"requests": requests}
        )
        _print(body)
        return 0
    import asyncio

    from omnivec.errors import OmnivecError
    from omnivec.library import AsyncEmbedder, to_embed_input

    settings = load_settings(args)

    async def run() -> dict[str, Any]:
        embedder = AsyncEmbedder(settings=settings)
        async with embedder:
            inputs = [
                to_embed_input(
                    t,
                    task_type=options.get("taskType"),
                    title=options.get("title"),
                    output_dimensionality=options.get("outputDimensionality"),
                )
                for t in args.texts
            ]
            results = await embedder.container.embeddings.embed(args.use_model, inputs)
        return {
            "embeddings": [{"values": [float(x) for x in r.values]} for r in results],
            "usageMetadata": {"promptTokenCount": sum(r.token_count for r in results)},
        }

    try:
        _print(asyncio.run(run()))
    except OmnivecError as exc:
        raise CliError(exc.message) from None
    return 0


def models(args: argparse.Namespace) -> int:
    if args.remote:
        from omnivec.cli.remote import RemoteClient

        _print(RemoteClient(args.remote, args.api_key).get("models"))
        return 0
    settings = load_settings(args)
    container = _build_container(settings)
    rows = []
    for m in container.catalogue.list():
        rows.append(
            {
                "name": f"models/{m.name}",
                "aliasOf": f"models/{m.alias_of}" if m.alias_of else None,
                "dimensions": m.dimensions,
                "inputTokenLimit": m.input_token_limit,
                "modalities": sorted(x.value for x in m.modalities),
                "promptStyle": m.prompt_style,
            }
        )
    _print({"models": rows})
    return 0


def bench(args: argparse.Namespace) -> int:
    from omnivec.benchmark.command import run

    return run(args)


def _print(body: Any) -> None:
    json.dump(body, sys.stdout, indent=2)
    sys.stdout.write("\n")
