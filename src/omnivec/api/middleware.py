"""Pure-ASGI middleware: request ids, API-version prefixes, body size and time, concurrency.

Pure ASGI (not BaseHTTPMiddleware) so request bodies stream through untouched and the hot path
pays no extra task per request.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivec.api.errors import unexpected_error_response
from omnivec.api.responses import error_response
from omnivec.errors import InvalidArgument, ResourceExhausted
from omnivec.logging import request_id_var
from omnivec.services.memory_budget import MemoryBudget

# /v1, /v1beta, /v1alpha, /v1beta2 … optionally behind /upload or /resumable/upload.
_VERSIONED = re.compile(
    r"^/(?P<upload>(?:resumable/)?upload/)?(?P<version>v\d+(?:(?:alpha|beta)\d*)?)(?=/|$)"
)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and metrics: no key, never refused for load, no request data in their answers.
PROBE_PATHS = ("/healthz", "/readyz", "/metrics")


def state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex[:16]
        state(scope)["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class UnexpectedErrorMiddleware:
    """Just inside RequestIdMiddleware: an exception no handler took becomes Google's INTERNAL
    carrying the request id (body, ``x-request-id`` header, log line). Left to the framework, it
    would be answered outside every middleware, after the request id is gone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for an error body; the server closes the connection
                raise
            response = unexpected_error_response(exc, str(state(scope).get("request_id", "-")))
            await response(scope, receive, send)


class ApiVersionMiddleware:
    """Serve every route under /v1, /v1beta, any /v1…, and with no version segment at all
    (``api_version=""`` in the SDK). The version is kept for messages; /upload stays a prefix."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            m = _VERSIONED.match(path)
            if m:
                rest = path[m.end() :] or "/"
                prefix = "/upload" if m["upload"] else ""
                scope = dict(scope)
                scope["path"] = prefix + rest
                scope["raw_path"] = scope["path"].encode()
                state(scope)["api_version"] = m["version"]
            elif path.startswith("/resumable/upload/"):
                scope = dict(scope)
                scope["path"] = path[len("/resumable") :]
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse bodies over the limit before reading them into memory (Google answers 400, not
    413), bodies that arrive too slowly, and bodies beyond the budget of bytes held for all
    requests together (429): the server's one memory budget, which stored files read and media
    decoded for requests draw on too. Upload routes stream to disk and enforce their own limits.

    A declared Content-Length is judged before a byte of the body is read; a chunked body is
    counted as it arrives and refused as soon as it passes a limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float, budget: MemoryBudget) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.budget = budget

    def _too_big(self) -> InvalidArgument:
        return InvalidArgument(f"Request payload size exceeds the limit: {self.max_bytes} bytes.")

    def _too_slow(self) -> InvalidArgument:
        return InvalidArgument(
            f"The request body was not received within {self.timeout_s:g} s; "
            "send it faster or in smaller requests."
        )

    def _over_budget(self) -> ResourceExhausted:
        return ResourceExhausted(
            "Too much request data is arriving at once; retry after a short wait.", retry_after_s=1.0
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/upload/"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await error_response(self._too_big(), headers={"Connection": "close"})(scope, receive, send)
            return
        if declared is not None and not self.budget.try_take(declared):
            await error_response(self._over_budget(), headers={"Connection": "close"})(scope, receive, send)
            return
        reserved = declared or 0
        seen = 0
        body_done = False
        deadline = asyncio.get_running_loop().time() + self.timeout_s

        async def limited_receive() -> Message:
            nonlocal seen, body_done, reserved
            if body_done:  # after the body only a disconnect can come: no deadline on waiting for it
                return await receive()
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except TimeoutError:
                raise self._too_slow() from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                seen += size
                if seen > self.max_bytes:
                    raise self._too_big()
                if declared is None:  # chunked: reserve as it arrives
                    if not self.budget.try_take(size):
                        raise self._over_budget()
                    reserved += size
                body_done = not message.get("more_body", False)
            return message

        try:
            await self.app(scope, limited_receive, send)
        finally:
            self.budget.give(reserved)


def _content_length(scope: Scope) -> int | None:
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is None:
        return None
    try:
        return max(0, int(declared))
    except ValueError:  # the HTTP server refuses these before the app sees them
        return None


class ConcurrencyLimitMiddleware:
    """At most ``limit`` requests in progress; the next gets 429 RESOURCE_EXHAUSTED before its
    body is read, so memory for bodies in flight stays bounded. Health and metrics routes are
    never refused: a probe must see an overloaded server as alive."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            error = ResourceExhausted(
                "Too many requests in progress; retry after a short wait.", retry_after_s=1.0
            )
            await error_response(error, headers={"Connection": "close"})(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
