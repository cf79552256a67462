"""Pure-ASGI middleware: request ids, API-version prefixes, body size and time, concurrency.

Pure ASGI (not BaseHTTPMiddleware) so request bodies stream through untouched and the hot path
pays no extra task per request.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivec.api.errors import unexpected_error_response
from omnivec.api.responses import error_response
from omnivec.errors import InvalidArgument, OmnivecError, ResourceExhausted
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
    (``api_version=""`` in the SDK). The version is kept for messages; /upload stays a prefix.
    ``keep_path`` says which requests route on their path as sent (other API dialects)."""

    def __init__(self, app: ASGIApp, keep_path: Callable[[Scope], bool] | None = None) -> None:
        self.app = app
        self.keep_path = keep_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not (self.keep_path and self.keep_path(scope)):
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
    decoded for requests draw on too.

    A declared Content-Length is judged before a byte of the body is read; a chunked body is
    counted as it arrives and refused as soon as it passes a limit.

    Upload routes stream to disk and enforce their own size limits, but have a deadline too:
    ``timeout_s`` plus one second per ``min_upload_rate`` bytes, so a body sent a byte at a time
    cannot hold a slot for long. And one client address may be sending at most
    ``slots_per_client`` bodies at once, so slow senders from one place cannot take every slot.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float,
        budget: MemoryBudget,
        min_upload_rate: int = 64 * 1024,
        slots_per_client: int = 64,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.budget = budget
        self.min_upload_rate = min_upload_rate
        self.slots_per_client = slots_per_client
        self.sending: dict[str, int] = {}  # client address -> bodies being received (event-loop state)

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

    def _too_many_from(self) -> ResourceExhausted:
        return ResourceExhausted(
            f"This client is already sending {self.slots_per_client} request bodies; "
            "retry after a short wait.",
            retry_after_s=1.0,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].startswith("/upload/")
        declared = _content_length(scope)
        has_body = declared != 0 and (declared is not None or _chunked(scope))
        address = str((scope.get("client") or ("-",))[0])
        refusal: OmnivecError | None = None
        if has_body and self.sending.get(address, 0) >= self.slots_per_client:
            refusal = self._too_many_from()
        elif not upload and declared is not None and declared > self.max_bytes:
            refusal = self._too_big()
        elif not upload and declared is not None and not self.budget.try_take(declared):
            refusal = self._over_budget()
        if refusal is not None:
            await error_response(refusal, headers={"Connection": "close"})(scope, receive, send)
            return
        reserved = 0 if upload else (declared or 0)
        seen = 0
        body_done = not has_body
        if has_body:
            self.sending[address] = self.sending.get(address, 0) + 1
        started = asyncio.get_running_loop().time()

        def deadline() -> float:
            allowed = self.timeout_s
            if upload:  # large bodies by design: time in proportion to their size
                allowed += max(declared or 0, seen) / self.min_upload_rate
            return started + allowed

        def body_finished() -> None:
            nonlocal body_done
            if not body_done:
                body_done = True
                self._release_slot(address)

        async def limited_receive() -> Message:
            nonlocal seen, reserved
            if body_done:  # after the body only a disconnect can come: no deadline on waiting for it
                return await receive()
            remaining = deadline() - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), max(remaining, 0.0))
            except TimeoutError:
                body_finished()
                raise self._too_slow() from None
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                seen += size
                if not upload:
                    if seen > self.max_bytes:
                        raise self._too_big()
                    if declared is None:  # chunked: reserve as it arrives
                        if not self.budget.try_take(size):
                            raise self._over_budget()
                        reserved += size
                if not message.get("more_body", False):
                    body_finished()
            else:
                body_finished()
            return message

        try:
            await self.app(scope, limited_receive, send)
        finally:
            body_finished()
            self.budget.give(reserved)

    def _release_slot(self, address: str) -> None:
        left = self.sending.get(address, 0) - 1
        if left > 0:
            self.sending[address] = left
        else:
            self.sending.pop(address, None)


def _chunked(scope: Scope) -> bool:
    return b"chunked" in dict(scope["headers"]).get(b"transfer-encoding", b"").lower()


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
