"""Migrations: an empty database upgrades to exactly the declared schema; the version guard."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from mled.entities import NewExperiment
from mled.errors import SchemaOutdated
from mled.migrations import HEAD_REVISION
from mled.query.compiler import compile_search
from mled.query.parser import parse_query
from mled.service import Services
from mled.store.sql.engine import create_store_engine, sql_url
from mled.store.sql.schema import MIGRATIONS_DIR, current_revision, upgrade
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import metadata


@pytest.fixture(params=["sqlite", "postgres"])
def empty_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database (a fresh PostgreSQL database, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    session_uri: str = request.getfixturevalue("pg_database")  # skips without a server
    server = session_uri.rsplit("/", 1)[0]
    name = f"mled_migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sql_url(session_uri), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def engine(empty_uri: str) -> Iterator[Engine]:
    eng = create_store_engine(empty_uri)
    yield eng
    eng.dispose()


def _execute(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def test_upgrading_an_empty_database_yields_exactly_the_declared_schema(engine: Engine) -> None:
    assert upgrade(engine) == (None, HEAD_REVISION)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        tables = set(inspect(conn).get_table_names())
    assert differences == []
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_declared_indexes_exist_after_upgrade(engine: Engine) -> None:
    """compare_metadata covers indexes; this names them so a failure is easy to read."""
    upgrade(engine)
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        declared = {ix.name for ix in table.indexes}
        present = {ix["name"] for ix in inspector.get_indexes(table.name)}
        assert declared <= present, table.name


def test_upgrade_is_idempotent(engine: Engine) -> None:
    upgrade(engine)
    assert upgrade(engine) == (HEAD_REVISION, HEAD_REVISION)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_opening_an_empty_database_creates_the_schema(empty_uri: str) -> None:
    SqlStore.open(empty_uri).close()
    eng = create_store_engine(empty_uri)
    try:
        with eng.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
    finally:
        eng.dispose()


def test_an_empty_database_is_not_created_without_auto_create(empty_uri: str) -> None:
    with pytest.raises(SchemaOutdated, match="is empty") as info:
        SqlStore.open(empty_uri, auto_create=False)
    assert "mled db upgrade" in info.value.hint


def test_head_revision_is_the_newest_migration_file() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_heads() == [HEAD_REVISION]
    files = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    revisions = {rev.revision for rev in scripts.walk_revisions()}
    assert len(revisions) == len(files)  # every file is one revision of a single chain
    newest = files[-1].read_text()
    assert re.search(rf'^revision = "{HEAD_REVISION}"$', newest, re.MULTILINE)


@pytest.mark.parametrize(
    ("stamp", "fragment", "hint"),
    [
        ("0000", f"has schema 0000; this MLED needs {HEAD_REVISION}", "mled db upgrade"),
        ("9999", "newer than this MLED", "pip install --upgrade mled"),
    ],
)
def test_a_store_at_another_revision_is_refused(
    empty_uri: str, engine: Engine, stamp: str, fragment: str, hint: str
) -> None:
    upgrade(engine)
    _execute(engine, f"UPDATE alembic_version SET version_num = '{stamp}'")
    with pytest.raises(SchemaOutdated) as info:
        SqlStore.open(empty_uri)
    err = info.value
    assert fragment in err.message
    assert hint in err.hint
    assert (err.code, err.status) == ("schema_outdated", 503)
    with engine.connect() as conn:  # refused means untouched
        assert current_revision(conn) == stamp


def test_a_database_with_foreign_tables_is_refused(empty_uri: str, engine: Engine) -> None:
    _execute(engine, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(SchemaOutdated, match="has tables but no MLED schema version") as info:
        SqlStore.open(empty_uri)
    assert "empty database" in info.value.hint
    assert set(inspect(engine).get_table_names()) == {"customers"}


_OPEN_SCRIPT = """
import sys, time
from pathlib import Path
from mled.store.sql.store import SqlStore
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
SqlStore.open(sys.argv[1]).close()
print("opened", flush=True)
"""


@pytest.mark.slow
def test_processes_opening_a_new_store_together_migrate_it_once(
    empty_uri: str, tmp_path: Path
) -> None:
    script = tmp_path / "open_store.py"
    script.write_text(_OPEN_SCRIPT)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), empty_uri, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:  # every interpreter has imported mled: start them together
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    assert all(out.strip() == "opened" for out, _ in results)
    eng = create_store_engine(empty_uri)
    try:
        with eng.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
            assert conn.execute(text("SELECT count(*) FROM audit_head")).scalar() == 1
    finally:
        eng.dispose()


def _migrate(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


PARAM_QUERIES = {
    "params.x = '0.5'": ["r0", "r1"],  # a float and a string that spells it
    "params.x = 'adam'": ["r2"],
    "params.x = 'true'": ["r3"],  # the bool, stored with the number 1
    "params.x > 1": ["r4", "r5"],
    "params.x in ('64', 'adam')": ["r2", "r4", "r5"],
    "params.x = '[1,2]'": ["r6"],
}


def _param_searches(uri: str) -> dict[str, list[str]]:
    store = SqlStore.open(uri)
    try:
        services = Services.for_user(store, "alice")
        return {q: sorted(e.name for e in services.search.search(q).items) for q in PARAM_QUERIES}
    finally:
        store.close()


def test_a_store_with_experiments_migrates_down_to_0001_and_up_again(
    empty_uri: str, engine: Engine
) -> None:
    """0002 makes the params value indexes partial; searches answer the same before, at
    0001 (the indexes hold every row) and after upgrading again."""
    store = SqlStore.open(empty_uri)
    services = Services.for_user(store, "alice")
    for i, value in enumerate([0.5, "0.5", "adam", True, 64, "64", [1, 2]]):
        spec = NewExperiment(project="p", name=f"r{i}", params={"x": value})
        services.experiments.create(spec)
    store.close()
    assert _param_searches(empty_uri) == PARAM_QUERIES

    _migrate(engine, "downgrade", "0001")
    with pytest.raises(SchemaOutdated):
        SqlStore.open(empty_uri)
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("params")}
    assert set(indexes) == {
        "ix_params_key_value_num_experiment_id",
        "ix_params_key_value_prefix_experiment_id",
    }
    assert all("WHERE" not in d for d in _index_definitions(engine).values())
    upgrade(engine)  # what `mled db upgrade` runs
    with engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
    definitions = _index_definitions(engine)
    assert set(definitions) == {
        "ix_params_key_value_num_experiment_id",
        "ix_params_key_value_prefix_experiment_id_value_num",
    }
    assert "value_num IS NOT NULL" in definitions["ix_params_key_value_num_experiment_id"]
    assert "value_num IS NULL" in definitions["ix_params_key_value_prefix_experiment_id_value_num"]
    assert _param_searches(empty_uri) == PARAM_QUERIES


def _index_definitions(engine: Engine) -> dict[str, str]:
    """The params value indexes' definitions, as the database shows them."""
    if engine.dialect.name == "sqlite":
        sql = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'params'"
    else:
        sql = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'params'"
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    return {name: definition for name, definition in rows if "value" in name}


