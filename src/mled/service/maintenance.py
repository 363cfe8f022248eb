"""Store maintenance: the schema revision of a store, and upgrading it (``mled db``).

These functions work on the database itself, before (or instead of) opening it as a store:
an outdated store cannot be opened, so checking and upgrading it must not need to.

Example:
    >>> status = store_status("sqlite:////tmp/mled-example.db")  # doctest: +SKIP
    >>> status.state, status.revision, status.head  # doctest: +SKIP
    ('current', '0004', '0004')
    >>> upgrade_store("sqlite:////tmp/mled-old.db")  # doctest: +SKIP
    ('0001', '0004')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from mled.errors import InvalidTrackingUri, SchemaOutdated, StoreUnavailable

if TYPE_CHECKING:
    from sqlalchemy import Engine

T = TypeVar("T")

SchemaState = Literal["current", "empty", "outdated", "newer", "unknown", "unversioned"]

_STATE_TEXT: dict[str, str] = {
    "current": "up to date",
    "empty": "empty: the schema is created when the store is first used",
    "outdated": "outdated: run `mled db upgrade`",
    "newer": "newer than this version of MLED: upgrade MLED",
    "unknown": "unknown revision: not one this version of MLED can upgrade",
    "unversioned": "has tables but no MLED schema version: not an MLED store",
}


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """Where a store's schema stands relative to this version of MLED.

    Attributes:
        uri: the store URI with any password hidden.
        dialect: ``sqlite`` or ``postgresql``.
        revision: the revision stamped in the database, None when it has none.
        head: the revision this version of MLED needs.
        state: ``current``, ``empty`` (created on first use), ``outdated`` (``mled db
            upgrade`` fixes it), ``newer`` (upgrade MLED), ``unknown`` (a revision no
            migration knows) or ``unversioned`` (tables that MLED did not create).
    """

    uri: str
    dialect: str
    revision: str | None
    head: str
    state: SchemaState

    @property
    def usable(self) -> bool:
        """True when MLED can open the store as it is (current, or empty and created on use)."""
        return self.state in ("current", "empty")

    @property
    def description(self) -> str:
        """The state in a few words, e.g. ``outdated: run `mled db upgrade```."""
        return _STATE_TEXT[self.state]


def store_status(uri: str) -> StoreStatus:
    """Report the schema revision of the database at ``uri`` without changing it.

    A SQLite file that does not exist yet is reported as ``empty`` and is not created.

    Example:
        >>> store_status("sqlite:////tmp/no-such-dir/mled.db").state  # doctest: +SKIP
        'empty'
    """
    from mled.store.sql import schema
    from mled.store.sql.engine import create_store_engine

    _check_database_uri(uri)
    if _missing_sqlite_file(uri):
        return StoreStatus(schema.redact(uri), "sqlite", None, schema.HEAD_REVISION, "empty")
    engine = create_store_engine(uri)
    try:
        return _status(engine, uri)
    finally:
        engine.dispose()


def upgrade_store(uri: str) -> tuple[str | None, str]:
    """Apply every pending migration to the store at ``uri``; return (before, after).

    ``before`` is None for an empty database (whose schema is then created). A store that is
    already current is left unchanged and ``(head, head)`` is returned.

    Raises:
        SchemaOutdated: the store is newer than this MLED, has a revision no migration knows,
            or holds tables that MLED did not create.
        StoreUnavailable: the database cannot be reached.

    Example:
        >>> upgrade_store("sqlite:////tmp/mled-old.db")  # doctest: +SKIP
        ('0001', '0004')
    """
    from mled.store.sql import schema
    from mled.store.sql.engine import create_store_engine

    _check_database_uri(uri)
    engine = create_store_engine(uri)
    try:
        status = _status(engine, uri)
        _refuse_unupgradable(status)
        if status.state == "current":
            return status.revision, status.head
        return _connected(uri, lambda: schema.upgrade(engine))
    finally:
        engine.dispose()


def _status(engine: Engine, uri: str) -> StoreStatus:
    from sqlalchemy import inspect

    from mled.store.sql import schema

    def read() -> tuple[str | None, bool]:
        with engine.connect() as conn:
            return schema.current_revision(conn), bool(inspect(conn).get_table_names())

    revision, has_tables = _connected(uri, read)
    head = schema.HEAD_REVISION
    return StoreStatus(
        schema.redact(uri), engine.dialect.name, revision, head, _state(revision, has_tables, head)
    )


def _state(revision: str | None, has_tables: bool, head: str) -> SchemaState:
    if revision is None:
        return "unversioned" if has_tables else "empty"
    if revision == head:
        return "current"
    if revision in known_revisions():
        return "outdated"
    try:
        return "newer" if int(revision) > int(head) else "unknown"
    except ValueError:
        return "unknown"


def known_revisions() -> list[str]:
    """Every revision the shipped migrations know, newest first.

    Example:
        >>> known_revisions()[-1]  # doctest: +SKIP
        '0001'
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mled.store.sql import schema

    cfg = Config()
    cfg.set_main_option("script_location", str(schema.MIGRATIONS_DIR))
    return [script.revision for script in ScriptDirectory.from_config(cfg).walk_revisions()]


def _refuse_unupgradable(status: StoreStatus) -> None:
    if status.state == "newer":
        raise SchemaOutdated(
            f"the store at {status.uri} has schema {status.revision}, newer than this MLED "
            f"({status.head}); it cannot be downgraded",
            hint="Upgrade MLED: pip install --upgrade mled",
        )
    if status.state == "unknown":
        raise SchemaOutdated(
            f"the store at {status.uri} has schema revision {status.revision!r}, which no "
            "migration of this MLED knows, so it cannot be upgraded",
            hint="Restore the store from a backup, or open it with the MLED that created it.",
        )
    if status.state == "unversioned":
        raise SchemaOutdated(
            f"the database at {status.uri} has tables but no MLED schema version",
            hint="Point MLED at an empty database or one created by MLED.",
        )


def _connected(uri: str, fn: Callable[[], T]) -> T:
    """Run ``fn``, turning a database that cannot be reached into StoreUnavailable."""
    from sqlalchemy.exc import OperationalError

    from mled.store.sql.schema import redact

    try:
        return fn()
    except OperationalError as err:
        reason = " ".join(str(err.orig).split())  # driver messages span several lines
        raise StoreUnavailable(f"could not use the database at {redact(uri)}: {reason}") from err


def _check_database_uri(uri: str) -> None:
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in {"http", "https"}:
        raise InvalidTrackingUri(
            f"{uri!r} is a server URL; `mled db` works on the database itself",
            hint="Run the command on the server host with --store set to its database URI.",
        )


def _missing_sqlite_file(uri: str) -> bool:
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return False
    path = uri[len(prefix) :].split("?", 1)[0]
    return path not in ("", ":memory:") and not Path(path).expanduser().exists()


def display_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***``, safe to print.

    Example:
        >>> display_uri("postgresql://mled:secret@db/mled")
        'postgresql://mled:***@db/mled'
    """
    from mled.store.sql.schema import redact

    return redact(uri)
