"""One access-log line per HTTP request: request id, method, path, status, latency, and for
embedding calls the inputs and tokens. Never the query string, headers, keys or content."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivec.api.middleware import state
from omnivec.logging import FIELDS_ATTR, get_logger

log = get_logger("omnivec.access")
# Where a route notes what it embedded, for the access line: (inputs, tokens).
USAGE_KEY = "usage"


class AccessLogMiddleware:
    """Just inside RequestIdMiddleware, so the line carries the request id and the status the
    client got (also an INTERNAL made from an unexpected exception)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # The path as the client sent it (before version prefixes are stripped or routing rewrites
        # the scope); no query string: ``?key=`` would carry an API key.
        path = scope.get("root_path", "") + scope["path"]
        method = scope["method"]
        status = 500  # what the client sees if the app fails before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            fields = {
                "method": method,
                "path": path,
                "status": status,
                "latency_ms": round(latency_ms, 1),
            }
            usage = state(scope).get(USAGE_KEY)
            message = f"{method} {path} {status} {latency_ms:.1f}ms"
            if usage is not None:
                items, tokens = usage
                fields |= {"items": items, "tokens": tokens}
                message += f" items={items} tokens={tokens}"
            log.info(message, extra={FIELDS_ATTR: fields})
