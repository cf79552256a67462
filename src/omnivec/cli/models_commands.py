"""``omnivec models`` (what a server would serve, or what is cached), ``omnivec pull MODEL`` and
``omnivec rm MODEL``: the local Hugging Face model cache, as Ollama users know it."""

from __future__ import annotations

import argparse
from typing import Any

from omnivec.cli.commands import CliError, example_help, load_settings
from omnivec.cli.errors import EXIT_NOT_FOUND, EXIT_UNAVAILABLE
from omnivec.cli.output import add_format_flag, emit


def _models(args: argparse.Namespace) -> int:
    if args.local:
        return _cached(args)
    if args.remote:
        from omnivec.cli.remote import RemoteClient

        body = RemoteClient(args.remote, args.api_key).get("models")
        remote_rows = [
            {
                "name": m["name"],
                "aliasOf": (m.get("omnivec") or {}).get("aliasOf"),
                "dimensions": (m.get("omnivec") or {}).get("dimensions"),
                "modalities": (m.get("omnivec") or {}).get("modalities"),
            }
            for m in body.get("models", [])
        ]
        emit(args, body, remote_rows, ["name", "aliasOf", "dimensions", "modalities"])
        return 0
    # From the settings alone: nothing is loaded to list names.
    from omnivec.settings import split_model_spec

    settings = load_settings(args)
    served = [split_model_spec(spec) for spec in settings.models]
    by_lower = {model_id.lower(): model_id for model_id, _ in served}
    rows: list[dict[str, Any]] = [
        {"name": f"models/{model_id}", "aliasOf": None, "source": source} for model_id, source in served
    ]
    for alias, target in settings.aliases.items():
        if alias.lower() in by_lower:
            continue  # a served model of that name wins over an alias
        resolved = (
            by_lower.get(target.removeprefix("models/").lower(), served[0][0]) if target else served[0][0]
        )
        rows.append({"name": f"models/{alias}", "aliasOf": f"models/{resolved}", "source": None})
    emit(args, {"models": rows}, rows, ["name", "aliasOf", "source"])
    return 0


def _cached(args: argparse.Namespace) -> int:
    from omnivec.runtime.backends import hub

    models = hub.cached_models()
    rows = [
        {
            "model": m.repo_id,
            "size": _size(m.size_bytes),
            "sizeBytes": m.size_bytes,
            "revisions": m.revisions,
            "modified": m.last_modified.strftime("%Y-%m-%d %H:%M"),
            "path": str(m.path),
        }
        for m in models
    ]
    emit(args, {"cacheDir": str(hub.cache_dir()), "models": rows}, rows, ["model", "size", "modified"])
    return 0


def _pull(args: argparse.Namespace) -> int:
    from omnivec.cli.progress import interactive
    from omnivec.errors import ModelLoadError
    from omnivec.runtime.backends import hub
    from omnivec.settings import hub_offline_env

    if hub_offline_env():
        raise CliError(
            f"HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it to pull {args.model}.",
            EXIT_UNAVAILABLE,
        )
    try:
        path = hub.pull(args.model, show_progress=interactive())
    except ModelLoadError as exc:
        raise CliError(exc.message, EXIT_UNAVAILABLE) from None
    print(f"pulled {args.model} into {path}; serve it with: omnivec serve --model {args.model}")
    return 0


def _rm(args: argparse.Namespace) -> int:
    from omnivec.errors import NotFound
    from omnivec.runtime.backends import hub

    try:
        freed = hub.remove(args.model)
    except NotFound as exc:
        raise CliError(exc.message, EXIT_NOT_FOUND) from None
    print(f"removed {args.model} ({_size(freed)} freed)")
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover


def add_parsers(sub: Any) -> None:
    from omnivec.cli.commands import add_model_flags

    models = sub.add_parser(
        "models",
        help="List the models (and aliases) a server would serve, or with --local the cached ones.",
        **example_help(
            "omnivec models --output table",
            "omnivec models --local",
            "omnivec models --remote http://127.0.0.1:8080",
        ),
    )
    add_model_flags(models)
    models.add_argument("--local", action="store_true", help="List the models in the local hub cache.")
    models.add_argument("--remote", metavar="URL", help="Ask a running server.")
    models.add_argument("--api-key", help="Key for --remote.")
    add_format_flag(models)
    models.set_defaults(run=_models)

    pull = sub.add_parser(
        "pull",
        help="Download a hub model into the local cache (with a progress bar).",
        **example_help(
            "omnivec pull intfloat/multilingual-e5-small",
            "omnivec serve --model intfloat/multilingual-e5-small --offline",
        ),
    )
    pull.add_argument("model", metavar="MODEL", help="Hub id, e.g. intfloat/multilingual-e5-small.")
    pull.set_defaults(run=_pull)

    rm = sub.add_parser(
        "rm",
        help="Remove a model from the local cache.",
        **example_help("omnivec rm intfloat/multilingual-e5-small"),
    )
    rm.add_argument("model", metavar="MODEL", help="Hub id, as omnivec models --local lists it.")
    rm.set_defaults(run=_rm)
