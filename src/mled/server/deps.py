"""Request dependencies: the store, the authenticated user, and services acting as them.

Every route declares the permission it needs with ``permission(...)`` (recorded in the OpenAPI
document as ``x-mled-permission``); a test fails if a route lacks one. The declaration is
documentation and inventory: the service layer enforces it on every call.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mled.artifacts.blobstore import BlobStore
from mled.entities import User
from mled.errors import Unauthenticated
from mled.service import Services
from mled.service.authentication import AuthService
from mled.service.context import ServiceContext
from mled.store.sql.store import SqlStore

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def permission(name: str) -> dict[str, Any]:
    """``openapi_extra`` naming the permission a route needs (an Action value, or public)."""
    return {"x-mled-permission": name}


def get_store(request: Request) -> SqlStore:
    store: SqlStore = request.app.state.store
    return store


StoreDep = Annotated[SqlStore, Depends(get_store)]


def get_blobs(request: Request) -> BlobStore:
    """The artifact blob store, opened once at startup from the server's configuration."""
    blobs: BlobStore = request.app.state.blobs
    return blobs


BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


_bearer = HTTPBearer(auto_error=False, description="An API token: `mled tokens create`.")


def current_user(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The user of the request's ``Authorization: Bearer <token>`` header (401 otherwise)."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("this request carries no API token")
    return AuthService(store).user_for_token(credentials.credentials.strip())


UserDep = Annotated[User, Depends(current_user)]


def services(store: StoreDep, blobs: BlobsDep, user: UserDep) -> Services:
    return Services.for_context(ServiceContext(store=store, actor=user), blobs)


ServicesDep = Annotated[Services, Depends(services)]
