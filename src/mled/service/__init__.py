"""The service layer: the only writer. Validation, authorization, IDs and audit live here.

``Services`` composes one service per concept for one acting user.

Example:
    >>> services = Services.for_user(store, "alice")  # doctest: +SKIP
    >>> services.projects.create("vision").name  # doctest: +SKIP
    'vision'
"""

from __future__ import annotations

from dataclasses import dataclass

from mled.artifacts.blobstore import BlobStore
from mled.entities import NewExperiment
from mled.service.artifact_gc import ArtifactGcService
from mled.service.artifacts import ArtifactService
from mled.service.audit import AuditService
from mled.service.authentication import TokenService
from mled.service.compare import CompareService
from mled.service.context import ServiceContext
from mled.service.datasets import DatasetService
from mled.service.experiments import ExperimentService
from mled.service.lineage import LineageService
from mled.service.metrics import MetricService
from mled.service.models import ModelService
from mled.service.projects import ProjectService
from mled.service.search import SearchService
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
    artifacts: ArtifactService
    artifact_gc: ArtifactGcService
    datasets: DatasetService
    models: ModelService
    lineage: LineageService
    search: SearchService
    compare: CompareService

    @classmethod
    def for_context(cls, ctx: ServiceContext, blobs: BlobStore | None = None) -> Services:
        """Every service for ``ctx``; ``blobs`` is the artifact store (None: none configured)."""
        return cls(
            projects=ProjectService(ctx),
            experiments=ExperimentService(ctx),
            metrics=MetricService(ctx),
            audit=AuditService(ctx),
            users=UserService(ctx),
            tokens=TokenService(ctx),
            artifacts=ArtifactService(ctx, blobs),
            artifact_gc=ArtifactGcService(ctx, blobs),
            datasets=DatasetService(ctx, blobs),
            models=ModelService(ctx),
            lineage=LineageService(ctx, blobs),
            search=SearchService(ctx),
            compare=CompareService(ctx),
        )

    @classmethod
    def for_user(cls, store: SqlStore, username: str, blobs: BlobStore | None = None) -> Services:
        """Services acting as ``username`` (registered on first use; the first user is admin)."""
        return cls.for_context(
            ServiceContext(store=store, actor=ensure_local_user(store, username)), blobs
        )
