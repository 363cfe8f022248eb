"""User, membership and token operations of ``LocalBackend`` (the service, in-process)."""

from __future__ import annotations

from mled.entities import IssuedToken, TokenInfo, User
from mled.service import Services


class LocalAccounts:
    """Mixin: expects ``self._s`` to be the Services of the acting user."""

    _s: Services

    def create_user(
        self, username: str, *, password: str | None = None, admin: bool = False
    ) -> User:
        return self._s.users.create(username, password=password, admin=admin)

    def list_users(self) -> list[User]:
        return self._s.users.list()

    def set_user_disabled(self, username: str, disabled: bool) -> None:
        self._s.users.set_disabled(username, disabled)

    def set_password(self, username: str, password: str) -> None:
        self._s.users.set_password(username, password)

    def set_role(self, project: str, username: str, role: str | None) -> None:
        self._s.users.set_role(project, username, role)

    def list_members(self, project: str) -> dict[str, str]:
        return self._s.users.memberships(project)

    def create_token(
        self, name: str, *, days: float | None = 90, username: str | None = None
    ) -> IssuedToken:
        return self._s.tokens.create(name, days=days, username=username)

    def list_tokens(self, *, all_users: bool = False) -> list[TokenInfo]:
        return self._s.tokens.list(all_users=all_users)

    def revoke_token(self, token_id: int) -> None:
        self._s.tokens.revoke(token_id)
