"""The OpenAI dialect: ``/v1/embeddings`` and everything under ``/v1beta/openai/`` (Google's own
OpenAI-compatible path) and ``/openai/v1/``. ``GET /v1/models`` stays Gemini's; ``/v1/files``
and ``/v1/batches`` are OpenAI's when the caller is an OpenAI SDK (``x-stainless-lang``)."""

from __future__ import annotations

from collections.abc import Mapping

from omnivec.api.dialect import Dialect
from omnivec.api.openai.errors import render_error
from omnivec.api.openai.routes import router

PREFIXES = ("/v1beta/openai/", "/openai/v1/")
OWN_PATHS = frozenset({"/v1/embeddings"})


def claims(method: str, path: str, headers: Mapping[bytes, bytes]) -> bool:
    if path in OWN_PATHS or path.startswith(PREFIXES):
        return True
    # /v1/files and /v1/batches are Gemini's too: they are OpenAI's only for OpenAI's own
    # clients (every official SDK sends x-stainless-* headers).
    return path.startswith(("/v1/files", "/v1/batches")) and b"x-stainless-lang" in headers


DIALECT = Dialect(name="openai", claims=claims, routes=tuple(router.routes), render_error=render_error)
