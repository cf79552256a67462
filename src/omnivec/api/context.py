"""Per-request access to the container, the caller's tenant, and request parsing helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from omnivec.api.access_log import USAGE_KEY
from omnivec.api.json_body import check_json_headers, parse_request
from omnivec.bootstrap import Container
from omnivec.errors import DeadlineExceeded

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def container(request: Request) -> Container:
    c: Container = request.app.state.container
    return c


def owner(request: Request) -> str:
    """The tenant of the caller: a key digest prefix, or "" when no keys are configured."""
    return str(request.scope.get("state", {}).get("owner", ""))


def record_usage(request: Request, items: int, tokens: int) -> None:
    """What this request embedded, for its access-log line."""
    request.scope.setdefault("state", {})[USAGE_KEY] = (items, tokens)


def api_version(request: Request) -> str:
    return str(request.scope.get("state", {}).get("api_version", "v1beta"))


async def read_json(request: Request, schema: type[M], *, allow_empty: bool = False) -> M:
    check_json_headers(request.headers)
    return parse_request(await request.body(), schema, allow_empty=allow_empty)


async def with_deadline(request: Request, work: Awaitable[T]) -> T:
    timeout = container(request).settings.limits.request_timeout_s
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise DeadlineExceeded(f"The request did not finish within {timeout:g} s.") from None
