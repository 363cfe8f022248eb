"""The hash-chained audit log: verification passes untouched and names every kind of tampering.

Tampering is done the way an attacker with database access would: directly in SQL.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import pytest
from sqlalchemy import Connection, Engine, delete, func, select, update

from mled.entities import AuditReport, NewExperiment
from mled.service import Services
from mled.store.sql.audit import read_head
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import audit_events, experiments, metric_chunks, metrics


@dataclass(frozen=True)
class Logged:
    """A store with some history: two experiments, params, tags, three metric batches."""

    experiment_id: str
    other_id: str
    events: int


@pytest.fixture
def logged(services: Services) -> Logged:
    svc = services.experiments
    exp = svc.create(NewExperiment(project="vision", name="resnet", params={"lr": 0.1}))
    other = svc.create(NewExperiment(project="vision", name="vit", tags={"team": "cv"}))
    t = time.time()
    services.metrics.log_batch(exp.id, {"loss": ([0, 1], [t, t], [0.9, 0.7])})
    services.metrics.log_batch(
        exp.id, {"loss": ([2, 3], [t, t], [0.5, 0.4]), "acc": ([3], [t], [0.8])}
    )
    services.metrics.log_batch(other.id, {"loss": ([0], [t], [1.0])})
    svc.set_tags(exp.id, {"stage": "a"})
    svc.set_tags(exp.id, {"stage": "b"})
    svc.end(exp.id, "finished")
    count = len(services.audit.events(limit=1000))
    return Logged(exp.id, other.id, count)


def _in_sql(store: SqlStore, change: Callable[[Connection], object]) -> None:
    engine: Engine = store.engine
    with engine.begin() as conn:
        change(conn)


def _only_problem(report: AuditReport) -> tuple[str, int | None, str]:
    assert not report.ok
    assert report.problems, report
    first = report.problems[0]
    return first.kind, first.seq, first.message


def test_an_untouched_store_verifies(services: Services, logged: Logged) -> None:
    report = services.audit.verify()
    assert report.ok, report.problems
    assert report.problems == []
    assert report.events_checked == logged.events >= 8
    assert report.chunks_checked == 4


def test_an_empty_store_verifies(services: Services) -> None:
    report = services.audit.verify()
    assert report.ok
    assert report.chunks_checked == 0


def test_events_are_contiguous_and_linked(services: Services, logged: Logged) -> None:
    events = services.audit.events(limit=1000)
    assert [e.seq for e in events] == list(range(1, logged.events + 1))
    assert events[0].prev_hash == "0" * 64
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
        assert after.time >= before.time


@pytest.mark.parametrize(
    "column_values",
    [
        {"actor": "mallory"},
        {"after": '{"status":"failed"}'},
        {"time": 0.0},
        {"action": "experiment.delete"},
    ],
    ids=["actor", "after", "time", "action"],
)
def test_an_updated_event_is_named(
    store: SqlStore, services: Services, logged: Logged, column_values: dict[str, object]
) -> None:
    target = logged.events - 2
    _in_sql(
        store,
        lambda c: c.execute(
            update(audit_events).where(audit_events.c.seq == target).values(**column_values)
        ),
    )
    kind, seq, message = _only_problem(services.audit.verify())
    assert (kind, seq) == ("altered", target)
    assert f"event {target} " in message
    assert "altered" in message


def test_an_updated_event_with_a_recomputed_hash_breaks_the_next_link(
    store: SqlStore, services: Services, logged: Logged
) -> None:
    """Rewriting an event and its own hash still breaks the chain at the following event."""
    from mled.service.audit import event_hash

    target = 3

    def rewrite(conn: Connection) -> None:
        row = conn.execute(select(audit_events).where(audit_events.c.seq == target)).one()
        forged = event_hash(
            row.seq,
            row.time,
            "mallory",
            row.action,
            row.object_type,
            row.object_id,
            row.before,
            row.after,
            row.prev_hash,
        )
        conn.execute(
            update(audit_events)
            .where(audit_events.c.seq == target)
            .values(actor="mallory", hash=forged)
        )

    _in_sql(store, rewrite)
    kind, seq, message = _only_problem(services.audit.verify())
    assert (kind, seq) == ("reordered", target + 1)
    assert f"event {target + 1} does not follow event {target}" in message


def test_a_deleted_middle_event_is_named(
    store: SqlStore, services: Services, logged: Logged
) -> None:
    target = logged.events // 2
    _in_sql(store, lambda c: c.execute(delete(audit_events).where(audit_events.c.seq == target)))
    kind, seq, message = _only_problem(services.audit.verify())
    assert kind == "missing"
    assert f"event {target} is missing" in message
    assert seq == target + 1  # the first stored event after the gap


def test_a_deleted_first_event_is_named(
    store: SqlStore, services: Services, logged: Logged
) -> None:
    _in_sql(store, lambda c: c.execute(delete(audit_events).where(audit_events.c.seq == 1)))
    kind, _, message = _only_problem(services.audit.verify())
    assert kind == "missing"
    assert "event 1 is missing" in message


@pytest.mark.parametrize("count", [1, 3])
def test_deleting_the_newest_events_is_a_head_mismatch(
    store: SqlStore, services: Services, logged: Logged, count: int
) -> None:
    newest = logged.events
    _in_sql(
        store,
        lambda c: c.execute(delete(audit_events).where(audit_events.c.seq > newest - count)),
    )
    kind, seq, message = _only_problem(services.audit.verify())
    assert kind == "truncated"
    assert seq == newest - count
    assert f"ends at event {newest - count}" in message
    assert f"records event {newest}" in message


def _swap_contents(first: int, second: int) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        rows = {
            r.seq: dict(r._mapping)
            for r in conn.execute(
                select(audit_events).where(audit_events.c.seq.in_([first, second]))
            )
        }
        for seq, other in ((first, second), (second, first)):
            values = {k: v for k, v in rows[other].items() if k != "seq"}
            conn.execute(update(audit_events).where(audit_events.c.seq == seq).values(**values))

    return run


def _swap_seq(first: int, second: int) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        col = audit_events.c.seq
        conn.execute(update(audit_events).where(col == first).values(seq=-1))
        conn.execute(update(audit_events).where(col == second).values(seq=first))
        conn.execute(update(audit_events).where(col == -1).values(seq=second))

    return run


@pytest.mark.parametrize("swap", [_swap_contents, _swap_seq], ids=["contents", "seq"])
def test_reordered_events_are_named(
    store: SqlStore,
    services: Services,
    logged: Logged,
    swap: Callable[[int, int], Callable[[Connection], None]],
) -> None:
    _in_sql(store, swap(4, 6))
    kind, seq, message = _only_problem(services.audit.verify())
    assert (kind, seq) == ("reordered", 4)
    assert "event 4 does not follow event 3" in message


def _chunk_of(conn: Connection, experiment_id: str, key: str) -> int:
    return conn.execute(
        select(func.min(metric_chunks.c.id))
        .join(metrics, metrics.c.id == metric_chunks.c.metric_id)
        .join(experiments, experiments.c.id == metrics.c.experiment_id)
        .where(experiments.c.public_id == experiment_id, metrics.c.key == key)
    ).scalar_one()


@pytest.mark.parametrize("also_fix_digest", [False, True], ids=["values", "values+digest"])
def test_a_metric_value_changed_in_sql_names_experiment_and_key(
    store: SqlStore, services: Services, logged: Logged, also_fix_digest: bool
) -> None:
    from mled.store.sql.codec import chunk_digest

    def tamper(conn: Connection) -> None:
        chunk = _chunk_of(conn, logged.experiment_id, "loss")
        row = conn.execute(select(metric_chunks).where(metric_chunks.c.id == chunk)).one()
        forged = struct.pack("<d", 0.01) + bytes(row._mapping["values"])[8:]  # 0.9 -> 0.01
        values: dict[str, object] = {"values": forged}
        if also_fix_digest:
            values["digest"] = chunk_digest(bytes(row.steps), bytes(row.timestamps), forged)
        conn.execute(update(metric_chunks).where(metric_chunks.c.id == chunk).values(**values))

    _in_sql(store, tamper)
    assert services.metrics.history(logged.experiment_id, "loss").values[0] == 0.01
    report = services.audit.verify()
    assert not report.ok
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.kind == "metric_tampered"
    assert (problem.experiment_id, problem.metric) == (logged.experiment_id, "loss")
    assert logged.experiment_id in problem.message
    assert "'loss'" in problem.message


def test_a_deleted_metric_chunk_is_reported_missing(
    store: SqlStore, services: Services, logged: Logged
) -> None:
    def drop(conn: Connection) -> None:
        chunk = _chunk_of(conn, logged.experiment_id, "acc")
        conn.execute(delete(metric_chunks).where(metric_chunks.c.id == chunk))

    _in_sql(store, drop)
    report = services.audit.verify()
    assert not report.ok
    assert [(p.kind, p.metric) for p in report.problems] == [("metric_missing", "acc")]


def test_new_events_after_verification_keep_the_chain_valid(
    services: Services, logged: Logged
) -> None:
    assert services.audit.verify().ok
    services.experiments.set_tags(logged.other_id, {"team": "nlp"})
    report = services.audit.verify()
    assert report.ok
    assert report.events_checked == logged.events + 1


def test_a_creation_is_one_event_that_moves_the_head(services: Services, store: SqlStore) -> None:
    services.projects.create("vision")
    before = services.audit.events(limit=1000)
    exp = services.experiments.create(
        NewExperiment(
            project="vision",
            name="resnet",
            params={"lr": 0.1, "opt": "adam"},
            tags={"team": "cv"},
            metrics={"loss": ([0, 1], [1.0, 2.0], [0.5, float("nan")])},
        )
    )
    (event,) = services.audit.events(after_seq=before[-1].seq, limit=1000)
    assert (event.seq, event.prev_hash) == (before[-1].seq + 1, before[-1].hash)
    assert (event.action, event.object_type, event.object_id) == (
        "experiment.create",
        "experiment",
        exp.id,
    )
    assert event.after["params"] == {"lr": ["float", "0.1"], "opt": ["str", "adam"]}
    assert event.after["tags"] == {"team": "cv"}
    assert event.after["points"] == 2
    assert set(event.after["chunks"]) == {"loss"}
    with store.engine.connect() as conn:
        head = read_head(conn)
        created = conn.execute(
            select(experiments.c.created_at).where(experiments.c.public_id == exp.id)
        ).scalar_one()
        chunk_seq = conn.execute(select(metric_chunks.c.audit_seq)).scalar_one()
    assert head == (event.seq, event.hash)
    assert event.time == created  # the event and the row share the transaction's clock
    assert chunk_seq == event.seq
    assert services.audit.verify().ok
