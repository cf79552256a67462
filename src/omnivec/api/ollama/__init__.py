"""The Ollama dialect: everything under ``/api/`` (embed, the legacy embeddings, tags, show,
version), enough for the ``ollama`` client and LangChain's ``OllamaEmbeddings``."""

from __future__ import annotations

from collections.abc import Mapping

from omnivec.api.dialect import Dialect, RenderedError, client_status
from omnivec.api.ollama.routes import router
from omnivec.errors import OmnivecError


def claims(method: str, path: str, headers: Mapping[bytes, bytes]) -> bool:
    return path.startswith("/api/")


def render_error(error: OmnivecError, request_id: str | None) -> RenderedError:
    """Ollama's shape: ``{"error": "..."}``."""
    return RenderedError(client_status(error), {"error": error.message})


DIALECT = Dialect(name="ollama", claims=claims, routes=tuple(router.routes), render_error=render_error)
