"""staged_experiments: experiments acknowledged by log_experiment, rows not yet written

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:00:00

``log_experiment`` commits an experiment's audit event and one row here; the experiment's
rows in the other tables are written in batches, before any other transaction reads or
writes the store (see ``mled.service.staging``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staged_experiments",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_staged_experiments")),
        sa.UniqueConstraint("public_id", name=op.f("uq_staged_experiments_public_id")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    staged = op.get_bind().execute(sa.text("SELECT count(*) FROM staged_experiments")).scalar()
    if staged:
        # Dropping the table would lose acknowledged experiments: any read with the newer
        # version writes them to the experiment tables first.
        raise RuntimeError(
            f"{staged} experiments are staged; run `mled experiments list` with this version "
            "of MLED before downgrading"
        )
    op.drop_table("staged_experiments")
