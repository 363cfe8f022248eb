"""the metrics value index also holds min, max and count

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 23:40:00

Filters on ``metrics.K.min``, ``.max`` and ``.count`` read the ``(key, last, experiment_id)``
index for the key's rows and then each row itself; with the three columns appended they read
the index alone (every match of ``metrics.m0.max < 0.1`` at 100,000 experiments: 451 -> 51 ms
of SQL). On SQLite the new index gets statistics at once when the store has them: without a
row in ``sqlite_stat1`` the planner would rate it better than the params indexes and start q1
from the metric (60 -> 340 ms).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_INDEX = "ix_metrics_key_last_experiment_id"
NEW_INDEX = "ix_metrics_key_last_experiment_id_min_max_count"
OLD_COLUMNS = ["key", "last", "experiment_id"]
NEW_COLUMNS = [*OLD_COLUMNS, "min", "max", "count"]


def _swap(drop: str, create: str, columns: list[str]) -> None:
    op.drop_index(drop, table_name="metrics")
    op.create_index(create, "metrics", columns)
    _analyze_if_analyzed()


def _analyze_if_analyzed() -> None:
    """Re-analyze ``metrics`` on a SQLite store that has statistics (``ANALYZE`` sampled as
    ``mled.store.sql.keys.refresh_statistics`` samples it); a store without any is analyzed
    when it grows, as before."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's planner estimates a new index from the table's statistics
    analyzed = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if analyzed is not None:
        bind.exec_driver_sql("PRAGMA analysis_limit = 1000")
        bind.exec_driver_sql("ANALYZE metrics")


def upgrade() -> None:
    _swap(OLD_INDEX, NEW_INDEX, NEW_COLUMNS)


def downgrade() -> None:
    _swap(NEW_INDEX, OLD_INDEX, OLD_COLUMNS)
