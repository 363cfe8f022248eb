"""Artifact, dataset, model and lineage operations of ``HttpBackend``, over the REST routes.

None of them is spooled: bytes stream straight to the server (and back, verified), and reads
need the server. Responses are the service's own dataclasses, decoded with pydantic.

Example:
    >>> backend.list_artifacts(exp_id, "models/resnet")  # doctest: +SKIP
    [Artifact(experiment_id='0190...', path='models/resnet/weights.bin', ...)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import cache
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from mled.artifacts.entities import (
    Artifact,
    ArtifactEntry,
    Dataset,
    DatasetDiff,
    DatasetSpec,
    DatasetVersion,
    GcReport,
    IntegrityReport,
    LineageNode,
    Model,
    ModelDetails,
    ModelVersion,
)
from mled.artifacts.errors import ArtifactNotFound
from mled.artifacts.transfer import Uploader
from mled.sdk.http_streams import HttpUploader, verified_download
from mled.sdk.http_transport import Transport, segment

T = TypeVar("T")


class _Caller(Protocol):
    _transport: Transport

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decode(kind: type[T], data: Any) -> T:
    """A service dataclass (or a list of them) from its JSON form.

    Example:
        >>> decode(list[Dataset], [])
        []
    """
    value: T = _adapter(cast(Any, kind)).validate_python(data)
    return value


def _exp(experiment_id: str) -> str:
    return f"/experiments/{segment(experiment_id)}"


def _file_path(path: str) -> str:
    """A logical path in a URL: each segment percent-encoded, the '/' kept."""
    return quote(path, safe="/")


def _project(project: str | None) -> dict[str, str] | None:
    return None if project is None else {"project": project}


class HttpAssets:
    """The asset half of the ``Backend`` protocol, over REST."""

    def open_uploader(self: _Caller, experiment_id: str) -> Uploader:
        # Checks the experiment exists and is readable; the upload itself checks ``log``.
        self._call("GET", _exp(experiment_id))
        return HttpUploader(self._transport, _exp(experiment_id))

    def register_artifacts(
        self: _Caller, experiment_id: str, entries: Sequence[ArtifactEntry]
    ) -> list[Artifact]:
        body = {
            "artifacts": [
                {"path": e.path, "digest": e.digest, "size": e.size, "media_type": e.media_type}
                for e in entries
            ]
        }
        answer = self._call("POST", f"{_exp(experiment_id)}/artifacts", json=body)
        return decode(list[Artifact], answer.json())

    def list_artifacts(
        self: _Caller, experiment_id: str, prefix: str | None = None
    ) -> list[Artifact]:
        params = None if prefix is None else {"prefix": prefix}
        answer = self._call("GET", f"{_exp(experiment_id)}/artifacts", params=params)
        return decode(list[Artifact], answer.json())

    def read_artifacts(
        self: _Caller, experiment_id: str, prefix: str | None = None
    ) -> Iterator[tuple[Artifact, Iterator[bytes]]]:
        params = None if prefix is None else {"prefix": prefix}
        answer = self._call("GET", f"{_exp(experiment_id)}/artifacts", params=params)
        found = decode(list[Artifact], answer.json())
        if not found:
            where = f" at or under {prefix!r}" if prefix else ""
            raise ArtifactNotFound(f"experiment {experiment_id} has no artifact{where}")
        transport = self._transport
        return (
            (
                a,
                verified_download(
                    transport,
                    f"{_exp(a.experiment_id)}/artifacts/{_file_path(a.path)}",
                    name=f"artifact {a.path!r} of experiment {a.experiment_id}",
                    digest=a.digest,
                    size=a.size,
                ),
            )
            for a in found
        )

    def log_dataset(self: _Caller, experiment_id: str, spec: DatasetSpec) -> DatasetVersion:
        manifest = None
        if spec.manifest is not None:
            manifest = {p: [e.size, e.sha256] for p, e in spec.manifest.items()}
        body = {
            "name": spec.name,
            "manifest": manifest,
            "source_uri": spec.source_uri,
            "stored": spec.stored,
            "role": spec.role,
        }
        answer = self._call("POST", f"{_exp(experiment_id)}/datasets", json=body)
        return decode(DatasetVersion, answer.json())

    def list_datasets(self: _Caller, project: str | None = None) -> list[Dataset]:
        answer = self._call("GET", "/datasets", params=_project(project))
        return decode(list[Dataset], answer.json())

    def list_dataset_versions(
        self: _Caller, name: str, project: str | None = None
    ) -> list[DatasetVersion]:
        answer = self._call("GET", f"/datasets/{segment(name)}/versions", params=_project(project))
        return decode(list[DatasetVersion], answer.json())

    def get_dataset_version(self: _Caller, ref: str, project: str | None = None) -> DatasetVersion:
        answer = self._call("GET", f"/dataset-versions/{segment(ref)}", params=_project(project))
        return decode(DatasetVersion, answer.json())

    def diff_dataset(
        self: _Caller, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff:
        params: dict[str, Any] = {"from": from_version, "to": to_version}
        params.update(_project(project) or {})
        answer = self._call("GET", f"/datasets/{segment(name)}/diff", params=params)
        return decode(DatasetDiff, answer.json())

    def read_dataset_files(
        self: _Caller, ref: str, project: str | None = None
    ) -> tuple[DatasetVersion, Iterator[tuple[str, Iterator[bytes]]]]:
        base = f"/dataset-versions/{segment(ref)}/files"
        version = decode(DatasetVersion, self._call("GET", base, params=_project(project)).json())
        # The files of exactly this version, whatever ``ref`` pointed at when asked.
        exact = f"/dataset-versions/{segment(version.ref)}/files"
        transport = self._transport
        files = version.manifest or {}
        return version, (
            (
                path,
                verified_download(
                    transport,
                    f"{exact}/{_file_path(path)}",
                    name=f"file {path!r} of dataset {version.ref}",
                    digest=entry.sha256,
                    size=entry.size,
                    params={"project": version.project},
                ),
            )
            for path, entry in files.items()
        )

    def register_model(
        self: _Caller, experiment_id: str, artifact_path: str, name: str
    ) -> ModelVersion:
        body = {"artifact_path": artifact_path, "name": name}
        answer = self._call("POST", f"{_exp(experiment_id)}/models", json=body)
        return decode(ModelVersion, answer.json())

    def set_model_alias(
        self: _Caller, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion:
        path = f"/models/{segment(name)}/aliases/{segment(alias)}"
        answer = self._call("PUT", path, json={"version": version, "project": project})
        return decode(ModelVersion, answer.json())

    def delete_model_alias(
        self: _Caller, name: str, alias: str, project: str | None = None
    ) -> None:
        path = f"/models/{segment(name)}/aliases/{segment(alias)}"
        self._call("DELETE", path, params=_project(project))

    def list_models(self: _Caller, project: str | None = None) -> list[Model]:
        answer = self._call("GET", "/models", params=_project(project))
        return decode(list[Model], answer.json())

    def get_model(self: _Caller, name: str, project: str | None = None) -> ModelDetails:
        answer = self._call("GET", f"/models/{segment(name)}", params=_project(project))
        return decode(ModelDetails, answer.json())

    def get_model_version(self: _Caller, ref: str, project: str | None = None) -> ModelVersion:
        answer = self._call("GET", f"/model-versions/{segment(ref)}", params=_project(project))
        return decode(ModelVersion, answer.json())

    def lineage(self: _Caller, ref: str) -> LineageNode:
        return decode(LineageNode, self._call("GET", f"/lineage/{segment(ref)}").json())

    def verify_artifacts(self: _Caller, experiment_id: str | None = None) -> IntegrityReport:
        params = None if experiment_id is None else {"experiment_id": experiment_id}
        return decode(IntegrityReport, self._call("GET", "/verify", params=params).json())

    def collect_garbage(
        self: _Caller,
        older_than: timedelta,
        *,
        dry_run: bool = False,
        remove_unreferenced: bool = False,
    ) -> GcReport:
        body = {
            "older_than": older_than.total_seconds(),
            "dry_run": dry_run,
            "remove_unreferenced": remove_unreferenced,
        }
        return decode(GcReport, self._call("POST", "/artifact-store/gc", json=body).json())
