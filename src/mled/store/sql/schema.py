"""Schema version guard and migrations (Alembic, shipped inside the package).

A new, empty database is migrated automatically when first opened; a database at an older
revision is refused with the exact command that upgrades it, so that old code never writes to
a newer schema and new code never misreads an old one.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from mled.errors import SchemaOutdated
from mled.migrations import HEAD_REVISION
from mled.store.sql.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "migrations"
_ALEMBIC_LOCK = threading.Lock()  # alembic's module state is not thread-safe
MIGRATION_LOCK = 0x6D6C6564  # "mled": the PostgreSQL advisory lock held while migrating


def current_revision(conn: Connection) -> str | None:
    """The revision stamped in the database, or None for a database MLED never touched."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; return (revision before, revision after).

    Runs under the database's write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
    PostgreSQL) and re-reads the revision under it, so that processes opening a new store at
    the same moment migrate it exactly once instead of failing.
    """
    from alembic import command
    from alembic.config import Config

    with _ALEMBIC_LOCK, engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            before = current_revision(conn)
            if before != HEAD_REVISION:
                cfg = Config()
                cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
    return before, HEAD_REVISION


def ensure_schema(engine: Engine, uri: str, *, auto_create: bool = True) -> None:
    """Create the schema of a new database, or refuse one whose revision is not ours."""
    with engine.connect() as conn:
        revision = current_revision(conn)
        has_tables = bool(inspect(conn).get_table_names())
    if revision == HEAD_REVISION:
        return
    if revision is None and not has_tables and auto_create:
        upgrade(engine)
        return
    if revision is None and not has_tables:
        raise SchemaOutdated(
            f"the database at {redact(uri)} is empty: it has no MLED schema yet",
            hint=f"Create the schema with: mled db upgrade --store '{redact(uri)}'",
        )
    if revision is None:
        raise SchemaOutdated(
            f"the database at {redact(uri)} has tables but no MLED schema version",
            hint="Point MLED at an empty database or one created by MLED.",
        )
    if _is_newer(revision):
        raise SchemaOutdated(
            f"the store at {redact(uri)} has schema {revision}, newer than this MLED "
            f"({HEAD_REVISION})",
            hint="Upgrade MLED: pip install --upgrade mled",
        )
    raise SchemaOutdated(
        f"the store at {redact(uri)} has schema {revision}; this MLED needs {HEAD_REVISION}",
        hint=f"Back up the store, then run: mled db upgrade --store '{redact(uri)}'",
    )


def _is_newer(revision: str) -> bool:
    try:
        return int(revision) > int(HEAD_REVISION)
    except ValueError:
        return True


def redact(uri: str) -> str:
    """Hide a password in a database URI before it is shown to anyone."""
    if "://" not in uri or "@" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else uri
