"""The contract every backend implements: embedded (``LocalBackend``) or, later, HTTP.

The SDK and CLI speak only this protocol, so the same tests run against every backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from mled.entities import AuditReport, Experiment, MetricHistory, NewExperiment, Project, Series


class Backend(Protocol):
    """Operations the SDK needs; one call is one service call (one transaction)."""

    @property
    def username(self) -> str: ...

    def create_project(self, name: str, description: str = "") -> Project: ...

    def list_projects(self) -> list[Project]: ...

    def create_experiment(self, spec: NewExperiment) -> Experiment: ...

    def log_params(self, experiment_id: str, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None: ...

    def delete_tag(self, experiment_id: str, key: str) -> None: ...

    def log_metric_batch(self, experiment_id: str, batch: Mapping[str, Series]) -> int: ...

    def set_seeds(self, experiment_id: str, seeds: dict[str, Any]) -> None: ...

    def end_experiment(
        self,
        experiment_id: str,
        status: str,
        *,
        error: str | None = None,
        ended_at: float | None = None,
    ) -> None: ...

    def get_experiment(self, id_or_prefix: str) -> Experiment: ...

    def list_experiments(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]: ...

    def get_metric_history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory: ...

    def verify_audit(self) -> AuditReport: ...

    def close(self) -> None: ...
