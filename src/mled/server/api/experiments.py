"""Experiments: create (live or already run, one or many), read, list, params, tags, seeds,
ending.

Writing to an experiment needs the ``log`` permission in its project when the caller owns
it, and ``edit_any`` otherwise; the service layer decides and audits.

Example:
    $ curl -X POST $URL/api/v1/experiments -H "Authorization: Bearer $TOKEN" \\
        -H 'Content-Type: application/json' -d '{"project": "vision", "name": "resnet"}'
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from mled.auth.permissions import Action
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import (
    NAME_PATTERN,
    EndIn,
    ExperimentIn,
    ExperimentOut,
    ExperimentRef,
    ImportIn,
    ImportOut,
    ParamsIn,
    SeedsIn,
    TagsIn,
    problems,
)
from mled.wire import MAX_IMPORT

router = APIRouter(tags=["experiments"])

READ_ERRORS = problems(401, 403, 404, 409, 422, 503)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 413, 422, 503)


@router.post(
    "/experiments",
    status_code=201,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def create_experiment(body: ExperimentIn, s: ServicesDep) -> ExperimentOut:
    """Create an experiment with its params, tags and (for one that already ran) metrics.

    Admins may name a project that does not exist yet: it is created.
    """
    return ExperimentOut.of(s.experiments.create(body.to_spec()))


@router.post(
    "/experiments/import",
    status_code=201,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def import_experiments(body: ImportIn, s: ServicesDep) -> ImportOut:
    """Store experiments that already ran, all in one transaction (the bulk path).

    Send each experiment with an ``id`` (a UUIDv7 made by the client): a retried request
    then stores nothing twice, as experiments this user already imported are skipped.
    """
    return ImportOut(ids=s.experiments.import_many(body.to_specs(), batch_size=MAX_IMPORT))


@router.get(
    "/experiments",
    openapi_extra=permission(Action.READ),
    responses=problems(401, 403, 404, 422, 503),
)
def list_experiments(
    s: ServicesDep,
    project: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=NAME_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[ExperimentOut]:
    """Newest first, from the projects the caller may read (or only ``project``)."""
    return [ExperimentOut.of(e) for e in s.experiments.list(project, limit=limit, offset=offset)]


@router.get(
    "/experiments/{experiment_id}",
    openapi_extra=permission(Action.READ),
    responses=READ_ERRORS,
)
def get_experiment(experiment_id: ExperimentRef, s: ServicesDep) -> ExperimentOut:
    """One experiment by full ID or unique prefix (an ambiguous prefix is a 409)."""
    return ExperimentOut.of(s.experiments.get(experiment_id))


@router.post(
    "/experiments/{experiment_id}/params",
    status_code=204,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def log_params(experiment_id: ExperimentRef, body: ParamsIn, s: ServicesDep) -> None:
    """Log params of a running experiment; a param logged again must keep its value (409)."""
    s.experiments.log_params(experiment_id, body.params)


@router.post(
    "/experiments/{experiment_id}/tags",
    status_code=204,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def set_tags(experiment_id: ExperimentRef, body: TagsIn, s: ServicesDep) -> None:
    """Add or overwrite tags (numbers and booleans become text); every change is audited."""
    s.experiments.set_tags(experiment_id, body.tags)


@router.delete(
    "/experiments/{experiment_id}/tags/{key:path}",
    status_code=204,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def delete_tag(
    experiment_id: ExperimentRef,
    key: Annotated[str, Path(min_length=1, max_length=250)],
    s: ServicesDep,
) -> None:
    """Remove a tag (nothing happens when the experiment has no such tag)."""
    s.experiments.delete_tag(experiment_id, key)


@router.post(
    "/experiments/{experiment_id}/end",
    status_code=204,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def end_experiment(experiment_id: ExperimentRef, body: EndIn, s: ServicesDep) -> None:
    """End a running experiment (ending it again with the same status is a no-op)."""
    s.experiments.end(experiment_id, body.status, error=body.error, ended_at=body.ended_at)


@router.post(
    "/experiments/{experiment_id}/seeds",
    status_code=204,
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def set_seeds(experiment_id: ExperimentRef, body: SeedsIn, s: ServicesDep) -> None:
    """Record the random seeds of a running experiment (replaces earlier ones)."""
    s.experiments.set_seeds(experiment_id, body.seeds)
