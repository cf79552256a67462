"""The Hugging Face Text Embeddings Inference dialect: ``/embed``, ``/tokenize``, ``/info``,
``/rerank`` and ``POST /`` (where ``InferenceClient(base_url=...)`` sends feature extraction)."""

from __future__ import annotations

from collections.abc import Mapping

from omnivec.api.dialect import Dialect, RenderedError, client_status
from omnivec.api.tei.routes import router
from omnivec.errors import OmnivecError

OWN_PATHS = frozenset({"/embed", "/tokenize", "/info", "/rerank"})


def claims(method: str, path: str, headers: Mapping[bytes, bytes]) -> bool:
    return path in OWN_PATHS or (path == "/" and method == "POST")


def render_error(error: OmnivecError, request_id: str | None) -> RenderedError:
    """TEI's shape, ``{"error", "error_type"}``, and its statuses: 422 for invalid input."""
    status = client_status(error)
    if status == 400:
        return RenderedError(422, {"error": error.message, "error_type": "Validation"})
    kinds = {401: "Unauthorized", 404: "NotFound", 429: "Overloaded"}
    kind = kinds.get(status, "Backend" if status >= 500 else "Validation")
    return RenderedError(status, {"error": error.message, "error_type": kind})


DIALECT = Dialect(name="tei", claims=claims, routes=tuple(router.routes), render_error=render_error)
