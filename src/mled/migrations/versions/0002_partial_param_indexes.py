"""params value indexes hold each row once: numbers by value, other text by prefix

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:00:00

Each params row had an entry in both the ``(key, value_num)`` and the ``(key, value_prefix)``
index. Queries find a number's row through ``value_num`` (its text too), so each index now
keeps only its own rows: one index entry per param instead of two.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NUM_INDEX = "ix_params_key_value_num_experiment_id"
PREFIX_INDEX = "ix_params_key_value_prefix_experiment_id"
TEXT_INDEX = "ix_params_key_value_prefix_experiment_id_value_num"
NUM_COLUMNS = ["key", "value_num", "experiment_id"]
PREFIX_COLUMNS = ["key", "value_prefix", "experiment_id"]
# value_num, always NULL among these rows, makes the index cover the query's
# "value_num IS NULL AND value_prefix = ?" on SQLite.
TEXT_COLUMNS = [*PREFIX_COLUMNS, "value_num"]


def _partial(name: str, columns: list[str], condition: str) -> None:
    where = sa.text(condition)
    op.create_index(name, "params", columns, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.drop_index(NUM_INDEX, table_name="params")
    op.drop_index(PREFIX_INDEX, table_name="params")
    _partial(NUM_INDEX, NUM_COLUMNS, "value_num IS NOT NULL")
    _partial(TEXT_INDEX, TEXT_COLUMNS, "value_num IS NULL")


def downgrade() -> None:
    op.drop_index(NUM_INDEX, table_name="params")
    op.drop_index(TEXT_INDEX, table_name="params")
    op.create_index(NUM_INDEX, "params", NUM_COLUMNS)
    op.create_index(PREFIX_INDEX, "params", PREFIX_COLUMNS)
