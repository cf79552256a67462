"""``omnivec config``: the effective settings and where each value came from (flag, environment
variable, config file or default), before anything loads."""

from __future__ import annotations

import argparse
from typing import Any

from omnivec.cli.commands import CliError, add_model_flags, example_help, setting_overrides
from omnivec.cli.output import add_format_flag, emit


def _config(args: argparse.Namespace) -> int:
    from omnivec.settings import SettingsError, explain

    try:
        rows = explain(getattr(args, "config", None), **setting_overrides(args))
    except SettingsError as exc:
        raise CliError(f"invalid settings: {exc}") from None
    table = [{"setting": key, "value": value, "source": source} for key, value, source in rows]
    body = {"settings": {key: value for key, value, _ in rows}, "sources": {key: s for key, _, s in rows}}
    emit(args, body, table, ["setting", "value", "source"])
    return 0


def add_parsers(sub: Any) -> None:
    config = sub.add_parser(
        "config",
        help="Show the effective settings and where each came from.",
        **example_help(
            "omnivec config",
            "omnivec config --config omnivec.toml --port 9000 --output json",
        ),
    )
    add_model_flags(config)
    config.add_argument("--host")
    config.add_argument("--port", type=int)
    config.add_argument("--data-dir")
    add_format_flag(config, default="table")
    config.set_defaults(run=_config)
