"""The FastAPI application: middleware, routers and error handlers around one Container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from omnivec.api import docs, errors, openapi
from omnivec.api.access_log import AccessLogMiddleware
from omnivec.api.auth import AuthMiddleware, KeyRing
from omnivec.api.metrics import Metrics, MetricsMiddleware
from omnivec.api.middleware import (
    PROBE_PATHS,
    ApiVersionMiddleware,
    BodyLimitMiddleware,
    ConcurrencyLimitMiddleware,
    RequestIdMiddleware,
    UnexpectedErrorMiddleware,
)
from omnivec.api.routes import batches, embeddings, fallback, files, health, models, upload
from omnivec.bootstrap import Container


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        try:
            yield
        finally:
            await container.stop()

    app = FastAPI(
        title="omnivec",
        summary="Gemini-compatible embedding API for open models.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from packaged assets by api/docs.py: no CDN, works offline
        redoc_url=None,
    )
    app.state.container = container
    app.state.metrics = metrics = Metrics(container.runtime)
    errors.install(app)
    # fallback stays last: it answers unknown methods on known collections.
    routers = [m.router for m in (health, embeddings, models, batches, files, upload, fallback)]
    for router in routers:
        app.include_router(router)
    openapi.install(app)
    docs.install(app)

    settings = container.settings
    keys = KeyRing(k.get_secret_value() for k in settings.api_keys)
    limits = settings.limits
    # Added innermost first: the request passes RequestId -> UnexpectedError -> ApiVersion ->
    # Metrics -> Auth -> ConcurrencyLimit -> BodyLimit, so a refused caller costs no body read and
    # no slot, and is still counted (by the route it was meant for).
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=limits.max_body_bytes,
        timeout_s=limits.body_timeout_s,
        budget_bytes=limits.max_body_bytes_in_flight,
    )
    app.add_middleware(ConcurrencyLimitMiddleware, limit=limits.max_concurrent_requests, exempt=PROBE_PATHS)
    app.add_middleware(AuthMiddleware, keys=keys)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=[r for rt in routers for r in rt.routes])
    app.add_middleware(ApiVersionMiddleware)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
