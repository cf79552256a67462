"""The web console: static assets shipped in the package (``omnivec/console``), served at ``/``
and ``/console/``. The pages call the same public API as any client; the assets themselves
hold no data and so need no key."""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import Response

from omnivec.errors import NotFound

router = APIRouter(include_in_schema=False)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything the pages load comes from this server: the browser refuses any other host.
_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
)
PREFIX = "/console/"


@cache
def _assets() -> dict[str, tuple[bytes, str]]:
    """The shipped files by name, read once: only these names are ever served."""
    folder = resources.files("omnivec").joinpath("console")
    found: dict[str, tuple[bytes, str]] = {}
    for entry in folder.iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and suffix in _TYPES:
            found[entry.name] = (entry.read_bytes(), _TYPES[suffix])
    return found


def serves(path: str) -> bool:
    """For the auth middleware: the console's own pages and assets, open to every caller."""
    return path in ("/", "/console", PREFIX) or (path.startswith(PREFIX) and path[len(PREFIX) :] in _assets())


def _asset(name: str) -> Response:
    found = _assets().get(name)
    if found is None:
        raise NotFound(f"console/{name} is not part of the console")
    body, media_type = found
    headers = {
        "Content-Security-Policy": _POLICY,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=media_type, headers=headers)


def _unversioned(request: Request) -> None:
    """The console lives at the server's root only: ``/v1beta/`` (or a path that normalises to
    it, such as ``/v1beta/batches/..``) is an API path with nothing there."""
    if request.scope.get("state", {}).get("api_version"):
        raise NotFound("Method not found.")


@router.get("/")
@router.get("/console")
@router.get(PREFIX)
async def index(request: Request) -> Response:
    _unversioned(request)
    return _asset("index.html")


@router.get(PREFIX + "{name}")
async def asset(request: Request, name: str) -> Response:
    _unversioned(request)
    return _asset(name)
