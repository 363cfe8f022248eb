"""Search, compare, users, memberships and tokens of ``HttpBackend``: plain REST calls.

None of these is spooled: searches and comparisons read, and account changes are made by an
administrator who needs to see them succeed, so with the server unreachable they raise
``StoreUnavailable`` at once.

Example:
    >>> page = backend.search("metrics.acc > 0.9", limit=10)  # doctest: +SKIP
    >>> [e.name for e in page.items]  # doctest: +SKIP
    ['resnet-3', 'resnet-1']
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import httpx

from mled.entities import Comparison, Experiment, IssuedToken, Page, TokenInfo, User
from mled.errors import InvalidInput
from mled.sdk import http_codec as codec
from mled.sdk.http_transport import segment


class _Caller(Protocol):
    @property
    def username(self) -> str: ...

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


class HttpQueries:
    """The search/compare and account half of the ``Backend`` protocol, over REST."""

    def search(
        self: _Caller,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        body = {
            "query": query,
            "project": project,
            "order_by": None if order_by is None else list(order_by),
            "limit": limit,
            "page_token": page_token,
        }
        answer = self._call("POST", "/experiments/search", json=body).json()
        return Page(
            [codec.experiment(e) for e in answer.get("experiments", [])],
            answer.get("next_page_token"),
        )

    def compare(
        self: _Caller,
        ids: Sequence[str],
        *,
        directions: Mapping[str, str] | None = None,
        histories: bool = True,
        max_points: int | None = None,
    ) -> Comparison:
        body = {
            "ids": list(ids),
            "directions": None if directions is None else dict(directions),
            "histories": histories,
            "max_points": max_points,
        }
        return codec.comparison(self._call("POST", "/experiments/compare", json=body).json())

    # --- users and memberships --------------------------------------------------------------

    def create_user(
        self: _Caller, username: str, *, password: str | None = None, admin: bool = False
    ) -> User:
        body = {"username": username, "password": password, "admin": admin}
        return codec.user(self._call("POST", "/users", json=body).json())

    def list_users(self: _Caller) -> list[User]:
        return [codec.user(u) for u in self._call("GET", "/users").json()]

    def set_user_disabled(self: _Caller, username: str, disabled: bool) -> None:
        action = "disable" if disabled else "enable"
        self._call("POST", f"/users/{segment(username)}/{action}")

    def set_password(self: _Caller, username: str, password: str) -> None:
        self._call("PUT", f"/users/{segment(username)}/password", json={"password": password})

    def set_role(self: _Caller, project: str, username: str, role: str | None) -> None:
        path = f"/projects/{segment(project)}/members/{segment(username)}"
        if role is None:
            self._call("DELETE", path)
        else:
            self._call("PUT", path, json={"role": role})

    def list_members(self: _Caller, project: str) -> dict[str, str]:
        answer = self._call("GET", f"/projects/{segment(project)}/members").json()
        return {str(k): str(v) for k, v in answer.items()}

    # --- tokens -----------------------------------------------------------------------------

    def create_token(
        self: _Caller, name: str, *, days: float | None = 90, username: str | None = None
    ) -> IssuedToken:
        if username is not None and username != self.username:
            raise InvalidInput(
                "a server issues tokens to the user who asks for them only",
                hint=f"Log in as {username!r} (`mled login URL`) and create the token there.",
            )
        answer = self._call("POST", "/tokens", json={"name": name, "days": days}).json()
        info = TokenInfo(
            id=int(answer["id"]),
            name=name,
            prefix=str(answer["prefix"]),
            username=self.username,
            created_at=time.time(),
            expires_at=answer.get("expires_at"),
            revoked=False,
            last_used_at=None,
        )
        return IssuedToken(token=str(answer["token"]), info=info)

    def list_tokens(self: _Caller, *, all_users: bool = False) -> list[TokenInfo]:
        answer = self._call("GET", "/tokens", params={"all": "true" if all_users else "false"})
        return [codec.token_info(t) for t in answer.json()]

    def revoke_token(self: _Caller, token_id: int) -> None:
        self._call("DELETE", f"/tokens/{int(token_id)}")
