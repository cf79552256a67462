"""Run the app under uvicorn (the only place uvicorn is imported)."""

from __future__ import annotations

import ipaddress

from omnivec.bootstrap import Container
from omnivec.errors import FailedPrecondition


def check_bind(host: str, has_keys: bool, allow_without_keys: bool) -> None:
    """Refuse to listen beyond loopback without API keys unless explicitly allowed."""
    if has_keys or allow_without_keys or is_loopback(host):
        return
    raise FailedPrecondition(
        f"Refusing to listen on {host} without API keys: anyone who can reach it could use it. "
        "Pass --api-key KEY, or --allow-public-bind-without-keys if that is really intended."
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(container: Container) -> None:
    import uvicorn

    from omnivec.api.app import create_app

    settings = container.settings
    check_bind(settings.host, bool(settings.api_keys), settings.allow_public_bind_without_keys)
    app = create_app(container)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=30,
        server_header=False,
    )
    uvicorn.Server(config).run()
