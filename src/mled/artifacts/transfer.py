"""The SDK side of artifact and dataset transfers, over any backend (embedded or HTTP).

Uploads stream each file in chunks through the backend's uploader (folders in parallel
threads), then register every path in one call. Downloads write each file to a temporary
name beside its destination and rename it only after the stream ended verified, so a
corrupted or interrupted download never leaves a file that looks complete; destinations are
derived from stored paths through :func:`mled.paths.confined_join` only.

Example:
    >>> artifact = log_file(backend, exp_id, Path("model.pt"))  # doctest: +SKIP
    >>> download_artifacts(backend, exp_id, "model.pt", Path("out"))  # doctest: +SKIP
    PosixPath('out/model.pt')
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import uuid
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mled.artifacts.entities import (
    Artifact,
    ArtifactEntry,
    BlobRef,
    DatasetSpec,
    DatasetVersion,
    FileEntry,
)
from mled.artifacts.errors import DatasetNotFound
from mled.artifacts.files import (
    DEFAULT_WORKERS,
    file_chunks,
    hash_files,
    is_uri,
    parallel_map,
    walk_files,
)
from mled.errors import InvalidInput
from mled.paths import confined_join, normalize_path, normalize_prefix

if TYPE_CHECKING:
    from mled.sdk.backend import Backend


class Uploader(Protocol):
    """Puts bytes into the artifact store for one experiment (see ``Backend.open_uploader``)."""

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobRef: ...

    def missing(self, digests: Collection[str]) -> set[str]: ...


def media_type(path: str) -> str | None:
    """The media type guessed from a file name (``text/csv``), or None."""
    return mimetypes.guess_type(path, strict=False)[0]


def _require_file(path: Path) -> Path:
    if not path.exists():
        raise InvalidInput(f"{str(path)!r} does not exist")
    if path.is_dir():
        raise InvalidInput(
            f"{str(path)!r} is a folder", hint="Use log_artifacts(folder) to log a folder."
        )
    return path


def log_file(backend: Backend, experiment_id: str, path: Path, name: str | None = None) -> Artifact:
    """Upload one file as the artifact ``name`` (default: the file's name)."""
    path = _require_file(Path(path))
    logical = normalize_path(name if name is not None else path.name)
    ref = backend.open_uploader(experiment_id).put(file_chunks(path))
    entry = ArtifactEntry(logical, ref.digest, ref.size, media_type(logical))
    return backend.register_artifacts(experiment_id, [entry])[0]


def log_folder(
    backend: Backend,
    experiment_id: str,
    folder: Path,
    prefix: str | None = None,
    *,
    workers: int = DEFAULT_WORKERS,
) -> list[Artifact]:
    """Upload every file under ``folder`` at its relative path (under ``prefix``)."""
    base = normalize_prefix(prefix)
    files = walk_files(Path(folder))
    if not files:
        raise InvalidInput(f"{str(folder)!r} has no files to log")
    uploader = backend.open_uploader(experiment_id)
    refs = parallel_map(lambda item: uploader.put(file_chunks(item[1])), files, workers)
    entries = [
        ArtifactEntry(logical, ref.digest, ref.size, media_type(logical))
        for (rel, _), ref in zip(files, refs, strict=True)
        for logical in [f"{base}/{rel}" if base else rel]
    ]
    return backend.register_artifacts(experiment_id, entries)


def log_bytes(
    backend: Backend, experiment_id: str, data: bytes, name: str, media: str | None = None
) -> Artifact:
    """Upload bytes held in memory (``log_text``) as the artifact ``name``."""
    logical = normalize_path(name)
    ref = backend.open_uploader(experiment_id).put(iter([data]))
    entry = ArtifactEntry(logical, ref.digest, ref.size, media or media_type(logical))
    return backend.register_artifacts(experiment_id, [entry])[0]


def log_model(backend: Backend, experiment_id: str, path: Path, name: str) -> str:
    """Upload a model file or folder under ``models/<name>``; returns that artifact path.

    Pass the returned path to ``register_model`` to make it a registered version.
    """
    base = normalize_path(f"models/{name}", "model name")
    path = Path(path)
    if path.is_dir():
        log_folder(backend, experiment_id, path, base)
    else:
        log_file(backend, experiment_id, path, f"{base}/{_require_file(path).name}")
    return base


def log_dataset(
    backend: Backend,
    experiment_id: str,
    source: str | os.PathLike[str],
    name: str,
    *,
    role: str = "train",
    store: bool = False,
    project: str | None = None,
    workers: int = DEFAULT_WORKERS,
) -> DatasetVersion:
    """Record that an experiment uses a dataset version; see ``LiveExperiment.log_dataset``."""
    text = os.fspath(source)
    if is_uri(text):
        if store:
            raise InvalidInput(
                f"dataset {name!r} is given by the URI {text!r}, which MLED never opens",
                hint="Pass a local file or folder to store its bytes, or use store=False.",
            )
        return backend.log_dataset(experiment_id, DatasetSpec(name, None, text, False, role))
    path = Path(text).expanduser()
    if not path.exists():
        raise InvalidInput(f"dataset path {text!r} does not exist")
    files = walk_files(path) if path.is_dir() else [(normalize_path(path.name), path)]
    if not files:
        raise InvalidInput(f"dataset folder {text!r} has no files")
    if store and project is not None and _is_new(backend, name, project):
        uploader = backend.open_uploader(experiment_id)  # new dataset: hash while uploading
        refs = parallel_map(lambda f: uploader.put(file_chunks(f[1])), files, workers)
        manifest = {
            rel: FileEntry(ref.size, ref.digest) for (rel, _), ref in zip(files, refs, strict=True)
        }
    else:
        manifest = hash_files(files, workers)
        if store:
            _store_missing(backend, experiment_id, files, manifest, workers)
    spec = DatasetSpec(name, dict(sorted(manifest.items())), str(path.resolve()), store, role)
    return backend.log_dataset(experiment_id, spec)


def _is_new(backend: Backend, name: str, project: str) -> bool:
    try:
        backend.list_dataset_versions(name, project)
    except DatasetNotFound:
        return True
    return False


def _store_missing(
    backend: Backend,
    experiment_id: str,
    files: list[tuple[str, Path]],
    manifest: dict[str, FileEntry],
    workers: int,
) -> None:
    """Upload only the files whose content the store lacks, verifying each digest."""
    uploader = backend.open_uploader(experiment_id)
    missing = uploader.missing({e.sha256 for e in manifest.values()})
    todo: dict[str, Path] = {}
    for rel, local in files:
        digest = manifest[rel].sha256
        if digest in missing and digest not in todo:
            todo[digest] = local

    def put(item: tuple[str, Path]) -> BlobRef:
        digest, local = item
        return uploader.put(file_chunks(local), digest=digest)

    parallel_map(put, list(todo.items()), workers)


# --- downloads ----------------------------------------------------------------------------------


def write_stream(target: Path, chunks: Iterator[bytes]) -> None:
    """Write chunks to ``target`` through a temporary file renamed only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".mled-{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "xb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def download_artifacts(backend: Backend, experiment_id: str, path: str | None, dest: Path) -> Path:
    """Download one artifact or a folder of them into ``dest``; returns the local path.

    ``path=None`` downloads everything at its full logical path; a file lands as
    ``dest/<file name>`` and a folder as ``dest/<folder name>/...``.
    """
    prefix = normalize_prefix(path)
    dest = Path(dest)
    parent = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    for artifact, chunks in backend.read_artifacts(experiment_id, prefix or None):
        rel = artifact.path[len(parent) + 1 :] if parent else artifact.path
        write_stream(confined_join(dest, rel), chunks)
    if not prefix:
        return dest
    return dest / (prefix[len(parent) + 1 :] if parent else prefix)


def download_dataset(
    backend: Backend, ref: str, dest: Path, project: str | None = None
) -> DatasetVersion:
    """Download a stored dataset version's files into ``dest`` at their relative paths."""
    version, files = backend.read_dataset_files(ref, project)
    dest = Path(dest)
    for rel, chunks in files:
        write_stream(confined_join(dest, rel, "dataset file"), chunks)
    return version
