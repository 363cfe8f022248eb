"""The schema, as SQLAlchemy Core tables, one module per concept. Alembic migrations must
produce exactly ``metadata``; a test checks it.

Times are epoch seconds in double precision (one representation on every dialect); public IDs
are UUIDv7 strings while joins use integer surrogate keys. JSON documents are stored as
canonical JSON text so that audit hashes can be recomputed from exactly what is stored.
"""

from mled.store.sql.tables.assets import (
    artifacts,
    dataset_inputs,
    dataset_versions,
    datasets,
    model_alias_moves,
    model_aliases,
    model_versions,
    models,
)
from mled.store.sql.tables.auth import api_tokens, idempotency_keys, login_failures
from mled.store.sql.tables.core import (
    audit_events,
    audit_head,
    experiment_summaries,
    experiments,
    memberships,
    metric_chunks,
    metrics,
    params,
    projects,
    staged_experiments,
    tags,
    users,
)
from mled.store.sql.tables.meta import KEY_LENGTH, NAME_LENGTH, metadata

__all__ = [
    "KEY_LENGTH",
    "NAME_LENGTH",
    "api_tokens",
    "artifacts",
    "audit_events",
    "audit_head",
    "dataset_inputs",
    "dataset_versions",
    "datasets",
    "experiment_summaries",
    "experiments",
    "idempotency_keys",
    "login_failures",
    "memberships",
    "metadata",
    "metric_chunks",
    "metrics",
    "model_alias_moves",
    "model_aliases",
    "model_versions",
    "models",
    "params",
    "projects",
    "staged_experiments",
    "tags",
    "users",
]
