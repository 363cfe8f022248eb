"""The shared MetaData and naming convention of every MLED table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, String, Text, text
from sqlalchemy.types import TypeEngine

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

KEY_LENGTH = 250
NAME_LENGTH = 200
PREFIX_LENGTH = 200
"""Characters of a param/tag text value kept in the indexed ``value_prefix`` column."""

NUMBER_ROWS = "value_num IS NOT NULL"
"""The params rows of the ``(key, value_num)`` index: values with a number."""
TEXT_ROWS = "value_num IS NULL"
"""The params rows of the ``(key, value_prefix)`` index: the others."""


def code_point_text(length: int | None = None) -> TypeEngine[str]:
    """A text column that compares and sorts by code point on every database.

    SQLite's default collation (``BINARY``) already does; PostgreSQL's is the database's
    locale, so there the column is ``COLLATE "C"`` (migration 0003), and its indexes serve
    the query language's text ranges and sorts.

    Example:
        >>> from sqlalchemy.dialects import postgresql, sqlite
        >>> code_point_text(200).compile(dialect=postgresql.dialect())
        'VARCHAR(200) COLLATE "C"'
        >>> code_point_text().compile(dialect=sqlite.dialect())
        'TEXT'
    """
    base: TypeEngine[str] = Text() if length is None else String(length)
    on_postgresql = Text(collation="C") if length is None else String(length, collation="C")
    return base.with_variant(on_postgresql, "postgresql")


def partial(where: str) -> dict[str, Any]:
    """``Index`` keywords that keep only the rows where ``where`` holds, on both dialects.

    Example:
        >>> sorted(partial(NUMBER_ROWS))
        ['postgresql_where', 'sqlite_where']
    """
    clause = text(where)
    return {"sqlite_where": clause, "postgresql_where": clause}
