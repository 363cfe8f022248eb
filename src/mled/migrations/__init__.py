"""Alembic migrations shipped with the package, and the schema-version guard.

``HEAD_REVISION`` must name the newest file in ``versions/``; a test checks it, and another
checks that upgrading an empty database yields exactly the tables of ``mled.store.sql.tables``.
"""

from __future__ import annotations

HEAD_REVISION = "0005"
