"""API keys, the way Google takes them: ``x-goog-api-key``, ``?key=`` or ``Authorization: Bearer``.

Keys are kept only as SHA-256 digests and compared in constant time; they are never logged.
Each key is its own tenant: ``owner`` (a digest prefix) scopes files and batches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from omnivec.api import console
from omnivec.api.middleware import PROBE_PATHS, state
from omnivec.api.responses import error_response
from omnivec.errors import InvalidArgument, PermissionDenied

_INVALID_KEY_DETAILS = (
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com"},
    },
    {
        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
        "locale": "en-US",
        "message": "API key not valid. Please pass a valid API key.",
    },
)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class KeyRing:
    def __init__(self, keys: Iterable[str]) -> None:
        self._digests = [_digest(k) for k in keys if k]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def owner_of(self, presented: str) -> str | None:
        """The tenant id of a valid key, or None. Every stored digest is compared, always."""
        candidate = _digest(presented)
        match = None
        for stored in self._digests:
            if hmac.compare_digest(stored, candidate):
                match = stored
        return match.hex()[:16] if match is not None else None


def presented_key(scope: Scope) -> str | None:
    headers = dict(scope["headers"])
    if key := headers.get(b"x-goog-api-key"):
        return key.decode("latin-1").strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("key"):
        return query["key"][0].strip()
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


class AuthMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.keys.enabled:
            if scope["type"] == "http":
                state(scope)["owner"] = ""
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if (
            path in PROBE_PATHS
            or _is_public_docs(path)
            or _is_upload_chunk(scope)
            or (scope["method"] == "GET" and console.serves(path))
        ):
            # Upload chunks carry no key: the unguessable upload id is the credential, checked
            # by the upload route itself.
            await self.app(scope, receive, send)
            return
        key = presented_key(scope)
        if not key:
            denied = PermissionDenied(
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API."
            )
            await error_response(denied)(scope, receive, send)
            return
        owner = self.keys.owner_of(key)
        if owner is None:
            error = InvalidArgument(
                "API key not valid. Please pass a valid API key.", details=_INVALID_KEY_DETAILS
            )
            await error_response(error)(scope, receive, send)
            return
        state(scope)["owner"] = owner
        await self.app(scope, receive, send)


def _is_upload_chunk(scope: Scope) -> bool:
    """A request to an upload session: the upload route with an ``upload_id`` parameter, parsed
    exactly as the route reads it (a substring test let ``?xupload_id=`` skip the key check of a
    new upload; the route answers an unknown or empty id with 404)."""
    if not scope["path"].startswith("/upload/"):
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return "upload_id" in query


def _is_public_docs(path: str) -> bool:
    """The API's own description (Swagger UI, its static assets, the OpenAPI document) holds no
    data and must load in a browser, which sends no key with the page's asset requests."""
    return path in ("/docs", "/openapi.json") or path.startswith("/docs/assets/")
