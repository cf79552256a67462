"""Absolute URLs this server hands out (upload URLs, file uris): from ``public_url`` when it is
configured, otherwise from the request's ``X-Forwarded-*`` or ``Host`` headers, so the URL
reaches this server the way the client did."""

from __future__ import annotations

import re

from starlette.requests import Request

from omnivec.api.context import container

_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def base_url(request: Request) -> str:
    public = container(request).settings.public_url
    if public:
        return public.rstrip("/")
    headers = request.headers
    proto = _first(headers.get("x-forwarded-proto")) or request.url.scheme
    if proto not in ("http", "https"):
        proto = request.url.scheme
    host = _first(headers.get("x-forwarded-host")) or headers.get("host", "")
    if not _HOST.match(host):
        server = request.scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    prefix = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{proto}://{host}{prefix}"


def request_version(request: Request) -> str | None:
    """The API version segment the request came in under (None when it had none)."""
    version = request.scope.get("state", {}).get("api_version")
    return str(version) if version else None


def _first(value: str | None) -> str:
    return value.split(",")[0].strip() if value else ""
