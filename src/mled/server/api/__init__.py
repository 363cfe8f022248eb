"""REST routes under /api/v1, one module per resource."""

from fastapi import APIRouter

from mled.server.api import (
    artifacts,
    audit,
    auth,
    experiments,
    metrics,
    projects,
    registry,
    search,
    tokens,
    users,
)

ROUTERS: list[APIRouter] = [
    auth.router,
    projects.router,
    experiments.router,
    search.router,
    metrics.router,
    audit.router,
    users.router,
    tokens.router,
    artifacts.router,
    registry.router,
]
