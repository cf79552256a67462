"""How ``omnivec files`` and ``omnivec batch`` reach their data: in-process on the data
directory (no model loaded unless a job must run), or a running server with ``--remote``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from omnivec.cli.commands import CliError, load_settings
from omnivec.cli.errors import from_domain

T = TypeVar("T")

API_KEY_HELP = "With --remote, the key to send; in-process, whose files and batches to act on."


def add_access_flags(
    p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], Any], *, config_flag: bool = True
) -> None:
    p.add_argument("--remote", metavar="URL", help="Talk to a running server instead of the data directory.")
    p.add_argument("--api-key", help=API_KEY_HELP)
    p.add_argument("--data-dir", help="The data directory (in-process use).")
    if config_flag:
        p.add_argument("--config", help="TOML config file (also OMNIVEC_CONFIG).")
    p.set_defaults(run=run)


def run_service(coro: Coroutine[Any, Any, T]) -> T:
    from omnivec.errors import OmnivecError

    try:
        return asyncio.run(coro)
    except OmnivecError as exc:
        raise from_domain(exc) from None


def management_container(args: argparse.Namespace) -> Any:
    """Files and batches of the data directory, without loading any model."""
    from omnivec.bootstrap import build

    return build(load_settings(args), backends=[])


def owner(args: argparse.Namespace) -> str:
    """In-process, the tenant a server with this API key would use ("" for none)."""
    if not args.api_key:
        return ""
    from omnivec.api.auth import KeyRing

    return KeyRing([args.api_key]).owner_of(args.api_key) or ""


def local_base_url(settings: Any) -> str:
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def remote(args: argparse.Namespace) -> Any:
    from omnivec.cli.remote import RemoteClient

    return RemoteClient(args.remote, args.api_key)


def existing_file(path: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise CliError(f"{found} is not a file")
    return found


def resource_name(collection: str, name: str) -> str:
    """``ID`` or ``collection/ID`` -> ``collection/ID``."""
    return name if name.startswith(f"{collection}/") else f"{collection}/{name}"


async def read_file(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, 1 << 20):
            yield chunk
