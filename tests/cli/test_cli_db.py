"""``mled db status|upgrade`` and ``mled.service.maintenance``.

Tests that change a store's schema run on SQLite copies only: the PostgreSQL database is
shared by the whole test session.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mled_runner import Mled
from sqlalchemy import create_engine, text

from mled.errors import SchemaOutdated
from mled.migrations import HEAD_REVISION
from mled.service.maintenance import known_revisions, store_status, upgrade_store
from mled.store.sql import schema

PROBE_TABLE = "cli_upgrade_probe"


def set_revision(sqlite_uri: str, revision: str) -> None:
    engine = create_engine(sqlite_uri)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def table_names(sqlite_uri: str) -> set[str]:
    engine = create_engine(sqlite_uri)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        names = {str(r[0]) for r in rows}
    engine.dispose()
    return names


def test_status_of_a_current_store(mled: Mled) -> None:
    result = mled("db", "status")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    body = json.loads(mled("db", "status", "--json").stdout)
    assert body["revision"] == body["head"] == HEAD_REVISION
    assert body["state"] == "current"
    assert body["usable"] is True
    assert body["dialect"] in {"sqlite", "postgresql"}


def test_upgrade_of_a_current_store_changes_nothing(mled: Mled) -> None:
    result = mled("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout
    body = json.loads(mled("db", "upgrade", "--json").stdout)
    assert body["before"] == body["after"] == HEAD_REVISION


def test_status_does_not_create_a_missing_store(mled_sqlite: Mled, tmp_path: Path) -> None:
    path = tmp_path / "new" / "mled.db"
    body = json.loads(mled_sqlite("db", "status", "--json", "--store", str(path)).stdout)
    assert body["state"] == "empty"
    assert body["revision"] is None
    assert not path.parent.exists()


def test_upgrade_creates_the_schema_of_an_empty_store(mled_sqlite: Mled, tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    result = mled_sqlite("db", "upgrade", "--store", f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert f"(empty) -> {HEAD_REVISION}" in result.stdout
    assert store_status(f"sqlite:///{path}").state == "current"


def test_unknown_revision_is_refused_and_cannot_be_upgraded(mled_sqlite: Mled) -> None:
    set_revision(mled_sqlite.store_uri, "0000")

    refused = mled_sqlite("experiments", "list")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error[schema_outdated]: ")
    assert "mled db upgrade" in refused.stderr
    assert "Traceback" not in refused.stderr

    status = mled_sqlite("db", "status", "--json")
    assert status.exit_code == 1
    assert json.loads(status.stdout)["state"] == "unknown"

    upgrade = mled_sqlite("db", "upgrade")
    assert upgrade.exit_code == 1
    assert upgrade.stderr.startswith("error[schema_outdated]: ")
    assert "'0000'" in upgrade.stderr
    assert "Traceback" not in upgrade.stderr


def test_newer_store_is_not_downgraded(mled_sqlite: Mled) -> None:
    set_revision(mled_sqlite.store_uri, "9999")
    assert json.loads(mled_sqlite("db", "status", "--json").stdout)["state"] == "newer"
    result = mled_sqlite("db", "upgrade")
    assert result.exit_code == 1
    assert "pip install --upgrade mled" in result.stderr


@pytest.fixture
def next_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Pretend this MLED ships one more migration (adding a table); return its revision."""
    migrations = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    revision = f"{int(HEAD_REVISION) + 1:04d}"
    (migrations / "versions" / f"{revision}_probe.py").write_text(
        f'''"""probe table added by the test of `mled db upgrade`"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{HEAD_REVISION}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("{PROBE_TABLE}", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("{PROBE_TABLE}")
''',
        encoding="utf-8",
    )
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", migrations)
    monkeypatch.setattr(schema, "HEAD_REVISION", revision)
    return revision


def test_upgrade_an_outdated_store(mled_sqlite: Mled, next_release: str) -> None:
    uri = mled_sqlite.store_uri
    assert known_revisions()[:2] == [next_release, HEAD_REVISION]

    refused = mled_sqlite("projects", "list")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error[schema_outdated]: ")
    assert f"has schema {HEAD_REVISION}; this MLED needs {next_release}" in refused.stderr
    assert f"mled db upgrade --store '{uri}'" in refused.stderr

    status = mled_sqlite("db", "status")
    assert status.exit_code == 1
    assert "outdated" in status.stdout
    assert "mled db upgrade" in status.stderr

    upgraded = mled_sqlite("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.strip() == f"upgraded {uri}: {HEAD_REVISION} -> {next_release}"
    assert PROBE_TABLE in table_names(uri)

    assert mled_sqlite("db", "status").exit_code == 0
    assert mled_sqlite("projects", "list").exit_code == 0


def test_upgrade_store_returns_before_and_after(sqlite_uri: str, next_release: str) -> None:
    assert store_status(sqlite_uri).state == "outdated"
    assert upgrade_store(sqlite_uri) == (HEAD_REVISION, next_release)
    assert upgrade_store(sqlite_uri) == (next_release, next_release)


def test_unversioned_database_is_refused(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(uri)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (id INTEGER)"))
    engine.dispose()
    assert store_status(uri).state == "unversioned"
    with pytest.raises(SchemaOutdated, match="no MLED schema version"):
        upgrade_store(uri)


def test_server_url_is_invalid_input(mled_sqlite: Mled) -> None:
    result = mled_sqlite("db", "status", "--store", "https://mled.example.com")
    assert result.exit_code == 2
    assert result.stderr.startswith("error[invalid_tracking_uri]: ")


def test_unreachable_database_is_store_unavailable(mled_sqlite: Mled) -> None:
    result = mled_sqlite("db", "status", "--store", "postgresql://nobody@127.0.0.1:1/mled")
    assert result.exit_code == 1
    assert result.stderr.startswith("error[store_unavailable]: ")
    assert len(result.stderr.splitlines()) == 2
