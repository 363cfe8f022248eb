"""The shared MetaData and naming convention of every MLED table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, text

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


def partial(where: str) -> dict[str, Any]:
    """``Index`` keywords that keep only the rows where ``where`` holds, on both dialects.

    Example:
        >>> sorted(partial(NUMBER_ROWS))
        ['postgresql_where', 'sqlite_where']
    """
    clause = text(where)
    return {"sqlite_where": clause, "postgresql_where": clause}
