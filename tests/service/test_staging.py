"""Staged creations (mled.service.staging): acknowledged, durable, and never missed by a read.

``create`` commits an experiment as one ``staged_experiments`` row; every other service
transaction writes the staged rows first. These tests check that on every backend: reads
through any service and any other store see the experiment, the order of keys follows the
order of creation, retries and conflicts behave as for written experiments, a store closed
with staged experiments keeps them, and the audit chain verifies throughout.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, select, update

from mled.entities import NewExperiment
from mled.errors import AlreadyExists, StoreUnavailable
from mled.ids import new_id
from mled.service import Services, staging
from mled.store.sql.staged import decode_staged, encode_staged
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import experiments, staged_experiments


def _staged(store: SqlStore) -> int:
    return len(store.read(lambda conn: conn.execute(select(staged_experiments.c.seq)).all()))


def _written(store: SqlStore) -> list[str]:
    """Names of the written experiments, in key order."""
    stmt = select(experiments.c.name).order_by(experiments.c.id)
    return list(store.read(lambda conn: conn.execute(stmt).scalars().all()))


def _spec(name: str, **kwargs: object) -> NewExperiment:
    return NewExperiment(
        project="vision",
        name=name,
        params={"lr": 0.1, "opt": "adam"},
        tags={"team": "cv"},
        metrics={"acc": ([0, 1], [1.0, 2.0], [0.5, 0.75])},
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_creation_is_staged_and_the_next_read_writes_it(
    services: Services, store: SqlStore
) -> None:
    created = services.experiments.create(_spec("a"))
    assert _staged(store) == 1
    assert _written(store) == []
    fetched = services.experiments.get(created.id)
    assert fetched == created
    assert _staged(store) == 0
    assert _written(store) == ["a"]


def test_other_users_and_other_stores_see_staged_experiments(
    services: Services, store: SqlStore
) -> None:
    services.projects.create("vision")
    Services.for_user(store, "bob")
    services.users.set_role("vision", "bob", "data_scientist")
    created = services.experiments.create(_spec("a"))
    other = SqlStore.open(store.uri)
    try:
        bob = Services.for_user(other, "bob")
        assert [e.id for e in bob.search.search("params.opt = 'adam'").items] == [created.id]
        assert bob.experiments.get(created.id).metrics == {"acc": 0.75}
    finally:
        other.close()


def test_keys_follow_the_order_of_creation(services: Services, store: SqlStore) -> None:
    a = services.experiments.create(_spec("a"))
    services.experiments.create(_spec("b"))
    # A link must be found among written experiments: this creation writes a and b first.
    services.experiments.create(_spec("c", parent_id=a.id))
    services.experiments.create(_spec("d"))
    services.experiments.import_many([_spec("e", status="finished")])
    services.experiments.create(_spec("f"))
    assert [e.name for e in services.experiments.list("vision")] == ["f", "e", "d", "c", "b", "a"]
    assert _written(store) == ["a", "b", "c", "d", "e", "f"]


def test_a_change_to_a_staged_experiment_lands_after_it(services: Services) -> None:
    created = services.experiments.create(_spec("a"))
    services.experiments.set_tags(created.id, {"stage": "two"})
    services.metrics.log_batch(created.id, {"acc": ([2], [3.0], [0.9])})
    services.experiments.end(created.id)
    fetched = services.experiments.get(created.id)
    assert fetched.tags == {"team": "cv", "stage": "two"}
    assert fetched.metrics == {"acc": 0.9}
    assert fetched.status == "finished"


def test_a_retried_creation_of_a_staged_experiment_returns_it(
    services: Services, store: SqlStore
) -> None:
    spec = _spec("a", id=new_id())
    first = services.experiments.create(spec)
    assert _staged(store) == 1
    assert services.experiments.create(spec) == first
    assert _written(store) == ["a"]
    services.projects.create("other")
    Services.for_user(store, "bob")
    services.users.set_role("vision", "bob", "ml_engineer")
    with pytest.raises(AlreadyExists):
        Services.for_user(store, "bob").experiments.create(spec)


def test_a_store_closed_with_staged_experiments_keeps_them(store_uri: str) -> None:
    store = SqlStore.open(store_uri)
    ids = [
        Services.for_user(store, "alice").experiments.create(_spec(f"r{i}")).id for i in range(5)
    ]
    assert _staged(store) == 5
    store.close()  # as a process that exits after logging would
    reopened = SqlStore.open(store_uri)
    try:
        found = Services.for_user(reopened, "alice").search.search("", limit=10).items
        assert sorted(e.id for e in found) == sorted(ids)
    finally:
        reopened.close()


def test_creations_write_the_stage_once_its_oldest_entry_is_old(
    services: Services, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "STAGE_LIMIT", 4)  # events: the project's, then r0..r3
    services.projects.create("vision")
    for i in range(4):
        services.experiments.create(_spec(f"r{i}"))
    assert _staged(store) == 4
    services.experiments.create(_spec("r4"))  # the oldest is 4 audit events old
    assert _staged(store) == 0
    assert _written(store) == [f"r{i}" for i in range(5)]


def test_the_audit_chain_verifies_with_staged_experiments(services: Services) -> None:
    for i in range(3):
        services.experiments.create(_spec(f"r{i}"))
    report = services.audit.verify()
    assert report.ok, report
    assert report.chunks_checked == 3


def test_concurrent_creators_and_readers_lose_nothing(store_uri: str) -> None:
    """Four threads, each with its own store, create experiments while two others search:
    every acknowledged experiment is found exactly once at the end."""
    setup = SqlStore.open(store_uri)
    Services.for_user(setup, "alice").projects.create("vision")
    created: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def create(worker: int) -> None:
        store = SqlStore.open(store_uri)
        try:
            services = Services.for_user(store, "alice")
            for i in range(15):
                exp = services.experiments.create(_spec(f"w{worker}-{i}"))
                with lock:
                    created.append(exp.id)
        except BaseException as err:
            errors.append(err)
        finally:
            store.close()

    def search() -> None:
        store = SqlStore.open(store_uri)
        try:
            services = Services.for_user(store, "alice")
            for _ in range(10):
                services.search.search("params.opt = 'adam'", limit=1000)
        except BaseException as err:
            errors.append(err)
        finally:
            store.close()

    threads = [threading.Thread(target=create, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=search) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    try:
        found = Services.for_user(setup, "alice").search.search("", limit=1000).items
        assert sorted(e.id for e in found) == sorted(created)
        assert len(created) == 60
    finally:
        setup.close()


def test_a_staged_row_that_cannot_be_read_stops_every_call_and_stays(
    services: Services, store: SqlStore
) -> None:
    services.experiments.create(_spec("a"))
    store.write(lambda conn: conn.execute(update(staged_experiments).values(document="{")))
    for call in (services.experiments.list, lambda: services.projects.create("other")):
        with pytest.raises(StoreUnavailable, match=r"audit event \d+ cannot be written") as err:
            call()
        assert "unreadable row" in err.value.message
        assert "mled audit verify" in str(err.value.hint)
    assert _staged(store) == 1


def test_a_staged_row_that_conflicts_stops_every_call_and_stays(
    services: Services, store: SqlStore
) -> None:
    """A staged experiment whose ID was given to another one by hand."""
    written = services.experiments.create(_spec("written"))
    services.experiments.get(written.id)
    services.experiments.create(_spec("staged"))

    def collide(conn: Connection) -> None:
        c = staged_experiments.c
        document, data = conn.execute(select(c.document, c.data)).one()
        rows = decode_staged(document, bytes(data))
        rows.row["public_id"] = written.id
        conn.execute(update(staged_experiments).values(document=encode_staged(rows)[0]))

    store.write(collide)
    with pytest.raises(StoreUnavailable, match=r"audit events \d+-\d+ cannot be written"):
        services.search.search("")
    assert _staged(store) == 1
