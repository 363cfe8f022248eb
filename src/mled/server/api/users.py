"""Users: listing, creating, disabling (admins), and passwords.

Example:
    $ curl -X POST $URL/api/v1/users -H "Authorization: Bearer $TOKEN" \\
        -H 'Content-Type: application/json' \\
        -d '{"username": "bob", "password": "a long passphrase"}'
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mled.auth.passwords import MIN_PASSWORD_LENGTH
from mled.auth.permissions import Action
from mled.entities import User
from mled.server.deps import AUTHENTICATED, ServicesDep, permission
from mled.server.schemas import Body, Name, UsernamePath, problems

router = APIRouter(tags=["users"])

Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)]


class UserIn(Body):
    username: Name
    password: Password | None = Field(
        default=None, description="At least 8 characters; none: the user cannot log in yet."
    )
    admin: bool = False


class UserOut(BaseModel):
    username: str
    is_admin: bool
    disabled: bool

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(username=u.username, is_admin=u.is_admin, disabled=u.disabled)


class PasswordIn(Body):
    password: Password


@router.get("/users", openapi_extra=permission(Action.MANAGE), responses=problems(401, 403, 503))
def list_users(s: ServicesDep) -> list[UserOut]:
    return [UserOut.of(u) for u in s.users.list()]


@router.post(
    "/users",
    status_code=201,
    openapi_extra=permission(Action.MANAGE),
    responses=problems(400, 401, 403, 409, 413, 422, 503),
)
def create_user(body: UserIn, s: ServicesDep) -> UserOut:
    """Register a user (a global admin with ``admin: true``); roles are per project."""
    return UserOut.of(s.users.create(body.username, password=body.password, admin=body.admin))


@router.post(
    "/users/{username:path}/disable",
    status_code=204,
    openapi_extra=permission(Action.MANAGE),
    responses=problems(400, 401, 403, 404, 422, 503),
)
def disable_user(username: UsernamePath, s: ServicesDep) -> None:
    """Disable a user: their tokens stop working and they cannot log in."""
    s.users.set_disabled(username, True)


@router.post(
    "/users/{username:path}/enable",
    status_code=204,
    openapi_extra=permission(Action.MANAGE),
    responses=problems(401, 403, 404, 422, 503),
)
def enable_user(username: UsernamePath, s: ServicesDep) -> None:
    s.users.set_disabled(username, False)


@router.put(
    "/users/{username:path}/password",
    status_code=204,
    openapi_extra=permission(AUTHENTICATED),
    responses=problems(400, 401, 403, 404, 413, 422, 503),
)
def set_password(username: UsernamePath, body: PasswordIn, s: ServicesDep) -> None:
    """Set a password: your own, or anyone's as an admin (``manage``)."""
    s.users.set_password(username, body.password)
