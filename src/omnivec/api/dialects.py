"""The registry of API dialects, found by discovery, and the middleware that picks one.

Every sub-package of ``omnivec.api`` that exports ``DIALECT`` is a dialect: adding one touches
only its own package (and its tests). The middleware asks the dialects in ``order`` which one
claims the request, by its path as the client sent it, before any other middleware runs.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from starlette.types import ASGIApp, Receive, Scope, Send

import omnivec.api
from omnivec.api.dialect import Dialect, current_dialect
from omnivec.api.middleware import state


@cache
def registry() -> tuple[Dialect, ...]:
    """Every dialect, in the order they are asked (the default, Gemini, last)."""
    found: list[Dialect] = []
    for module in pkgutil.iter_modules(omnivec.api.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{omnivec.api.__name__}.{module.name}")
        dialect = getattr(package, "DIALECT", None)
        if isinstance(dialect, Dialect):
            found.append(dialect)
    return tuple(sorted(found, key=lambda d: (d.order, d.name)))


def dialect_for(method: str, path: str, headers: dict[bytes, bytes]) -> Dialect:
    dialects = registry()
    for dialect in dialects:
        if dialect.claims(method, path, headers):
            return dialect
    return dialects[-1]


def keeps_path(scope: Scope) -> bool:
    """For ApiVersionMiddleware: the request's dialect routes on the path as sent."""
    dialect = state(scope).get("dialect")
    return isinstance(dialect, Dialect) and not dialect.versioned_paths


class DialectMiddleware:
    """Outermost: decides the dialect once per request, for the routes and for every error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        dialect = dialect_for(scope["method"], scope["path"], headers)
        state(scope)["dialect"] = dialect
        token = current_dialect.set(dialect)
        try:
            await self.app(scope, receive, send)
        finally:
            current_dialect.reset(token)
