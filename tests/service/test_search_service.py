"""SearchService against the reference evaluator, on SQLite and PostgreSQL.

Experiments are created through the service (several owners, projects, creation times set by
the context's clock), so these tests cover the write path, the compiled SQL, pagination and
the loading of result entities together. The queries are the generated ones of tests/query.
"""

from __future__ import annotations

import random
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "query"))

from query_dataset import (
    DAY,
    GROUPS,
    METRIC_KEYS,
    METRIC_VALUES,
    NAMES,
    OWNERS,
    PARAM_KEYS,
    PROJECTS,
    STATUSES,
    TAG_KEYS,
    TEXTS,
    _param_value,
)
from query_factories import BASE
from query_strategies import NOW, queries

from mled.entities import Experiment, NewExperiment, User
from mled.errors import (
    InvalidInput,
    PermissionDenied,
    ProjectNotFound,
    QuerySyntaxError,
)
from mled.query.ast import Query
from mled.query.evaluate import evaluate
from mled.query.render import to_text
from mled.service import Services
from mled.service.context import ServiceContext
from mled.store.sql.store import SqlStore


def acting(store: SqlStore, user: User, clock: float = NOW) -> Services:
    """Services acting as ``user`` with a clock stopped at ``clock``."""
    return Services.for_context(ServiceContext(store=store, actor=user, clock=lambda: clock))


@dataclass
class World:
    """A store with several users and projects, and the experiments created in it."""

    store: SqlStore
    users: dict[str, User]
    experiments: list[Experiment]

    def as_user(self, name: str, clock: float = NOW) -> Services:
        return acting(self.store, self.users[name], clock)


def random_spec(rnd: random.Random, project: str) -> tuple[NewExperiment, float]:
    """A varied experiment (the value pools of tests/query) and the time it is created."""
    created = BASE + rnd.randrange(-5, 5) * DAY + rnd.choice([0, 1, 3600])
    status = rnd.choice(STATUSES)
    started = rnd.choice([None, created, created + 10])
    ended = None
    if status != "running" and started is not None and rnd.random() < 0.7:
        ended = started + rnd.randrange(0, 9000)
    metrics = {}
    for key in METRIC_KEYS:
        if rnd.random() < 0.7:
            values = [rnd.choice(METRIC_VALUES) for _ in range(rnd.randrange(1, 4))]
            n = len(values)
            metrics[key] = (list(range(n)), [float(BASE)] * n, values)
    commit, branch = rnd.choice([None, "abc123", "ABC999", "def"]), rnd.choice([None, "main"])
    spec = NewExperiment(
        project=project,
        name=rnd.choice(NAMES),
        status=status,
        started_at=started,
        ended_at=ended,
        group=rnd.choice(GROUPS),
        params={k: _param_value(rnd) for k in PARAM_KEYS if rnd.random() < 0.7},
        tags={k: rnd.choice(TEXTS) for k in TAG_KEYS if rnd.random() < 0.7},
        metrics=metrics,
        source=None if commit is None and branch is None else {"commit": commit, "branch": branch},
    )
    return spec, created


def make_world(services: Services, store: SqlStore, size: int, seed: int = 11) -> World:
    admin = services.users.list()[0]
    users = {admin.username: admin}
    for project in PROJECTS:
        services.projects.create(project)
    for name in OWNERS:
        if name not in users:
            users[name] = services.users.create(name)
        for project in PROJECTS:
            if name != admin.username:
                services.users.set_role(project, name, "data_scientist")
    rnd = random.Random(seed)
    ids = []
    for _ in range(size):
        owner = rnd.choice(OWNERS)
        spec, created = random_spec(rnd, rnd.choice(PROJECTS))
        ids.append(acting(store, users[owner], created).experiments.create(spec).id)
    return World(store, users, [services.experiments.get(i) for i in ids])


@pytest.fixture
def world(services: Services, store: SqlStore) -> World:
    return make_world(services, store, size=70)


def search_ids(services: Services, query: Query | str, page_size: int) -> list[str]:
    text = query if isinstance(query, str) else to_text(query)
    return [e.id for e in services.search.search_all(text, limit=page_size)]


def expected_ids(world: World, query: Query) -> list[str]:
    return [e.id for e in evaluate(query, world.experiments, now=NOW, datasets=lambda e: [])]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, page_size=st.integers(1, 30))
def test_search_matches_the_reference_evaluator(world: World, query: Query, page_size: int) -> None:
    admin = world.as_user("alice")
    assert search_ids(admin, query, page_size) == expected_ids(world, query), to_text(query)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), data=st.data())
def test_random_populations_match_the_reference_evaluator(
    services: Services, store: SqlStore, seed: int, data: st.DataObject
) -> None:
    """Each example creates its own random experiments, in a project of their own."""
    project = f"population-{uuid.uuid4().hex[:12]}"
    rnd = random.Random(seed)
    ids = []
    for _ in range(rnd.randrange(1, 12)):
        spec, created = random_spec(rnd, project)
        alice = services.users.list()[0]
        ids.append(acting(store, alice, created).experiments.create(spec).id)
    created_here = [services.experiments.get(i) for i in ids]
    admin = acting(store, services.users.list()[0])
    for _ in range(5):
        query = data.draw(queries)
        expected = evaluate(query, created_here, now=NOW, datasets=lambda e: [])
        got = admin.search.search_all(to_text(query), project=project, limit=4)
        assert [e.id for e in got] == [e.id for e in expected], to_text(query)


