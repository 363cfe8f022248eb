"""The module-level SDK (``mled.start_experiment``, ``mled.log_metric`` ...).

It acts on a default ``Client`` built from the environment (or ``set_tracking_uri``) and on the
active experiment: the one started last in this context (a ContextVar), falling back to the one
started last in the process so that worker threads can log too. This module holds the SDK's
only process-wide state; everything below it is explicit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from mled.artifacts.entities import Artifact, DatasetVersion, LineageNode, ModelVersion
from mled.entities import AuditReport, Comparison, Experiment, MetricHistory, Project
from mled.errors import MledError
from mled.sdk.client import DEFAULT_PROJECT, Client
from mled.sdk.live import LiveExperiment
from mled.sdk.search import SearchResults


class NoActiveExperiment(MledError):
    code = "no_active_experiment"
    status = 400
    default_hint = "Call mled.start_experiment(...) first, or log through the experiment handle."


class _SdkState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.client: Client | None = None
        self.tracking_uri: str | None = None
        self.last_live: LiveExperiment | None = None


_state = _SdkState()
_active: ContextVar[LiveExperiment | None] = ContextVar("mled_active_experiment", default=None)


def set_tracking_uri(uri: str | None) -> None:
    """Select the store: ``sqlite:///path``, ``postgresql://...``, a path, or None (default).

    Example:
        >>> mled.set_tracking_uri("sqlite:////tmp/mled.db")  # doctest: +SKIP
    """
    with _state.lock:
        if _state.client is not None:
            _state.client.close()
        _state.client = None
        _state.tracking_uri = uri


def get_tracking_uri() -> str:
    """The store the module-level SDK uses."""
    return default_client().tracking_uri


def default_client() -> Client:
    """The Client behind the module-level functions (created on first use)."""
    with _state.lock:
        if _state.client is None:
            _state.client = Client(_state.tracking_uri)
        return _state.client


def active_experiment() -> LiveExperiment | None:
    """The experiment module-level logging goes to, or None."""
    exp = _active.get()
    if exp is None or exp.ended:
        exp = _state.last_live
    return None if exp is None or exp.ended else exp


def _require_active() -> LiveExperiment:
    exp = active_experiment()
    if exp is None:
        raise NoActiveExperiment("there is no running experiment to log to")
    return exp


def start_experiment(
    project: str = DEFAULT_PROJECT,
    name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    group: str | None = None,
    parent: str | None = None,
    notes: str = "",
    capture: bool = True,
    reproduction_of: str | None = None,
) -> LiveExperiment:
    """Start an experiment and make it the active one.

    Example:
        >>> with mled.start_experiment(project="vision", name="resnet") as exp:  # doctest: +SKIP
        ...     mled.log_metric("loss", 0.2, step=1)
    """
    exp = default_client().start_experiment(
        project,
        name,
        params=params,
        tags=tags,
        group=group,
        parent=parent,
        notes=notes,
        capture=capture,
        reproduction_of=reproduction_of,
    )
    _active.set(exp)
    _state.last_live = exp
    return exp


def end_experiment(status: str = "finished") -> None:
    """End the active experiment (flushing its metrics)."""
    _require_active().end(status)


def log_param(key: str, value: Any) -> None:
    _require_active().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _require_active().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    _require_active().log_metric(key, value, step)


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _require_active().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    _require_active().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _require_active().set_tags(tags)


def flush() -> None:
    """Make every buffered point of the active experiment durable."""
    exp = active_experiment()
    if exp is not None:
        exp.flush()


def seed_everything(seed: int) -> dict[str, Any]:
    """Seed random, numpy and torch (where importable) and record it on the experiment.

    Called before ``start_experiment``, the seeds are recorded on the next experiment started.
    """
    from mled.capture import seed_everything as seed_all

    seeds = seed_all(seed)
    exp = active_experiment()
    if exp is not None:
        exp.record_seeds(seeds)
    else:
        default_client().remember_seeds(seeds)
    return seeds


def log_experiment(
    project: str = DEFAULT_PROJECT, name: str | None = None, **fields: Any
) -> Experiment:
    """Record an experiment that already ran (see ``Client.log_experiment``)."""
    return default_client().log_experiment(project, name, **fields)


def log_experiments(
    experiments: Iterable[Mapping[str, Any]], project: str = DEFAULT_PROJECT
) -> list[str]:
    """Record many experiments that already ran (see ``Client.log_experiments``).

    Example:
        >>> mled.log_experiments([{"name": "a", "metrics": {"acc": 0.9}}])  # doctest: +SKIP
        ['019a...']
    """
    return default_client().log_experiments(experiments, project)


def get_experiment(id_or_prefix: str) -> Experiment:
    """An experiment by ID or unique prefix."""
    return default_client().get_experiment(id_or_prefix)


def list_experiments(
    project: str | None = None, *, limit: int = 100, offset: int = 0
) -> list[Experiment]:
    return default_client().list_experiments(project, limit=limit, offset=offset)


def get_metric_history(
    experiment_id: str, key: str, *, max_points: int | None = None
) -> MetricHistory:
    """The history of one metric, ordered by step."""
    return default_client().get_metric_history(experiment_id, key, max_points=max_points)


def search(
    query: str = "",
    project: str | None = None,
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
) -> SearchResults:
    """Experiments matching ``query`` (see docs/query-language.md), in its order.

    Returns every match, or the first ``limit``, as a list with ``.to_pandas()``.

    Example:
        >>> found = mled.search("metrics.acc > 0.9", limit=10)  # doctest: +SKIP
        >>> found.to_pandas()[["name", "metrics.acc"]]  # doctest: +SKIP
    """
    return default_client().search(query, project=project, order_by=order_by, limit=limit)


def search_iter(
    query: str = "",
    project: str | None = None,
    order_by: Sequence[str] | None = None,
    page_size: int | None = None,
) -> Iterator[Experiment]:
    """Stream every experiment matching ``query``, one page at a time.

    Example:
        >>> for exp in mled.search_iter("status = 'failed'"):  # doctest: +SKIP
        ...     print(exp.name, exp.error)
    """
    return default_client().search_iter(
        query, project=project, order_by=order_by, page_size=page_size
    )


def compare(
    ids: Sequence[str],
    *,
    directions: Mapping[str, str] | None = None,
    histories: bool = True,
    max_points: int | None = None,
) -> Comparison:
    """Compare experiments side by side (see ``Client.compare``).

    Example:
        >>> cmp = mled.compare([a.id, b.id])  # doctest: +SKIP
        >>> [(m.key, m.best) for m in cmp.metrics]  # doctest: +SKIP
        [('loss', '0190c7e2-...')]
    """
    return default_client().compare(
        ids, directions=directions, histories=histories, max_points=max_points
    )


def create_project(name: str, description: str = "") -> Project:
    return default_client().create_project(name, description)


def list_projects() -> list[Project]:
    return default_client().list_projects()


def verify_audit() -> AuditReport:
    """Recompute the audit hash chain and metric digests."""
    return default_client().verify_audit()


# --- artifacts, datasets, models, lineage -------------------------------------------------------


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> Artifact:
    """Store a file as an artifact of the active experiment (see LiveExperiment.log_artifact)."""
    return _require_active().log_artifact(path, name)


def log_artifacts(folder: str | os.PathLike[str], prefix: str | None = None) -> list[Artifact]:
    """Store every file under ``folder`` as artifacts of the active experiment."""
    return _require_active().log_artifacts(folder, prefix)


def log_text(text: str, name: str) -> Artifact:
    """Store text as an artifact of the active experiment."""
    return _require_active().log_text(text, name)


def log_model(path: str | os.PathLike[str], name: str) -> str:
    """Store a model file or folder under ``models/<name>``; returns that artifact path."""
    return _require_active().log_model(path, name)


def log_dataset(
    source: str | os.PathLike[str], name: str, role: str = "train", store: bool = False
) -> DatasetVersion:
    """Record that the active experiment uses a dataset (see LiveExperiment.log_dataset).

    Example:
        >>> mled.log_dataset("data/cifar10", "cifar10", role="train", store=True)  # doctest: +SKIP
    """
    return _require_active().log_dataset(source, name, role, store)


def list_artifacts(experiment_id: str, path: str | None = None) -> list[Artifact]:
    """Artifacts of an experiment (at or under ``path``)."""
    return default_client().list_artifacts(experiment_id, path)


def download_artifacts(
    experiment_id: str, path: str | None = None, dest: str | os.PathLike[str] = "."
) -> Path:
    """Download an artifact or folder (None: all) into ``dest``, verifying every byte."""
    return default_client().download_artifacts(experiment_id, path, dest)


def register_model(experiment_id: str, artifact_path: str, name: str) -> ModelVersion:
    """Register an experiment's artifact as the next version of model ``name``."""
    return default_client().register_model(experiment_id, artifact_path, name)


def lineage(ref: str) -> LineageNode:
    """The lineage tree of ``MODEL@alias``, ``MODEL:V``, ``DATASET:V`` or an experiment ID."""
    return default_client().lineage(ref)
