"""Dataset versions, the model registry, lineage and integrity checks.

A dataset version is logged as its manifest (relative path -> [size, sha256]); the bytes of a
stored version go up first through the blob routes. A source URI is only recorded, never
opened. Stored files download one by one, streamed and verified like artifacts.

Example:
    $ curl -H "Authorization: Bearer $TOKEN" $URL/api/v1/lineage/resnet@production
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from mled.artifacts.entities import (
    Dataset,
    DatasetDiff,
    DatasetVersion,
    IntegrityReport,
    LineageNode,
    Model,
    ModelDetails,
    ModelVersion,
)
from mled.auth.permissions import Action
from mled.server.api.artifacts import (
    DIGEST_HEADER,
    READ_ERRORS,
    SIZE_HEADER,
    STREAM_RESPONSES,
    WRITE_ERRORS,
)
from mled.server.asset_schemas import (
    AliasIn,
    ArtifactPath,
    DatasetIn,
    ModelIn,
    NamePath,
    ProjectQuery,
    RefPath,
)
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import ID_PREFIX_PATTERN, ExperimentRef
from mled.server.streams import primed

router = APIRouter(tags=["datasets and models"])

Version = Annotated[int, Query(ge=1, le=2**31 - 1)]
LineageRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=400,
        description="A model (NAME, NAME:V, NAME@ALIAS), dataset (NAME:V) or experiment ID; "
        "`dataset:`, `model:` or `experiment:` in front removes any doubt.",
    ),
]

# --- datasets ---------------------------------------------------------------------------------


@router.post(
    "/experiments/{experiment_id}/datasets",
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def log_dataset(experiment_id: ExperimentRef, body: DatasetIn, s: ServicesDep) -> DatasetVersion:
    """Link the experiment to the version with this content (created when new) and role."""
    return s.datasets.log(experiment_id, body.spec())


@router.get("/datasets", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def list_datasets(s: ServicesDep, project: ProjectQuery = None) -> list[Dataset]:
    """The datasets of the projects the caller may read (or of ``project``)."""
    return s.datasets.list(project)


@router.get(
    "/datasets/{name}/versions", openapi_extra=permission(Action.READ), responses=READ_ERRORS
)
def list_dataset_versions(
    name: NamePath, s: ServicesDep, project: ProjectQuery = None
) -> list[DatasetVersion]:
    """Every version of a dataset, oldest first (without manifests)."""
    return s.datasets.versions(name, project)


@router.get("/datasets/{name}/diff", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def diff_dataset(
    name: NamePath,
    s: ServicesDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
    project: ProjectQuery = None,
) -> DatasetDiff:
    """Paths added, removed and changed from version ``from`` to version ``to``."""
    return s.datasets.diff(name, from_version, to_version, project)


@router.get("/dataset-versions/{ref}", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def get_dataset_version(
    ref: RefPath, s: ServicesDep, project: ProjectQuery = None
) -> DatasetVersion:
    """``NAME`` (latest) or ``NAME:VERSION``, with its manifest."""
    return s.datasets.get_version(ref, project)


@router.get(
    "/dataset-versions/{ref}/files", openapi_extra=permission(Action.READ), responses=READ_ERRORS
)
def stored_dataset_version(
    ref: RefPath, s: ServicesDep, project: ProjectQuery = None
) -> DatasetVersion:
    """The version with its manifest, when its files are stored (409 otherwise)."""
    version, _ = s.datasets.read_files(ref, project)
    return version


@router.get(
    "/dataset-versions/{ref}/files/{path:path}",
    openapi_extra=permission(Action.READ),
    responses=STREAM_RESPONSES,
    response_class=StreamingResponse,
)
def download_dataset_file(
    ref: RefPath, path: ArtifactPath, s: ServicesDep, project: ProjectQuery = None
) -> StreamingResponse:
    """One file of a stored version, streamed and verified like an artifact download."""
    entry, chunks = s.datasets.read_file(ref, path, project)
    return StreamingResponse(
        primed(chunks),
        media_type="application/octet-stream",
        headers={DIGEST_HEADER: entry.sha256, SIZE_HEADER: str(entry.size)},
    )


# --- models -----------------------------------------------------------------------------------


@router.post(
    "/experiments/{experiment_id}/models",
    openapi_extra=permission(Action.REGISTER_MODEL),
    responses=WRITE_ERRORS,
)
def register_model(experiment_id: ExperimentRef, body: ModelIn, s: ServicesDep) -> ModelVersion:
    """Make an artifact (file or folder) of the experiment the next version of ``name``."""
    return s.models.register(experiment_id, body.artifact_path, body.name)


@router.get("/models", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def list_models(s: ServicesDep, project: ProjectQuery = None) -> list[Model]:
    """The registered models of the projects the caller may read (or of ``project``)."""
    return s.models.list(project)


@router.get("/models/{name}", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def get_model(name: NamePath, s: ServicesDep, project: ProjectQuery = None) -> ModelDetails:
    """A model with every version and the history of its aliases."""
    return s.models.get(name, project)


@router.put(
    "/models/{name}/aliases/{alias}",
    openapi_extra=permission(Action.REGISTER_MODEL),
    responses=WRITE_ERRORS,
)
def set_model_alias(name: NamePath, alias: NamePath, body: AliasIn, s: ServicesDep) -> ModelVersion:
    """Point ``alias`` at a version (the move is kept in the history and audited)."""
    return s.models.set_alias(name, alias, body.version, body.project)


@router.delete(
    "/models/{name}/aliases/{alias}",
    status_code=204,
    openapi_extra=permission(Action.REGISTER_MODEL),
    responses=WRITE_ERRORS,
)
def delete_model_alias(
    name: NamePath, alias: NamePath, s: ServicesDep, project: ProjectQuery = None
) -> None:
    """Remove an alias (the removal is kept in the history and audited)."""
    s.models.delete_alias(name, alias, project)


@router.get("/model-versions/{ref}", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def get_model_version(ref: RefPath, s: ServicesDep, project: ProjectQuery = None) -> ModelVersion:
    """``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS``."""
    return s.models.get_version(ref, project)


# --- lineage and integrity --------------------------------------------------------------------


@router.get("/lineage/{ref:path}", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def lineage(ref: LineageRef, s: ServicesDep) -> LineageNode:
    """The lineage tree of a model version, a dataset version or an experiment."""
    return s.lineage.lineage(ref)


@router.get("/verify", openapi_extra=permission(Action.READ), responses=READ_ERRORS)
def verify(
    s: ServicesDep,
    experiment_id: Annotated[
        str | None, Query(min_length=1, max_length=36, pattern=ID_PREFIX_PATTERN)
    ] = None,
) -> IntegrityReport:
    """Re-hash the objects of one experiment (or of every readable project) and report."""
    return s.lineage.verify(experiment_id)