def test_search_returns_light_entities_equal_to_get(world: World) -> None:
    admin = world.as_user("alice")
    found = {e.id: e for e in admin.search.search_all("", limit=25)}
    assert len(found) == len(world.experiments)
    for full in world.experiments:
        light = found[full.id]
        assert light.source is None
        assert light.command is None
        assert light.environment is None
        assert light.params == full.params
        assert light.tags == full.tags
        assert light.metric_summaries.keys() == full.metric_summaries.keys()
        for key, summary in full.metric_summaries.items():
            assert repr(light.metric_summaries[key]) == repr(summary)
        assert (light.name, light.owner, light.project, light.group) == (
            full.name,
            full.owner,
            full.project,
            full.group,
        )
        assert (light.created_at, light.started_at, light.ended_at) == (
            full.created_at,
            full.started_at,
            full.ended_at,
        )


def test_params_of_every_type_come_back_exactly(services: Services) -> None:
    values = {
        "s": "adam",
        "quote": 'a"b\\c\u2028é😀',
        "numeric_text": "1e-3",
        "i": -(2**70),
        "f": 0.1 + 0.2,
        "tiny": 5e-324,
        "inf": float("inf"),
        "ninf": float("-inf"),
        "t": True,
        "no": False,
        "j": {"b": [1, 2.5, None], "a": "x"},
        "null": None,
        "long": "x" * 300,
    }
    exp = services.experiments.create(NewExperiment(project="p", name="types", params=values))
    (found,) = services.search.search("params.s = 'adam'").items
    assert found.id == exp.id
    assert found.params == exp.params == services.experiments.get(exp.id).params
    assert type(found.params["i"]) is int
    assert type(found.params["f"]) is float
    assert found.params["f"] == 0.1 + 0.2
    assert found.params["tiny"] == 5e-324


def test_long_text_values_match_in_full(services: Services) -> None:
    head = "y" * 250
    for suffix in ("a", "b"):
        services.experiments.create(
            NewExperiment(project="p", name=suffix, params={"cfg": head + suffix})
        )
    hits = services.search.search(f"params.cfg = '{head}b'").items
    assert [e.name for e in hits] == ["b"]
    assert services.search.search(f"params.cfg = '{head}'").items == []


def test_page_size_and_tokens(services: Services) -> None:
    for i in range(7):
        services.experiments.create(NewExperiment(project="p", name=f"r{i}", params={"i": i}))
    page = services.search.search("order by params.i", limit=3)
    assert [e.params["i"] for e in page.items] == [0, 1, 2]
    assert page.next_page_token is not None
    following = services.search.search(
        "order by params.i", limit=3, page_token=page.next_page_token
    )
    assert [e.params["i"] for e in following.items] == [3, 4, 5]
    with pytest.raises(InvalidInput):
        services.search.search("order by name", page_token=page.next_page_token)
    for bad in (0, 10_001, True):
        with pytest.raises(InvalidInput):
            services.search.search("", limit=bad)


def test_order_by_argument(services: Services) -> None:
    for i in (3, 1, 2):
        services.experiments.create(
            NewExperiment(project="p", name=f"r{i}", metrics={"acc": ([0], [1.0], [i / 10])})
        )
    got = services.search.search("metrics.acc > 0", order_by=["metrics.acc DESC"]).items
    assert [e.name for e in got] == ["r3", "r2", "r1"]
    with pytest.raises(InvalidInput, match="given twice"):
        services.search.search("order by name", order_by=["name"])


def test_bad_queries_raise_query_syntax_errors(services: Services) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        services.search.search("metrics.acc > ")
    assert "^" in caught.value.message
    with pytest.raises(QuerySyntaxError, match=r"did you mean `metrics\.acc`"):
        services.search.search("metric.acc > 1")


def test_project_restriction_for_non_admins(services: Services, store: SqlStore) -> None:
    services.projects.create("open")
    services.projects.create("secret")
    bob = services.users.create("bob")
    services.users.set_role("open", "bob", "auditor")
    services.experiments.create(NewExperiment(project="open", name="visible"))
    services.experiments.create(NewExperiment(project="secret", name="hidden"))
    as_bob = acting(store, bob)
    assert [e.name for e in as_bob.search.search("").items] == ["visible"]
    assert [e.name for e in as_bob.search.search("", project="open").items] == ["visible"]
    assert as_bob.search.search("name = 'hidden'").items == []
    with pytest.raises(PermissionDenied):
        as_bob.search.search("", project="secret")
    with pytest.raises(ProjectNotFound):
        as_bob.search.search("", project="nope")
    assert {e.name for e in services.search.search("").items} == {"visible", "hidden"}
    outsider = acting(store, services.users.create("carol"))
    assert outsider.search.search("").items == []


def test_search_all_streams_every_page(services: Services) -> None:
    specs = [NewExperiment(project="p", name=f"r{i}", status="finished") for i in range(23)]
    services.experiments.import_many(specs, batch_size=10)
    pages = list(services.search.search_pages("order by name", limit=5))
    assert [len(p.items) for p in pages] == [5, 5, 5, 5, 3]
    assert pages[-1].next_page_token is None
    names = [e.name for p in pages for e in p.items]
    assert names == sorted(f"r{i}" for i in range(23))
    assert [e.name for e in services.search.search_all("order by name", limit=7)] == names
