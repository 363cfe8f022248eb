"""Regenerate migration 0001 from ``mled.store.sql.tables`` (only until the first release).

After the first release the initial migration is frozen and schema changes get new revisions
(``alembic revision --autogenerate`` against a store at the previous head).

Usage: .venv/bin/python tools/regenerate_initial_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "src" / "mled" / "migrations"
SEED_HEAD = """    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.BigInteger),
            sa.column("hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
"""


def main() -> int:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/empty.db")
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    (path,) = (MIGRATIONS / "versions").glob("0001_*.py")
    lines = [
        line
        for line in path.read_text().splitlines(keepends=True)
        if "### commands auto generated" not in line and "### end Alembic" not in line
    ]
    text = "".join(lines)
    marker = "def upgrade() -> None:\n"
    body_start = text.index(marker) + len(marker)
    downgrade_at = text.index("def downgrade")
    upgrade_body = text[body_start:downgrade_at].rstrip() + "\n" + SEED_HEAD + "\n\n"
    text = text[:body_start] + upgrade_body + text[downgrade_at:]
    path.write_text(text)
    ruff = ROOT / ".venv" / "bin" / "ruff"
    subprocess.run([str(ruff), "format", "-q", str(path)], check=True)
    subprocess.run([str(ruff), "check", "-q", "--fix", str(path)], check=False)
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
