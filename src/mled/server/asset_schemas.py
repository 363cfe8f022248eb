"""Request bodies of the artifact, dataset and model routes, and their path parameters.

Responses are the service's own dataclasses (``Artifact``, ``DatasetVersion``, ``ModelVersion``
...), which FastAPI serializes as they are. Paths, digests, names and roles are checked only for
shape here; the service validates them (an unsafe path is a 400 ``unsafe_path``).

Example:
    >>> ArtifactsIn(artifacts=[{"path": "a.txt", "digest": "ab" * 32, "size": 3}]).entries()[0].size
    3
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, StringConstraints

from mled.artifacts.entities import ArtifactEntry, DatasetSpec, FileEntry
from mled.server.schemas import MAX_JSON_INT, NAME_PATTERN, NO_NUL
from mled.service.artifact_gc import DEFAULT_GRACE, MAX_GRACE, MIN_GRACE

DIGEST_PATTERN = r"^[0-9a-f]{64}$"
MAX_PATH = 4096
MAX_FILES = 1_000_000

Digest = Annotated[str, StringConstraints(min_length=64, max_length=64, pattern=DIGEST_PATTERN)]
LogicalPath = Annotated[str, StringConstraints(max_length=MAX_PATH)]
"""A logical path as the client sent it; the service normalizes it or refuses it (400)."""
Size = Annotated[int, Field(ge=0, le=MAX_JSON_INT)]
AssetName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN)]

DigestPath = Annotated[
    str, Path(min_length=64, max_length=64, pattern=DIGEST_PATTERN, description="A SHA-256.")
]
ArtifactPath = Annotated[
    str, Path(min_length=1, max_length=MAX_PATH, description="A logical artifact path.")
]
NamePath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NAME_PATTERN, description="A name.")
]
RefPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        pattern=NAME_PATTERN,
        description="NAME (latest version), NAME:VERSION or NAME@ALIAS.",
    ),
]
ProjectQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, pattern=NAME_PATTERN, description="A project name."),
]

RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
"""OpenAPI of a route whose body is raw bytes, read as a stream."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BlobOut(_Strict):
    """An object in the blob store."""

    digest: str
    size: int


class ArtifactEntryIn(_Strict):
    path: LogicalPath
    digest: Digest
    size: Size
    media_type: Annotated[str, StringConstraints(max_length=128, pattern=NO_NUL)] | None = None


class ArtifactsIn(_Strict):
    """Artifacts to register: objects already uploaded, at logical paths."""

    artifacts: Annotated[list[ArtifactEntryIn], Field(max_length=MAX_FILES)]

    def entries(self) -> list[ArtifactEntry]:
        return [ArtifactEntry(a.path, a.digest, a.size, a.media_type) for a in self.artifacts]


class DigestsIn(_Strict):
    digests: Annotated[list[Digest], Field(max_length=MAX_FILES)]


class MissingOut(_Strict):
    """The digests the blob store lacks."""

    missing: list[str]


class DatasetIn(_Strict):
    """A dataset version an experiment uses: its manifest (path -> [size, sha256]) or a URI."""

    name: AssetName
    manifest: Annotated[dict[LogicalPath, tuple[Size, Digest]], Field(max_length=MAX_FILES)] | None
    source_uri: Annotated[str, StringConstraints(max_length=2048)] | None = None
    stored: bool = False
    role: Annotated[str, StringConstraints(max_length=32)] = "train"

    def spec(self) -> DatasetSpec:
        manifest = None
        if self.manifest is not None:
            manifest = {p: FileEntry(size, digest) for p, (size, digest) in self.manifest.items()}
        return DatasetSpec(self.name, manifest, self.source_uri, self.stored, self.role)


class ModelIn(_Strict):
    """An experiment's artifact (file or folder) to register as the next version of ``name``."""

    artifact_path: LogicalPath
    name: AssetName


class AliasIn(_Strict):
    version: Annotated[int, Field(ge=1, le=MAX_JSON_INT)]
    project: AssetName | None = None


class GcIn(_Strict):
    """What a garbage collection of the artifact store may remove."""

    older_than: Annotated[
        float,
        Strict(),
        Field(
            ge=MIN_GRACE.total_seconds(),
            le=MAX_GRACE.total_seconds(),
            allow_inf_nan=False,
            description="The grace period in seconds: temporary uploads (and, with "
            "remove_unreferenced, unreferenced objects) written to more recently are kept.",
        ),
    ] = DEFAULT_GRACE.total_seconds()
    dry_run: StrictBool = Field(default=False, description="Remove nothing; report what would go.")
    remove_unreferenced: StrictBool = Field(
        default=False,
        description="Also remove complete objects no artifact or dataset refers to.",
    )
