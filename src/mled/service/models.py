"""The model registry: versions registered from experiments' artifacts, and moving aliases.

Registering and moving aliases need the ``register_model`` permission in the model's project
(the project of the experiment it was registered from); every change is an audit event, and
every alias move is also kept in the alias history.

Example:
    >>> mv = services.models.register(exp.id, "models/resnet", "resnet")  # doctest: +SKIP
    >>> services.models.set_alias("resnet", "production", mv.version).aliases  # doctest: +SKIP
    ['production']
"""

from __future__ import annotations

from sqlalchemy import Connection

from mled.artifacts.entities import (
    FileEntry,
    Model,
    ModelDetails,
    ModelVersion,
    manifest_digest,
)
from mled.artifacts.errors import ArtifactNotFound, ModelNotFound
from mled.artifacts.refs import Ref, parse_ref, validate_alias, validate_asset_name
from mled.auth.permissions import Action
from mled.ids import new_id
from mled.paths import normalize_path
from mled.service.artifacts import lookup_named, readable_projects
from mled.service.audit import AuditWriter
from mled.service.authorization import authorize
from mled.service.context import ServiceContext
from mled.service.experiments import resolve
from mled.store.sql import artifacts as artifact_rows
from mled.store.sql import models as rows
from mled.store.sql import projects as project_rows
from mled.store.sql.models import ModelKey


