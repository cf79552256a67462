"""What an API dialect is, and which one the current request speaks.

A dialect is one embedding API that omnivec answers (Gemini, OpenAI, Ollama, TEI, Cohere,
Vertex AI): the requests it claims, its routes, and how its ecosystem shapes an error. Each
lives in its own ``api/<name>/`` package exporting ``DIALECT``; ``api/dialects.py`` finds them.
The dialect of the request in progress is kept in a context variable so that every error
response, wherever it is made (routes, handlers, middleware), comes out in the caller's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from omnivec.errors import OmnivecError, PermissionDenied


@dataclass(frozen=True, slots=True)
class RenderedError:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


# (method, original path, lower-cased request headers) -> whether the dialect takes the request.
Claim = Callable[[str, str, Mapping[bytes, bytes]], bool]
# (error, request id for 5xx) -> the response in the dialect's own shape.
ErrorRenderer = Callable[[OmnivecError, str | None], RenderedError]


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    claims: Claim
    routes: Sequence[BaseRoute]
    render_error: ErrorRenderer
    # Whether the path carries Gemini's API version segment to strip (/v1beta/models/... ->
    # /models/...). Other dialects route on the path exactly as sent.
    versioned_paths: bool = False
    # Lower is asked first, so a narrow claim (OpenAI's /v1/embeddings) wins over a broad one.
    order: int = 100


current_dialect: ContextVar[Dialect | None] = ContextVar("omnivec_dialect", default=None)


def is_credential_error(error: OmnivecError) -> bool:
    """A missing or unknown API key. Google answers 403/400 for these; every other ecosystem
    answers 401, which is what its clients look for."""
    if isinstance(error, PermissionDenied):
        return True
    return any(d.get("reason") == "API_KEY_INVALID" for d in error.details)


def client_status(error: OmnivecError) -> int:
    """The HTTP status outside Google's dialects: 401 for key problems, else the error's own."""
    return 401 if is_credential_error(error) else error.http_status


def dialect_router(name: str) -> APIRouter:
    """A router whose routes match only requests of dialect ``name``: TEI's ``/embed`` must not
    answer a Gemini request for ``/v1/embed`` once its version is stripped."""

    class DialectRoute(APIRoute):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            dialect = scope.get("state", {}).get("dialect")
            if getattr(dialect, "name", None) != name:
                return Match.NONE, {}
            return super().matches(scope)

    return APIRouter(route_class=DialectRoute, include_in_schema=False)
