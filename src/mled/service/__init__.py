"""The service layer: the only writer. Validation, authorization, IDs and audit live here.

``Services`` composes one service per concept for one acting user.

Example:
    >>> services = Services.for_user(store, "alice")  # doctest: +SKIP
    >>> services.projects.create("vision").name  # doctest: +SKIP
    'vision'
"""

from __future__ import annotations

from dataclasses import dataclass

from mled.entities import NewExperiment
from mled.service.audit import AuditService
from mled.service.authentication import TokenService
from mled.service.context import ServiceContext
from mled.service.experiments import ExperimentService
from mled.service.metrics import MetricService
from mled.service.projects import ProjectService
from mled.service.users import UserService, ensure_local_user
from mled.store.sql.store import SqlStore

__all__ = ["NewExperiment", "ServiceContext", "Services"]


@dataclass(frozen=True)
class Services:
    projects: ProjectService
    experiments: ExperimentService
    metrics: MetricService
    audit: AuditService
    users: UserService
    tokens: TokenService

    @classmethod
    def for_context(cls, ctx: ServiceContext) -> Services:
        return cls(
            projects=ProjectService(ctx),
            experiments=ExperimentService(ctx),
            metrics=MetricService(ctx),
            audit=AuditService(ctx.store),
            users=UserService(ctx),
            tokens=TokenService(ctx),
        )

    @classmethod
    def for_user(cls, store: SqlStore, username: str) -> Services:
        """Services acting as ``username`` (registered on first use; the first user is admin)."""
        return cls.for_context(
            ServiceContext(store=store, actor=ensure_local_user(store, username))
        )
