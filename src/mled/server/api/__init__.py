"""REST routes under /api/v1, one module per resource."""

from fastapi import APIRouter

from mled.server.api import auth, projects

ROUTERS: list[APIRouter] = [auth.router, projects.router]
