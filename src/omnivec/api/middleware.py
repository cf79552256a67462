"""Pure-ASGI middleware: request ids, API-version prefixes, body-size limit.

Pure ASGI (not BaseHTTPMiddleware) so request bodies stream through untouched and the hot path
pays no extra task per request.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnivec.api.responses import error_response
from omnivec.errors import InvalidArgument
from omnivec.logging import request_id_var

# /v1, /v1beta, /v1alpha, /v1beta2 … optionally behind /upload or /resumable/upload.
_VERSIONED = re.compile(
    r"^/(?P<upload>(?:resumable/)?upload/)?(?P<version>v\d+(?:(?:alpha|beta)\d*)?)(?=/|$)"
)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
    413). Upload routes stream to disk and enforce their own limits."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _error(self) -> InvalidArgument:
        return InvalidArgument(f"Request payload size exceeds the limit: {self.max_bytes} bytes.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/upload/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await error_response(self._error(), headers={"Connection": "close"})(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise self._error()
            return message

        await self.app(scope, limited_receive, send)
