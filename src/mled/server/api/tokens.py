"""API tokens of the caller (admins: everyone's). A token is shown once, when created.

Example:
    $ curl -X POST $URL/api/v1/tokens -H "Authorization: Bearer $TOKEN" \\
        -H 'Content-Type: application/json' -d '{"name": "ci", "days": 30}'
    {"token":"mled_...","id":7,"prefix":"mled_AbCdEfG","expires_at":1769817600.0}
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from mled.entities import TokenInfo
from mled.server.deps import AUTHENTICATED, ServicesDep, permission
from mled.server.schemas import Body, Name, problems

router = APIRouter(tags=["tokens"])

MAX_DAYS = 36_500.0


class TokenIn(Body):
    name: Name
    days: float | None = Field(
        default=90,
        gt=0,
        le=MAX_DAYS,
        allow_inf_nan=False,
        strict=True,
        description="Lifetime in days; null: the token never expires.",
    )


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to tell them apart.")
    username: str
    created_at: float
    expires_at: float | None
    revoked: bool
    last_used_at: float | None

    @classmethod
    def of(cls, t: TokenInfo) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            username=t.username,
            created_at=t.created_at,
            expires_at=t.expires_at,
            revoked=t.revoked,
            last_used_at=t.last_used_at,
        )


class IssuedTokenOut(BaseModel):
    token: str = Field(description="The secret: shown this once, never stored by the server.")
    id: int
    prefix: str
    expires_at: float | None


@router.get(
    "/tokens",
    openapi_extra=permission(AUTHENTICATED),
    responses=problems(401, 403, 422, 503),
)
def list_tokens(
    s: ServicesDep,
    all: Annotated[bool, Query(description="Every user's tokens (needs `manage`).")] = False,
) -> list[TokenOut]:
    """Your tokens, or with ``all=true`` (admins) everyone's; never the secrets."""
    return [TokenOut.of(t) for t in s.tokens.list(all_users=all)]


@router.post(
    "/tokens",
    status_code=201,
    openapi_extra=permission(AUTHENTICATED),
    responses=problems(400, 401, 413, 422, 503),
)
def create_token(body: TokenIn, s: ServicesDep) -> IssuedTokenOut:
    """A new token for yourself; keep the secret, it cannot be shown again."""
    issued = s.tokens.create(body.name, days=body.days)
    return IssuedTokenOut(
        token=issued.token,
        id=issued.info.id,
        prefix=issued.info.prefix,
        expires_at=issued.info.expires_at,
    )


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    openapi_extra=permission(AUTHENTICATED),
    responses=problems(401, 404, 422, 503),
)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    s: ServicesDep,
) -> None:
    """Revoke one of your tokens (admins: anyone's); revoking twice is a no-op."""
    s.tokens.revoke(token_id)
