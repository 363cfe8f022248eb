"""Errors of artifacts, datasets and models (documented in ``docs/errors.md``).

Example:
    >>> ArtifactCorrupted("artifact 'model.pt' is corrupted").code
    'artifact_corrupted'
"""

from __future__ import annotations

from mled.errors import Conflict, InvalidInput, MledError, NotFound


class ArtifactNotFound(NotFound):
    """An experiment has no artifact at this path (or under this folder)."""

    code = "artifact_not_found"
    default_hint = "List the experiment's artifacts with `mled artifacts list EXPERIMENT_ID`."


class DatasetNotFound(NotFound):
    """No dataset (or dataset version) has this name and number."""

    code = "dataset_not_found"
    default_hint = (
        "List datasets with `mled datasets list` and versions with `mled datasets versions NAME`."
    )


class ModelNotFound(NotFound):
    """No registered model (or version, or alias) matches."""

    code = "model_not_found"
    default_hint = "List registered models with `mled models list`."


class UploadIncomplete(InvalidInput):
    """An upload's body ended before all of it arrived (the client went away mid-stream).

    Nothing of it is kept: the partial bytes were in a temporary object, which is discarded.
    """

    code = "upload_incomplete"
    default_hint = "Upload again; nothing of the interrupted upload was stored."


class ArtifactConflict(Conflict):
    """An artifact path of an experiment already holds different content."""

    code = "artifact_conflict"
    default_hint = "Artifacts are immutable once logged; log the new content under another path."


class ArtifactMissing(MledError):
    """The metadata names a stored object that is no longer in the artifact store."""

    code = "artifact_missing"
    status = 500
    default_hint = (
        "Run `mled verify --all` to list every missing object; restore the artifact store from "
        "a backup, or log the files again."
    )


class ArtifactCorrupted(MledError):
    """A stored object's bytes no longer match the SHA-256 digest they were stored under."""

    code = "artifact_corrupted"
    status = 500
    default_hint = (
        "Run `mled verify --all` to list every damaged object; restore it from a backup, or "
        "upload the original file again with `mled artifacts log`, which replaces it."
    )
