"""The FastAPI application: middleware, routers and error handlers around one Container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from omnivec.api import cache_metrics, console, dialects, docs, errors, openapi
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
from omnivec.api.routes import fallback
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
    cache_metrics.install(metrics.registry, container.embeddings.cache)
    errors.install(app)
    # Every dialect's routes (Gemini's last), then fallback: it answers unknown methods on
    # known collections.
    routes = [r for d in dialects.registry() for r in d.routes] + list(fallback.router.routes)
    routes += list(console.router.routes)
    app.router.routes.extend(routes)
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
        budget=container.memory,
        min_upload_rate=limits.min_upload_bytes_per_s,
        slots_per_client=limits.max_body_slots_per_client,
    )
    app.add_middleware(ConcurrencyLimitMiddleware, limit=limits.max_concurrent_requests, exempt=PROBE_PATHS)
    app.add_middleware(AuthMiddleware, keys=keys)
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=routes)
    app.add_middleware(ApiVersionMiddleware, keep_path=dialects.keeps_path)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    # Outermost: the dialect is known before any middleware may have to answer with an error.
    app.add_middleware(dialects.DialectMiddleware)
    return app
