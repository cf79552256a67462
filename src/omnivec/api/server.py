"""Run the app under uvicorn (the only place uvicorn is imported).

Only ``omnivec serve`` and tests import this module, so uvicorn loads at the top.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import uvicorn

from omnivec.api.header_deadline import with_header_deadline
from omnivec.bootstrap import Container
from omnivec.errors import FailedPrecondition

# Time left after the drain deadline for handlers to send their 503s and for the batch that is
# on the device to finish, before uvicorn cancels what is still running.
_SHUTDOWN_MARGIN_S = 5.0


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


def build_server(container: Container) -> uvicorn.Server:
    """The configured uvicorn server for ``container`` (``serve`` runs it; tests run it in a thread)."""
    from omnivec.api.app import create_app

    settings = container.settings
    check_bind(settings.host, bool(settings.api_keys), settings.allow_public_bind_without_keys)
    config = uvicorn.Config(
        create_app(container),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s + _SHUTDOWN_MARGIN_S),
        server_header=False,
        http=with_header_deadline(settings.limits.header_timeout_s),
        # Between requests a connection may idle this long; its next headers have their deadline.
        timeout_keep_alive=int(min(settings.limits.header_timeout_s, 5)) or 1,
    )
    return DrainingServer(config, container)


def serve(container: Container) -> None:
    build_server(container).run()


def bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on (useful with port 0)."""
    for listener in server.servers:
        for sock in listener.sockets:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                return int(sock.getsockname()[1])
    raise RuntimeError("the server is not listening")


class DrainingServer(uvicorn.Server):
    """On shutdown (SIGTERM/SIGINT) uvicorn stops accepting connections and waits for the
    requests in flight. Those whose items are still queued when ``shutdown_grace_s`` runs out are
    answered 503 UNAVAILABLE instead of being cut off, so no client is left hanging."""

    def __init__(self, config: uvicorn.Config, container: Container) -> None:
        super().__init__(config)
        self.container = container

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(
            self.container.settings.shutdown_grace_s, self.container.runtime.refuse_queued
        )
        try:
            await super().shutdown(sockets)
        finally:
            deadline.cancel()
