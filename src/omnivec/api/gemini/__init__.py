"""The Gemini API dialect, omnivec's own and the default: every request no other dialect claims.

Its routes stay in ``api/routes`` (paths without the API version, which ApiVersionMiddleware
strips) and its request schemas in ``api/schemas``.
"""

from __future__ import annotations

from omnivec.api.dialect import Dialect
from omnivec.api.responses import google_error
from omnivec.api.routes import (
    batches,
    count_tokens,
    embeddings,
    health,
    models,
    search_store_upload,
    search_stores,
    upload,
)
from omnivec.api.routes import files as files_routes

DIALECT = Dialect(
    name="gemini",
    claims=lambda method, path, headers: True,
    routes=tuple(
        route
        for module in (
            health,
            embeddings,
            count_tokens,
            models,
            batches,
            files_routes,
            upload,
            search_stores,
            search_store_upload,
        )
        for route in module.router.routes
    ),
    render_error=google_error,
    versioned_paths=True,
    order=1000,  # asked last: it takes whatever no other dialect claimed
)
