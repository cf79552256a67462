"""The Cohere v2 dialect: ``/v2/embed`` and rerank (``/v2/rerank`` and ``/v1/rerank``, the
request shape Cohere and Jina share), enough for the ``cohere`` client's ``ClientV2``."""

from __future__ import annotations

from collections.abc import Mapping

from omnivec.api.cohere.routes import router
from omnivec.api.dialect import Dialect, RenderedError, client_status
from omnivec.errors import OmnivecError

OWN_PATHS = frozenset({"/v2/embed", "/v2/rerank", "/v1/rerank"})


def claims(method: str, path: str, headers: Mapping[bytes, bytes]) -> bool:
    return path in OWN_PATHS


def render_error(error: OmnivecError, request_id: str | None) -> RenderedError:
    """Cohere's shape: ``{"message": "..."}``."""
    return RenderedError(client_status(error), {"message": error.message})


DIALECT = Dialect(name="cohere", claims=claims, routes=tuple(router.routes), render_error=render_error)
