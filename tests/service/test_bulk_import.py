"""ExperimentService.import_many: the bulk path, audited and verifiable like single creates."""

from __future__ import annotations

import math

import pytest

from mled.entities import NewExperiment
from mled.errors import AlreadyExists, InvalidInput, InvalidKey, ProjectNotFound
from mled.ids import new_id
from mled.service import Services
from mled.service.context import ServiceContext
from mled.store.sql.store import SqlStore


def spec(i: int, **extra: object) -> NewExperiment:
    fields: dict = {
        "project": "bulk",
        "name": f"run-{i}",
        "status": "finished",
        "started_at": 1_700_000_000.0 + i,
        "ended_at": 1_700_000_060.0 + i,
        "params": {"lr": 0.1 * i, "opt": "adam" if i % 2 else "sgd", "layers": [i, 2]},
        "tags": {"team": "vision", "i": i},
        "metrics": {
            "acc": ([0, 1], [1.0, 2.0], [0.5, 0.5 + i / 100]),
            "loss": ([0], [1.0], [math.nan if i == 3 else 1.0 / (i + 1)]),
        },
    }
    fields.update(extra)
    return NewExperiment(**fields)  # type: ignore[arg-type]


def test_imported_experiments_equal_created_ones(services: Services) -> None:
    ids = services.experiments.import_many([spec(i) for i in range(25)], batch_size=10)
    assert len(ids) == len(set(ids)) == 25
    created = services.experiments.create(spec(7, project="single"))
    imported = services.experiments.get(ids[7])
    assert imported.params == created.params
    assert imported.tags == created.tags
    assert imported.metric_summaries == created.metric_summaries
    assert (imported.started_at, imported.ended_at) == (created.started_at, created.ended_at)
    history = services.metrics.history(ids[7], "acc")
    assert list(history.values) == [0.5, 0.5 + 7 / 100]
    assert math.isnan(services.experiments.get(ids[3]).metrics["loss"])
    found = services.search.search("params.opt = 'adam' and metrics.acc > 0.6", project="bulk")
    assert sorted(e.name for e in found.items) == sorted(
        f"run-{i}" for i in range(25) if i % 2 and 0.5 + i / 100 > 0.6
    )


def test_one_audit_event_per_experiment_and_verify_passes(services: Services) -> None:
    before = len(services.audit.events(limit=10_000))
    ids = services.experiments.import_many([spec(i) for i in range(12)], batch_size=5)
    events = services.audit.events(after_seq=before, limit=10_000)
    imports = [e for e in events if e.action == "experiment.import"]
    assert [e.object_id for e in imports] == ids
    assert imports[0].after["chunks"].keys() == {"acc", "loss"}
    assert imports[0].after["params"]["opt"] == ["str", "sgd"]
    report = services.audit.verify()
    assert report.ok, report.problems
    assert report.chunks_checked >= 24


def test_tampered_imported_metrics_are_detected(services: Services, store: SqlStore) -> None:
    services.experiments.import_many([spec(i) for i in range(3)])
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            'UPDATE metric_chunks SET "values" = "timestamps" '
            "WHERE id = (SELECT min(id) FROM metric_chunks)"
        )
    report = services.audit.verify()
    assert not report.ok
    assert report.problems[0].kind == "metric_tampered"


def test_retrying_an_import_stores_nothing_twice(services: Services, store: SqlStore) -> None:
    specs = [spec(i, id=new_id()) for i in range(6)]
    first = services.experiments.import_many(specs[:4])
    again = services.experiments.import_many(specs)
    assert again[:4] == first
    assert len(services.search.search("", project="bulk").items) == 6
    bob = services.users.create("bob")
    services.users.set_role("bulk", "bob", "data_scientist")
    as_bob = Services.for_context(ServiceContext(store=store, actor=bob))
    with pytest.raises(AlreadyExists):
        as_bob.experiments.import_many([specs[0]])