CODE_POINT_COLUMNS = [
    ("params", "value_text"),
    ("params", "value_prefix"),
    ("tags", "value"),
    ("tags", "value_prefix"),
]


def _collations(engine: Engine) -> list[str | None]:
    """The declared collation of each of CODE_POINT_COLUMNS (None: the database's default)."""
    if engine.dialect.name == "sqlite":
        return [
            next(c.get("collation") for c in inspect(engine).get_columns(t) if c["name"] == name)
            for t, name in CODE_POINT_COLUMNS
        ]
    sql = (
        "SELECT collation_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = :table AND column_name = :column"
    )
    with engine.connect() as conn:
        return [
            conn.execute(text(sql), {"table": t, "column": c}).scalar()
            for t, c in CODE_POINT_COLUMNS
        ]


def _sorts_the_tag_window(engine: Engine) -> bool:
    """Whether the database sorts the rows of the walk's first window over ``tags.team``
    (rather than reading the tag index in order)."""
    search = compile_search(parse_query("order by tags.team"), limit=10, now=0.0)
    assert search.walk is not None
    window = search.walk.window(search.walk.lanes[0], None, 50)
    with engine.connect() as conn:
        sql = str(window.compile(conn, compile_kwargs={"literal_binds": True}))
        if engine.dialect.name == "sqlite":
            plan = [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            # One sort of the window's own few rows, after the join; another is the key's rows.
            return sum("TEMP B-TREE" in line for line in plan) > 1
        # Without statistics the planner may prefer a scan and a sort at any collation.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_sort = off"))
        plan = [str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {sql}")]
        return any("Sort" in line for line in plan)


def test_param_and_tag_texts_are_in_code_point_order_in_their_indexes(
    empty_uri: str, engine: Engine
) -> None:
    """0003 declares the text values ``COLLATE "C"`` on PostgreSQL, where the database's
    collation had kept the walk of a tag sort from reading the tag index in order."""
    store = SqlStore.open(empty_uri)
    services = Services.for_user(store, "alice")
    for i, team in enumerate(["vision", "nlp", "Audio", "émoji"]):
        services.experiments.create(NewExperiment(project="p", name=f"r{i}", tags={"team": team}))
    services.experiments.list()  # writes the staged experiments: 0004 refuses to drop them
    store.close()
    postgres = engine.dialect.name == "postgresql"
    assert _collations(engine) == ["C" if postgres else None] * 4
    assert not _sorts_the_tag_window(engine)

    _migrate(engine, "downgrade", "0002")
    assert _collations(engine) == [None] * 4
    assert _sorts_the_tag_window(engine) == postgres
    upgrade(engine)
    assert _collations(engine) == ["C" if postgres else None] * 4
    assert not _sorts_the_tag_window(engine)
    reopened = SqlStore.open(empty_uri)
    try:
        found = Services.for_user(reopened, "alice").search.search("order by tags.team")
        assert [e.tags["team"] for e in found.items] == ["Audio", "nlp", "vision", "émoji"]
    finally:
        reopened.close()


def test_downgrading_0004_refuses_to_drop_staged_experiments(
    empty_uri: str, engine: Engine
) -> None:
    """Staged experiments are acknowledged: the downgrade that would drop their table stops
    and says how to write them first."""
    store = SqlStore.open(empty_uri)
    services = Services.for_user(store, "alice")
    services.experiments.create(NewExperiment(project="p", name="staged"))
    store.close()
    with pytest.raises(RuntimeError, match="1 experiments are staged; run `mled experiments list`"):
        _migrate(engine, "downgrade", "0003")
    store = SqlStore.open(empty_uri)
    try:
        assert [e.name for e in Services.for_user(store, "alice").experiments.list()] == ["staged"]
    finally:
        store.close()
    _migrate(engine, "downgrade", "0003")
    with engine.connect() as conn:
        assert current_revision(conn) == "0003"


METRIC_QUERIES = {
    "metrics.loss.min < 0.2": ["r1"],
    "metrics.loss.max >= 1": ["r1", "r0"],  # newest first
    "metrics.loss.count = 3": ["r1"],
    "metrics.loss < 0.5 order by metrics.loss.max desc": ["r1", "r2"],
}
OLD_METRIC_INDEX = "ix_metrics_key_last_experiment_id"
NEW_METRIC_INDEX = "ix_metrics_key_last_experiment_id_min_max_count"


def _metric_searches(uri: str) -> dict[str, list[str]]:
    store = SqlStore.open(uri)
    try:
        search = Services.for_user(store, "alice").search.search
        return {q: [e.name for e in search(q).items] for q in METRIC_QUERIES}
    finally:
        store.close()


def _metric_index_state(engine: Engine) -> tuple[dict[str, list[str]], set[str]]:
    """The metrics value index's name and columns, and (SQLite) which metrics value index
    has planner statistics."""
    indexes = {
        i["name"]: [str(c) for c in i["column_names"]]
        for i in inspect(engine).get_indexes("metrics")
        if i["name"] and "last" in i["name"]
    }
    if engine.dialect.name != "sqlite":
        return indexes, set()
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT idx FROM sqlite_stat1 WHERE tbl = 'metrics'").all()
    return indexes, {str(r[0]) for r in rows if "last" in str(r[0])}


def test_0005_puts_min_max_and_count_in_the_metric_index_and_keeps_its_statistics(
    empty_uri: str, engine: Engine
) -> None:
    """Searches on metric extremes and counts answer the same at 0004 and after 0005, and a
    SQLite store that had statistics has them for whichever index it now has."""
    store = SqlStore.open(empty_uri)
    services = Services.for_user(store, "alice")
    for name, values in [("r0", [2.0, 1.0]), ("r1", [3.0, 0.1, 0.3]), ("r2", [0.4])]:
        steps = list(range(len(values)))
        metrics = {"loss": (steps, [1.7e9 + s for s in steps], values)}
        services.experiments.create(NewExperiment(project="p", name=name, metrics=metrics))
    services.experiments.list()  # writes the staged experiments: 0004 refuses to drop them
    store.close()
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    assert _metric_searches(empty_uri) == METRIC_QUERIES
    new_state = ({NEW_METRIC_INDEX: ["key", "last", "experiment_id", "min", "max", "count"]},)
    sqlite = engine.dialect.name == "sqlite"
    assert _metric_index_state(engine) == (*new_state, {NEW_METRIC_INDEX} if sqlite else set())

    _migrate(engine, "downgrade", "0004")
    old = {OLD_METRIC_INDEX: ["key", "last", "experiment_id"]}
    assert _metric_index_state(engine) == (old, {OLD_METRIC_INDEX} if sqlite else set())
    with engine.connect() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": HEAD_REVISION})
        conn.commit()
    assert _metric_searches(empty_uri) == METRIC_QUERIES  # the same answers from the old index
    with engine.connect() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        conn.commit()

    upgrade(engine)
    assert _metric_index_state(engine) == (*new_state, {NEW_METRIC_INDEX} if sqlite else set())
    assert _metric_searches(empty_uri) == METRIC_QUERIES
