"""Users registered on first use: the first is the store's admin; concurrent first uses agree."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from mled.entities import User
from mled.errors import InvalidName
from mled.service.users import ensure_local_user
from mled.store.sql.store import SqlStore


def _in_threads(count: int, work: Callable[[int], User]) -> tuple[list[User], list[BaseException]]:
    start = threading.Barrier(count)
    users: list[User] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            users.append(work(i))
        except BaseException as err:  # collected and asserted on below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return users, errors


def test_the_first_user_is_admin_and_later_ones_are_not(store: SqlStore) -> None:
    alice = ensure_local_user(store, "alice")
    bob = ensure_local_user(store, "bob")
    assert (alice.username, alice.is_admin) == ("alice", True)
    assert (bob.username, bob.is_admin) == ("bob", False)
    assert ensure_local_user(store, "alice") == alice  # found, not registered again


def test_registration_is_audited(store: SqlStore) -> None:
    from mled.service import Services

    services = Services.for_user(store, "alice")
    ensure_local_user(store, "alice")
    events = services.audit.events()
    assert [(e.action, e.object_id, e.after) for e in events] == [
        ("user.create", "alice", {"is_admin": True})
    ]


def _warm_pool(store: SqlStore, size: int) -> None:
    """Open connections up front so that the threads race on SQL, not on connecting."""
    connections = [store.engine.connect() for _ in range(size)]
    for conn in connections:
        conn.close()


def test_concurrent_first_uses_of_one_name_register_it_once(store: SqlStore) -> None:
    ensure_local_user(store, "alice")
    _warm_pool(store, 5)
    for name in ("bob", "carol", "dave"):

        def register(_: int, name: str = name) -> User:
            return ensure_local_user(store, name)

        users, errors = _in_threads(5, register)
        assert errors == []
        assert len({u.id for u in users}) == 1
        assert not users[0].is_admin


def test_concurrent_first_users_of_an_empty_store_make_one_admin(store: SqlStore) -> None:
    _warm_pool(store, 5)
    users, errors = _in_threads(5, lambda i: ensure_local_user(store, f"user{i}"))
    assert errors == []
    assert sum(u.is_admin for u in users) == 1


@pytest.mark.parametrize("name", ["", " alice", "a" * 201])
def test_invalid_usernames_are_refused(store: SqlStore, name: str) -> None:
    with pytest.raises(InvalidName):
        ensure_local_user(store, name)
