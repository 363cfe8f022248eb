"""What every service call runs with: the store, the acting user, and a clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection

from mled.entities import User
from mled.errors import PermissionDenied
from mled.service.audit import AuditWriter
from mled.service.authorization import require_admin
from mled.store.sql.store import SqlStore

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceContext:
    """Explicit dependencies of the service layer (no globals, no environment reads)."""

    store: SqlStore
    actor: User
    clock: Callable[[], float] = field(default=time.time)

    def write(self, fn: Callable[[Connection, AuditWriter], T]) -> T:
        """Run ``fn`` as one transaction whose audit events commit with the change itself."""

        def run(conn: Connection) -> T:
            audit = AuditWriter.open(conn, self.actor.username, self.clock())
            result = fn(conn, audit)
            audit.close()
            return result

        try:
            return self.store.write(run)
        except PermissionDenied as err:
            self.record_denied(err)
            raise

    def read(self, fn: Callable[[Connection], T]) -> T:
        try:
            return self.store.read(fn)
        except PermissionDenied as err:
            self.record_denied(err)
            raise

    def require_admin(self, what: str) -> None:
        """Refuse (and audit the refusal) unless the actor is an admin; ``what`` names the act."""
        try:
            require_admin(self.actor, what)
        except PermissionDenied as err:
            self.record_denied(err)
            raise

    def record_denied(self, err: PermissionDenied) -> None:
        """Audit a refused action in its own transaction (the refused one rolled back)."""
        details = {"permission": err.details.get("permission"), "message": err.message}

        def run(conn: Connection) -> None:
            audit = AuditWriter.open(conn, self.actor.username, self.clock())
            target = str(err.details.get("project") or "-")[:64]
            audit.record("permission.denied", "project", target, after=details)
            audit.close()

        self.store.write(run)
