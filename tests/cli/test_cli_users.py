"""``mled users`` and ``mled tokens`` on both backends."""

from __future__ import annotations

import json

from mled_runner import Mled

from mled.service.authentication import AuthService
from mled.store.sql.store import SqlStore

PASSWORD = "a long passphrase\n"


def test_create_list_and_roles(mled: Mled) -> None:
    assert mled("projects", "create", "vision").exit_code == 0
    created = mled("users", "create", "bob", "--password-stdin", input=PASSWORD)
    assert created.exit_code == 0, created.output
    assert mled("users", "set-role", "bob", "vision", "auditor").exit_code == 0
    users = json.loads(mled("users", "list", "--json").stdout)
    assert {u["username"]: u["is_admin"] for u in users} == {"alice": True, "bob": False}
    store = SqlStore.open(mled.store_uri)
    try:
        token = AuthService(store).login("bob", PASSWORD.strip()).token
        assert AuthService(store).user_for_token(token).username == "bob"
    finally:
        store.close()
    removed = mled("users", "set-role", "bob", "vision", "none", "--json")
    assert json.loads(removed.stdout)["role"] is None


def test_disable_and_enable(mled: Mled) -> None:
    mled("users", "create", "bob", "--no-password")
    assert mled("users", "disable", "bob").exit_code == 0
    users = json.loads(mled("users", "list", "--json").stdout)
    assert next(u for u in users if u["username"] == "bob")["disabled"] is True
    assert mled("users", "enable", "bob").exit_code == 0


def test_bad_role_and_short_password_are_clear_errors(mled: Mled) -> None:
    mled("projects", "create", "vision")
    mled("users", "create", "bob", "--no-password")
    bad_role = mled("users", "set-role", "bob", "vision", "wizard")
    assert bad_role.exit_code == 2
    assert "error[invalid_input]" in bad_role.stderr
    assert "data_scientist" in bad_role.stderr
    short = mled("users", "create", "carol", "--password-stdin", input="short\n")
    assert short.exit_code == 2
    assert "shorter than" in short.stderr


def test_tokens_create_list_revoke(mled: Mled) -> None:
    issued = json.loads(mled("tokens", "create", "ci", "--days", "1", "--json").stdout)
    assert issued["token"].startswith("mled_")
    listed = json.loads(mled("tokens", "list", "--json").stdout)
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0]
    assert issued["token"] not in mled("tokens", "list").stdout
    assert mled("tokens", "revoke", str(issued["id"])).exit_code == 0
    assert json.loads(mled("tokens", "list", "--json").stdout)[0]["revoked"] is True
    missing = mled("tokens", "revoke", "999")
    assert missing.exit_code != 0
    assert "mled tokens list" in missing.stderr


def test_non_admin_cannot_manage_users(mled: Mled) -> None:
    mled("users", "create", "bob", "--no-password")
    denied = mled("users", "list", env={"MLED_USER": "bob"})
    assert denied.exit_code != 0
    assert "error[permission_denied]" in denied.stderr
    assert "manage" in denied.stderr