class ModelService:
    """Registered models, versions and aliases."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    # --- changing -----------------------------------------------------------------------------

    def register(self, experiment_id: str, artifact_path: str, name: str) -> ModelVersion:
        """Register an experiment's artifact (a file, or every file under a folder) as the
        next version of model ``name`` in the experiment's project.

        Registering the same artifact with the same content again returns the version that
        already has it.
        """
        validate_asset_name(name, "model")
        path = normalize_path(artifact_path, "model artifact path")

        def run(conn: Connection, audit: AuditWriter) -> int:
            key = resolve(conn, experiment_id)
            project = project_rows.get_project_by_pk(conn, key.project_id)
            assert project is not None
            authorize(conn, self._ctx.actor, Action.REGISTER_MODEL, project.pk, project.entity.name)
            files = artifact_rows.list_artifacts(conn, key.pk, path)
            if not files:
                raise ArtifactNotFound(
                    f"experiment {key.public_id} has no artifact at or under {path!r}"
                )
            if len(files) == 1 and files[0].path == path:
                digest = files[0].digest
            else:
                digest = manifest_digest(
                    {a.path[len(path) + 1 :]: FileEntry(a.size, a.digest) for a in files}
                )
            model = self._get_or_create(conn, audit, project.pk, name)
            same = rows.find_same_version(conn, model.pk, key.pk, path, digest)
            if same is not None:
                return same[0]
            number = rows.next_version(conn, model.pk)
            public_id = new_id()
            size = sum(a.size for a in files)
            pk = rows.insert_version(
                conn,
                {
                    "public_id": public_id,
                    "model_id": model.pk,
                    "version": number,
                    "experiment_id": key.pk,
                    "artifact_path": path,
                    "digest": digest,
                    "size": size,
                    "file_count": len(files),
                    "created_at": audit.now,
                    "created_by": self._ctx.actor.id,
                },
            )
            audit.record(
                "model.version.register",
                "model_version",
                public_id,
                after={
                    "model": name,
                    "project": project.entity.name,
                    "version": number,
                    "experiment": key.public_id,
                    "artifact_path": path,
                    "digest": digest,
                    "size": size,
                    "file_count": len(files),
                },
            )
            return pk

        pk = self._ctx.write(run)
        return self._ctx.read(lambda conn: rows.get_version_by_pk(conn, pk))

    def _get_or_create(
        self, conn: Connection, audit: AuditWriter, project_pk: int, name: str
    ) -> ModelKey:
        found = rows.get(conn, project_pk, name)
        if found is not None:
            return found
        public_id = new_id()
        rows.insert_model(
            conn,
            {
                "public_id": public_id,
                "project_id": project_pk,
                "name": name,
                "created_at": audit.now,
                "created_by": self._ctx.actor.id,
            },
        )
        audit.record("model.create", "model", public_id, after={"name": name})
        created = rows.get(conn, project_pk, name)
        assert created is not None
        return created

    def set_alias(
        self, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` (``production``, ``staging`` ...) at a version of model ``name``."""
        validate_alias(alias)

        def run(conn: Connection, audit: AuditWriter) -> None:
            model = self._writable_model(conn, name, project)
            target = rows.get_version(conn, model.pk, version)
            if target is None:
                raise ModelNotFound(f"model {name!r} has no version {version}")
            old = rows.alias_version(conn, model.pk, alias)
            if old == version:
                return
            rows.move_alias(
                conn,
                model.pk,
                alias,
                old=old,
                new=(target[0], version),
                now=audit.now,
                actor_id=self._ctx.actor.id,
            )
            audit.record(
                "model.alias.set",
                "model",
                model.public_id,
                before={"alias": alias, "version": old},
                after={"alias": alias, "version": version, "model": name},
            )

        self._ctx.write(run)
        return self.get_version(f"{name}@{alias}", project)

    def delete_alias(self, name: str, alias: str, project: str | None = None) -> None:
        """Remove an alias (its history keeps the deletion)."""
        validate_alias(alias)

        def run(conn: Connection, audit: AuditWriter) -> None:
            model = self._writable_model(conn, name, project)
            old = rows.alias_version(conn, model.pk, alias)
            if old is None:
                raise ModelNotFound(f"model {name!r} has no alias {alias!r}")
            rows.move_alias(
                conn, model.pk, alias, old=old, new=None, now=audit.now, actor_id=self._ctx.actor.id
            )
            audit.record(
                "model.alias.delete",
                "model",
                model.public_id,
                before={"alias": alias, "version": old},
                after={"alias": alias, "version": None, "model": name},
            )

        self._ctx.write(run)

    def _writable_model(self, conn: Connection, name: str, project: str | None) -> ModelKey:
        validate_asset_name(name, "model")
        model = self._model(conn, name, project)
        authorize(conn, self._ctx.actor, Action.REGISTER_MODEL, model.project_pk, model.project)
        return model

    # --- reading ------------------------------------------------------------------------------

    def _model(self, conn: Connection, name: str, project: str | None) -> ModelKey:
        return lookup_named(conn, self._ctx.actor, name, project, rows.find, "model", ModelNotFound)

    def version_of(self, conn: Connection, ref: Ref, project: str | None) -> ModelVersion:
        """Inside a read: the version a reference names (latest, number or alias)."""
        model = self._model(conn, ref.name, project)
        number = ref.version
        if ref.alias is not None:
            number = rows.alias_version(conn, model.pk, ref.alias)
            if number is None:
                raise ModelNotFound(f"model {ref.name!r} has no alias {ref.alias!r}")
        found = rows.get_version(conn, model.pk, number)
        if found is None:
            what = "no versions" if number is None else f"no version {number}"
            raise ModelNotFound(f"model {ref.name!r} has {what}")
        return found[1]

    def get_version(self, ref: str, project: str | None = None) -> ModelVersion:
        """``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS``."""
        parsed = parse_ref(ref, "model")
        return self._ctx.read(lambda conn: self.version_of(conn, parsed, project))

    def list(self, project: str | None = None) -> list[Model]:
        """Models of the projects the caller may read (or of ``project``)."""

        def run(conn: Connection) -> list[Model]:
            found = rows.list_models(conn, readable_projects(conn, self._ctx.actor))
            return [m for m in found if project is None or m.project == project]

        return self._ctx.read(run)

    def get(self, name: str, project: str | None = None) -> ModelDetails:
        """A model with all its versions and its alias history."""
        validate_asset_name(name, "model")

        def run(conn: Connection) -> ModelDetails:
            key = self._model(conn, name, project)
            models = [m for m in rows.list_models(conn, [key.project_pk]) if m.name == name]
            return ModelDetails(
                model=models[0],
                versions=rows.list_versions(conn, key.pk),
                alias_history=rows.alias_history(conn, key.pk),
            )

        return self._ctx.read(run)
