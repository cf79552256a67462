"""The FastAPI application: middleware, routers and error handlers around one Container."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from omnivec.api import errors
from omnivec.api.auth import AuthMiddleware, KeyRing
from omnivec.api.middleware import ApiVersionMiddleware, BodyLimitMiddleware, RequestIdMiddleware
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
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    errors.install(app)
    # fallback stays last: it answers unknown methods on known collections.
    for module in (health, embeddings, models, batches, files, upload, fallback):
        app.include_router(module.router)

    settings = container.settings
    keys = KeyRing(k.get_secret_value() for k in settings.api_keys)
    # Added innermost first: the request passes RequestId -> ApiVersion -> Auth -> BodyLimit.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_body_bytes)
    app.add_middleware(AuthMiddleware, keys=keys)
    app.add_middleware(ApiVersionMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
