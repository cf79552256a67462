"""Run the app under uvicorn (the only place uvicorn is imported).

Only ``omnivec serve`` and tests import this module, so uvicorn loads at the top.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket

import uvicorn

from omnivec.api.header_deadline import with_header_deadline
from omnivec.bootstrap import Container
from omnivec.errors import FailedPrecondition
from omnivec.logging import ANNOUNCE, FIELDS_ATTR, get_logger
from omnivec.types import ModelKind

announce = get_logger(ANNOUNCE)

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
        # Levels and handlers are omnivec.logging's (uvicorn's start-up lines give way to the
        # banner); one log format: uvicorn's loggers go through omnivec.logging's handler; requests are
        # logged by AccessLogMiddleware (with the request id, items and tokens).
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s + _SHUTDOWN_MARGIN_S),
        server_header=False,
        http=with_header_deadline(settings.limits.header_timeout_s),
        # Between requests a connection may idle this long; its next headers have their deadline.
        timeout_keep_alive=int(min(settings.limits.header_timeout_s, 5)) or 1,
    )
    return DrainingServer(config, container)


def serve(container: Container, sock: socket.socket | None = None) -> None:
    """Run until SIGTERM/SIGINT, on ``sock`` when given (bound by ``bind`` before the models
    loaded) or on the configured address."""
    build_server(container).run(sockets=[sock] if sock is not None else None)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket now, so a taken port is reported before any model loads."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise FailedPrecondition(
                f"Port {port} on {host} is already in use (another omnivec?); stop it or pick "
                "another port with --port."
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
            raise FailedPrecondition(f"Cannot listen on {host}: not an address of this machine.") from None
        if exc.errno == errno.EACCES:
            raise FailedPrecondition(
                f"Not allowed to listen on port {port} (ports below 1024 need privileges); use --port."
            ) from None
        raise FailedPrecondition(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None
    sock.set_inheritable(True)
    return sock


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

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log_banner(self.container, bound_port(self))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(
            self.container.settings.shutdown_grace_s, self.container.runtime.refuse_queued
        )
        try:
            await super().shutdown(sockets)
        finally:
            deadline.cancel()


def log_banner(container: Container, port: int) -> None:
    """The start-up banner, shown at every log level: where to reach the server and how it is set
    up (models, data directory, whether keys are required). Never the keys themselves."""
    settings = container.settings
    host = settings.host if ":" not in settings.host else f"[{settings.host.strip('[]')}]"
    url = f"http://{host}:{port}"
    catalogue = container.catalogue.list()
    models = [
        f"{m.name} ({'reranker' if m.kind is ModelKind.RERANK else f'{m.dimensions} dims'})"
        for m in catalogue
        if m.alias_of is None
    ]
    aliases = sorted({m.name for m in catalogue if m.alias_of is not None})
    auth = f"on ({len(settings.api_keys)} keys)" if settings.api_keys else "off (no API key needed)"
    lines = [
        f"omnivec listening on {url}  (API: {url}/v1beta, docs: {url}/docs)",
        f"  models: {', '.join(models)}" + (f"; aliases: {', '.join(aliases)}" if aliases else ""),
        f"  data dir: {settings.data_dir}",
        f"  auth: {auth}",
    ]
    fields = {
        "url": url,
        "models": [m.name for m in catalogue if m.alias_of is None],
        "aliases": aliases,
        "data_dir": str(settings.data_dir),
        "auth": bool(settings.api_keys),
    }
    announce.info("\n".join(lines), extra={FIELDS_ATTR: fields})
