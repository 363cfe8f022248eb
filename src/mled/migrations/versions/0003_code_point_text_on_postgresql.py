"""param and tag values compare by code point on PostgreSQL (COLLATE "C")

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 13:30:00

Queries order and compare text by code point on every database (SQLite's ``BINARY``, which
is what the query language documents). On PostgreSQL they asked for it with ``COLLATE "C"``
on columns in the database's collation, so an index on those columns could find an equal
value but not serve a text range or a text sort: a search sorted by a tag or a string param
sorted every row of the key. Declaring the columns ``COLLATE "C"`` puts their indexes in the
order queries use. SQLite is unchanged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PREFIX_LENGTH = 200  # as mled.store.sql.tables.meta.PREFIX_LENGTH when this was written
COLUMNS: list[tuple[str, str, int | None]] = [  # table, column, length (None: TEXT)
    ("params", "value_text", None),
    ("params", "value_prefix", PREFIX_LENGTH),
    ("tags", "value", None),
    ("tags", "value_prefix", PREFIX_LENGTH),
]


def _type(length: int | None, collation: str | None) -> sa.types.TypeEngine[str]:
    return sa.Text(collation=collation) if length is None else sa.String(length, collation)


def _retype(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in COLUMNS:
        # PostgreSQL keeps the rows and rebuilds the column's indexes in the new collation.
        op.alter_column(
            table,
            column,
            type_=_type(length, collation),
            existing_type=_type(length, None),
            existing_nullable=False,
        )


def upgrade() -> None:
    _retype("C")


def downgrade() -> None:
    _retype(None)
