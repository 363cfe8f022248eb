"""Loading experiments by key: every chunk of ``IN_CHUNK`` keys, the order asked for, repeats
and unknown keys, on both backends (the statements go straight to each driver)."""

from __future__ import annotations

import pytest

from mled.entities import NewExperiment
from mled.service import Services
from mled.store.sql import loading
from mled.store.sql.loading import load_experiments
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import experiments


@pytest.fixture
def keys(services: Services, store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Seven experiments in two projects, and their keys; chunks of three keys."""
    monkeypatch.setattr(loading, "IN_CHUNK", 3)
    specs = [
        NewExperiment(
            project=f"p{i % 2}",
            name=f"run-{i}",
            status="finished",
            params={"i": i},
            tags={"t": str(i)},
            metrics={"m": ([0], [1.0], [i / 10])},
            started_at=1.0,
            ended_at=2.0,
        )
        for i in range(7)
    ]
    services.experiments.import_many(specs)
    return store.read(
        lambda conn: [r[0] for r in conn.execute(experiments.select().order_by(experiments.c.id))]
    )


@pytest.mark.parametrize("light", [True, False])
def test_loads_follow_the_keys_given_across_chunks(
    store: SqlStore, keys: list[int], light: bool
) -> None:
    wanted = [*reversed(keys), keys[2], 10**9]  # a repeat and a key that does not exist
    loaded = store.read(lambda conn: load_experiments(conn, wanted, light=light))
    assert [e.name for e in loaded] == [f"run-{i}" for i in (6, 5, 4, 3, 2, 1, 0, 2)]
    assert [e.project for e in loaded[:2]] == ["p0", "p1"]
    assert loaded[0].params == {"i": 6}
    assert loaded[0].tags == {"t": "6"}
    assert loaded[0].metrics == {"m": 0.6}


def test_no_keys_load_nothing(store: SqlStore) -> None:
    assert store.read(lambda conn: load_experiments(conn, [])) == []
