"""The app factory. Stateless: every process opens the store itself, so several processes
or hosts can serve one PostgreSQL database behind a load balancer.

Example:
    >>> app = create_app(ServerSettings(store_uri="sqlite:////tmp/mled.db"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

import mled
from mled.server.api import ROUTERS
from mled.server.errors import install_error_handlers
from mled.server.limits import BodySizeLimit
from mled.server.links import add_links
from mled.server.settings import ServerSettings
from mled.server.streams import is_blob_upload
from mled.store.sql.store import SqlStore

API_PREFIX = "/api/v1"


def create_app(settings: ServerSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = SqlStore.open(settings.store_uri)
        app.state.blobs = settings.artifact_config().open()
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="MLED",
        version=mled.__version__,
        description="The Machine Learning Experiment Database REST API. Errors are RFC 9457 "
        "problem+json bodies with a stable `code` and a `hint`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    _describe_links(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt=is_blob_upload)
    return app


def _describe_links(app: FastAPI) -> None:
    """Generate the OpenAPI description with its links (:mod:`mled.server.links`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate(), API_PREFIX)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used with several worker processes)."""
    return create_app(ServerSettings.from_env())
