"""The shared MetaData and naming convention of every MLED table."""

from __future__ import annotations

from sqlalchemy import MetaData

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
