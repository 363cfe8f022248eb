"""MLED, the Machine Learning Experiment Database.

Example:
    >>> import mled
    >>> mled.set_tracking_uri("sqlite:////tmp/mled-example.db")  # doctest: +SKIP
    >>> with mled.start_experiment(project="vision", params={"lr": 0.1}) as exp:  # doctest: +SKIP
    ...     exp.log_metrics({"loss": 0.3, "acc": 0.8}, step=10)

Importing ``mled`` stays light: the database layer is imported on first use.
"""

from __future__ import annotations

from mled.entities import Comparison, Experiment, MetricHistory, MetricPoint, Project
from mled.errors import MledError
from mled.sdk.api import (
    active_experiment,
    compare,
    create_project,
    download_artifacts,
    end_experiment,
    flush,
    get_experiment,
    get_metric_history,
    get_tracking_uri,
    lineage,
    list_artifacts,
    list_experiments,
    list_projects,
    log_artifact,
    log_artifacts,
    log_dataset,
    log_experiment,
    log_experiments,
    log_metric,
    log_metrics,
    log_model,
    log_param,
    log_params,
    log_text,
    register_model,
    search,
    search_iter,
    seed_everything,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_experiment,
    verify_audit,
)
from mled.sdk.client import Client
from mled.sdk.live import LiveExperiment
from mled.sdk.search import SearchResults

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Comparison",
    "Experiment",
    "LiveExperiment",
    "MetricHistory",
    "MetricPoint",
    "MledError",
    "Project",
    "SearchResults",
    "active_experiment",
    "compare",
    "create_project",
    "download_artifacts",
    "end_experiment",
    "flush",
    "get_experiment",
    "get_metric_history",
    "get_tracking_uri",
    "lineage",
    "list_artifacts",
    "list_experiments",
    "list_projects",
    "log_artifact",
    "log_artifacts",
    "log_dataset",
    "log_experiment",
    "log_experiments",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search",
    "search_iter",
    "seed_everything",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_experiment",
    "verify_audit",
]
