"""``size_estimate``: the largest experiment key, read straight from each driver."""

from __future__ import annotations

from mled.entities import NewExperiment
from mled.service import Services
from mled.store.sql.keys import size_estimate
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import experiments


def test_size_estimate_is_the_largest_key(services: Services, store: SqlStore) -> None:
    assert store.read(size_estimate) == 0  # an empty store
    services.experiments.import_many([NewExperiment(project="p", name=f"r{i}") for i in range(5)])
    largest = store.read(lambda conn: max(r[0] for r in conn.execute(experiments.select())))
    assert store.read(size_estimate) == largest >= 5