def test_invalid_specs_fail_before_anything_is_written(services: Services) -> None:
    bad = [spec(0), spec(1, params={"bad key!": 1})]
    with pytest.raises(InvalidKey):
        services.experiments.import_many(bad)
    with pytest.raises(InvalidInput):
        services.experiments.import_many([spec(0, status="paused")])
    with pytest.raises(InvalidInput):
        services.experiments.import_many([spec(0, ended_at=1.0)])
    with pytest.raises(InvalidInput):
        services.experiments.import_many([spec(0)], batch_size=0)
    same = new_id()
    with pytest.raises(InvalidInput):
        services.experiments.import_many([spec(0, id=same), spec(1, id=same)])
    assert services.search.search("").items == []


def test_non_admins_import_into_existing_projects_only(services: Services, store: SqlStore) -> None:
    services.projects.create("bulk")
    bob = services.users.create("bob")
    as_bob = Services.for_context(ServiceContext(store=store, actor=bob))
    with pytest.raises(ProjectNotFound):
        as_bob.experiments.import_many([spec(0, project="elsewhere")])
    services.users.set_role("bulk", "bob", "data_scientist")
    (eid,) = as_bob.experiments.import_many([spec(0)])
    assert services.experiments.get(eid).owner == "bob"


def _stat_rows(store: SqlStore) -> int:
    with store.engine.connect() as conn:
        if (
            conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
            is None
        ):
            return 0
        return int(conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() or 0)


def test_large_imports_refresh_the_planner_statistics(services: Services, store: SqlStore) -> None:
    small = [NewExperiment(project="bulk", name=f"s{i}", status="finished") for i in range(50)]
    services.experiments.import_many(small)
    if store.dialect == "sqlite":
        assert _stat_rows(store) == 0  # a small store needs none
    many = [NewExperiment(project="bulk", name=f"r{i}", status="finished") for i in range(2_100)]
    services.experiments.import_many(many)  # on PostgreSQL: VACUUM (ANALYZE), no error
    if store.dialect == "sqlite":
        assert _stat_rows(store) > 0
    assert len(services.search.search("name = 'r7'").items) == 1


def test_the_first_search_of_a_large_sqlite_store_gathers_statistics(
    sqlite_services: Services,
) -> None:
    store = sqlite_services.experiments._ctx.store
    specs = [NewExperiment(project="p", name=f"r{i}", status="finished") for i in range(2_100)]
    sqlite_services.experiments.import_many(specs)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE sqlite_stat1")
    fresh = SqlStore.open(store.uri)
    try:
        searcher = Services.for_user(fresh, "alice")
        assert _stat_rows(fresh) == 0
        assert len(searcher.search.search("name = 'r1'").items) == 1
        assert _stat_rows(fresh) > 0
    finally:
        fresh.close()


def test_batches_with_and_without_metrics_get_their_own_keys(services: Services) -> None:
    """Keys for experiments and metric rows are reserved together, a batch without metrics
    reserving none for them; every history must come back under its own experiment."""
    no_metrics = [spec(i, metrics={}) for i in range(3)]
    mixed = [spec(i, metrics={} if i % 2 else {"m": ([0], [1.0], [float(i)])}) for i in range(5)]
    first = services.experiments.import_many(no_metrics)
    second = services.experiments.import_many(mixed, batch_size=2)
    single = services.experiments.create(spec(9, metrics={"m": ([0], [1.0], [9.0])}))
    for exp_id in first:
        assert services.experiments.get(exp_id).metrics == {}
    for i, exp_id in enumerate(second):
        expected = {} if i % 2 else {"m": float(i)}
        assert services.experiments.get(exp_id).metrics == expected
        if not i % 2:
            assert list(services.metrics.history(exp_id, "m").values) == [float(i)]
    assert list(services.metrics.history(single.id, "m").values) == [9.0]
    assert services.audit.verify().ok
