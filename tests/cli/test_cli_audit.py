"""``mled audit verify``: a summary line when intact, one line per problem when tampered."""

from __future__ import annotations

import json

from mled_runner import Mled
from sqlalchemy import create_engine, text, update

from mled.sdk.client import Client
from mled.store.sql.engine import sql_url
from mled.store.sql.tables import metric_chunks


def tamper(uri: str, statement: str) -> None:
    """Change the store behind MLED's back, as an attacker with database access would."""
    engine = create_engine(sql_url(uri))
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_verify_intact_log(mled: Mled, seeded: Client) -> None:
    seeded.log_experiment("vision", "a", metrics={"loss": [0.5, 0.4], "acc": 0.9})
    report = seeded.verify_audit()
    result = mled("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"audit log intact: {report.events_checked} events, "
        f"{report.chunks_checked} metric chunks verified\n"
    )
    assert report.events_checked > 0
    assert report.chunks_checked == 2


def test_verify_json(mled: Mled, seeded: Client) -> None:
    seeded.create_project("vision")
    body = json.loads(mled("audit", "verify", "--json").stdout)
    assert body["ok"] is True
    assert body["problems"] == []
    assert body["events_checked"] >= 2


def test_verify_names_the_first_altered_event(mled: Mled, seeded: Client) -> None:
    seeded.create_project("vision")
    seeded.log_experiment("vision", "a", params={"lr": 0.1})
    tamper(mled.store_uri, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")

    result = mled("audit", "verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("altered: event 2 ")
    assert "audit verification failed: 1 problem(s)" in result.stderr

    body = json.loads(mled("audit", "verify", "--json").stdout)
    assert body["ok"] is False
    assert body["problems"][0]["seq"] == 2
    assert body["problems"][0]["kind"] == "altered"


def test_verify_names_the_experiment_and_metric_of_changed_values(
    mled: Mled, seeded: Client
) -> None:
    exp = seeded.log_experiment("vision", "a", metrics={"loss": [0.5, 0.4]})
    seeded.get_experiment(exp.id)  # a read writes the staged experiment's rows
    engine = create_engine(sql_url(mled.store_uri))
    with engine.begin() as conn:
        stored = conn.execute(metric_chunks.select()).one()
        changed = bytes(reversed(bytes(stored._mapping["values"])))
        conn.execute(update(metric_chunks).values({"values": changed}))
    engine.dispose()

    result = mled("audit", "verify")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith("metric_tampered: metric 'loss' of experiment ")
    assert exp.id in line


def test_verify_detects_deleted_events(mled: Mled, seeded: Client) -> None:
    seeded.create_project("vision")
    seeded.create_project("nlp")
    tamper(mled.store_uri, "DELETE FROM audit_events WHERE seq = 2")
    result = mled("audit", "verify")
    assert result.exit_code == 1
    assert "event 2 is missing" in result.stdout
