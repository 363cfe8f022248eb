"""Health, login and the current user."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

import mled
from mled.server.deps import AUTHENTICATED, PUBLIC, StoreDep, UserDep, permission
from mled.server.schemas import Body, Name, problems
from mled.service.authentication import AuthService

router = APIRouter(tags=["auth"])


class Health(BaseModel):
    status: str
    version: str


class LoginRequest(Body):
    username: Name
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    token: str
    expires_at: float | None


class Me(BaseModel):
    username: str
    is_admin: bool


@router.get("/health", openapi_extra=permission(PUBLIC))
def health() -> Health:
    """Liveness: answers without touching the database or needing a token."""
    return Health(status="ok", version=mled.__version__)


@router.post(
    "/auth/login",
    openapi_extra=permission(PUBLIC),
    responses=problems(400, 401, 413, 422, 429, 503),
)
def login(body: LoginRequest, store: StoreDep) -> LoginResponse:
    """Exchange a user name and password for an API token (rate limited, audited)."""
    issued = AuthService(store).login(body.username, body.password)
    return LoginResponse(token=issued.token, expires_at=issued.info.expires_at)


@router.get("/me", openapi_extra=permission(AUTHENTICATED), responses=problems(401, 503))
def me(user: UserDep) -> Me:
    """The user the request's token belongs to."""
    return Me(username=user.username, is_admin=user.is_admin)
