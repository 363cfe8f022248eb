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
from mled.service.staging import write_staged
from mled.store.sql.staged import has_staged
from mled.store.sql.store import SqlStore

T = TypeVar("T")


class _Staged:
    """What a read returns instead of running when experiments are staged."""


@dataclass(frozen=True)
class ServiceContext:
    """Explicit dependencies of the service layer (no globals, no environment reads)."""

    store: SqlStore
    actor: User
    clock: Callable[[], float] = field(default=time.time)

    def write(self, fn: Callable[[Connection, AuditWriter], T], *, staged_first: bool = True) -> T:
        """Run ``fn`` as one transaction whose audit events commit with the change itself.

        The transaction first writes the staged experiments (see :mod:`mled.service.staging`)
        unless ``staged_first`` is false, which only a creation that stages may ask.
        """

        def run(conn: Connection) -> T:
            audit = AuditWriter.open(conn, self.actor.username, self.clock())
            if staged_first:
                write_staged(conn)
            result = fn(conn, audit)
            audit.close()
            return result

        try:
            return self.store.write(run)
        except PermissionDenied as err:
            self.record_denied(err)
            raise

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` as one read transaction (a consistent snapshot).

        If experiments are staged, a write transaction writes them first, so a read never
        misses an acknowledged experiment.
        """
        staged = _Staged()
        try:
            result = self.store.read(lambda conn: staged if has_staged(conn) else fn(conn))
            if isinstance(result, _Staged):
                self.write(lambda conn, audit: None)
                return self.store.read(fn)
            return result
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
