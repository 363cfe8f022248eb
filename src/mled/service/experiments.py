"""Experiments: create (live or already run), params, tags, status, reads by ID or prefix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from mled.auth.permissions import Action
from mled.entities import Experiment, NewExperiment
from mled.errors import (
    AlreadyExists,
    AmbiguousId,
    ExperimentNotActive,
    ExperimentNotFound,
    InvalidInput,
    ParamConflict,
    ProjectNotFound,
)
from mled.service.audit import AuditWriter, canonical_json
from mled.service.authorization import authorize
from mled.service.bulk import DEFAULT_BATCH, Importer, prepare
from mled.service.context import ServiceContext
from mled.service.projects import ProjectService
from mled.service.staging import stage_is_full, write_staged
from mled.store.sql import experiments as rows
from mled.store.sql import projects as project_rows
from mled.store.sql import users as user_rows
from mled.store.sql.experiments import ExperimentKey
from mled.store.sql.new_experiments import insert_new_experiments
from mled.store.sql.staged import is_staged, oldest_staged, stage
from mled.validation import (
    check_nesting,
    encode_param,
    validate_key,
    validate_tag_value,
)

TERMINAL = ("finished", "failed", "killed")


def _param_rows(pk: int, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in params.items():
        validate_key(key, "param")
        vtype, text, num = encode_param(value)
        out.append(
            {
                "experiment_id": pk,
                "key": key,
                "value_type": vtype,
                "value_text": text,
                "value_num": num,
            }
        )
    return out


def _tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    return {validate_key(k, "tag"): validate_tag_value(k, v) for k, v in tags.items()}


class ExperimentService:
    """Example:
    >>> svc = ExperimentService(ctx)  # doctest: +SKIP
    >>> exp = svc.create(NewExperiment(project="vision", name="resnet"))  # doctest: +SKIP
    >>> svc.get(exp.id[:8]).status  # doctest: +SKIP
    'running'
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._projects = ProjectService(ctx)

    # --- creating ---------------------------------------------------------------------------

    def create(self, spec: NewExperiment) -> Experiment:
        """Create an experiment with its params, tags and metrics in one transaction.

        It is written like one experiment of ``import_many`` (one ``experiment.create``
        audit event listing the digests of its metric chunks); the experiment returned is
        what :meth:`get` would return. A retried call with the same ``spec.id`` returns the
        first result. The experiment's rows are staged (see :mod:`mled.service.staging`)
        unless it names a parent or an original, which must be found among written rows.
        """
        prepared = prepare(spec)
        importer = Importer(self._ctx, self)
        direct = spec.parent_id is not None or spec.reproduction_of is not None

        def run(conn: Connection, audit: AuditWriter) -> Experiment:
            if not direct and spec.id is not None and is_staged(conn, prepared.public_id):
                write_staged(conn)  # a retry: found below among written experiments
            replayed = self._replayed(conn, spec, prepared.public_id)
            if replayed is not None:
                return rows.load_experiments(conn, [replayed])[0]
            oldest = None if direct else oldest_staged(conn)
            (new,) = importer.encode(conn, audit, [prepared], "experiment.create")
            if direct:
                insert_new_experiments(conn, [new.rows])
            else:
                stage(conn, new.rows)
                if stage_is_full(oldest, new.rows.audit_seq):
                    write_staged(conn)
            # Built from the values just written or staged rather than read back: the same
            # entity, without the queries (tests/service/test_create_readback.py compares them).
            return rows.written_experiment(new.rows.row, new.names, new.rows.summary)

        return self._ctx.write(run, staged_first=direct)

    def import_many(
        self, specs: Sequence[NewExperiment], *, batch_size: int = DEFAULT_BATCH
    ) -> list[str]:
        """Create many experiments that already ran, ``batch_size`` per transaction.

        The fast path for imports and backfills (see :mod:`mled.service.bulk`): every spec is
        validated first, then each batch is one transaction with one ``experiment.import``
        audit event per experiment. Returns the IDs in the order given; a spec whose ``id``
        this user already imported is skipped (a retried import stores nothing twice).
        """
        return Importer(self._ctx, self).run(specs, batch_size)

    def _replayed(self, conn: Connection, spec: NewExperiment, public_id: str) -> int | None:
        """The key of an experiment this same request already created, if any."""
        if spec.id is None:
            return None
        existing = rows.get_key(conn, public_id)
        if existing is None:
            return None
        if existing.owner_id != self._ctx.actor.id:
            raise AlreadyExists(
                f"an experiment with id {public_id} already exists",
                hint="Let MLED generate the id, or use a fresh UUIDv7.",
            )
        return existing.pk

    def _row_values(
        self, conn: Connection, spec: NewExperiment, public_id: str, project_pk: int, now: float
    ) -> tuple[dict[str, Any], tuple[str | None, str | None]]:
        """The ``experiments`` row of ``spec`` by column, and the public IDs of its parent and
        of the original it reproduces (both given as an ID or a unique prefix)."""
        source = spec.source or {}
        terminal = spec.status in TERMINAL
        parent = self._resolve_link(conn, spec.parent_id)
        original = self._resolve_link(conn, spec.reproduction_of)
        values = {
            "public_id": public_id,
            "project_id": project_pk,
            "name": spec.name,
            "group_name": spec.group,
            "parent_id": None if parent is None else parent.pk,
            "reproduction_of": None if original is None else original.pk,
            "status": spec.status,
            "owner_id": self._ctx.actor.id,
            "created_at": now,
            "started_at": spec.started_at
            if spec.started_at is not None
            else (None if terminal else now),
            "ended_at": spec.ended_at if spec.ended_at is not None else (now if terminal else None),
            "notes": spec.notes,
            "source": canonical_json(spec.source),
            "command": canonical_json(spec.command),
            "environment": canonical_json(spec.environment),
            "seeds": canonical_json(spec.seeds),
            "git_commit": source.get("commit"),
            "git_branch": source.get("branch"),
        }
        links = (
            None if parent is None else parent.public_id,
            None if original is None else original.public_id,
        )
        return values, links

    def _resolve_link(self, conn: Connection, id_or_prefix: str | None) -> ExperimentKey | None:
        return None if id_or_prefix is None else resolve(conn, id_or_prefix)

    # --- changing ---------------------------------------------------------------------------

    def writable(self, conn: Connection, id_or_prefix: str, *, running: bool) -> ExperimentKey:
        key = resolve(conn, id_or_prefix)
        project = project_rows.get_project_by_pk(conn, key.project_id)
        assert project is not None
        authorize(
            conn,
            self._ctx.actor,
            Action.EDIT_ANY,
            key.project_id,
            project.entity.name,
            owner_id=key.owner_id,
        )
        if running and key.status != "running":
            raise ExperimentNotActive(
                f"experiment {key.public_id} has status {key.status!r}; only running "
                "experiments accept new params and metrics",
            )
        return key

    def log_params(self, experiment_id: str, params: Mapping[str, Any]) -> None:
        """Log params; re-logging the same value is a no-op, a different one a ParamConflict."""
        for k in params:
            validate_key(k, "param")

        def run(conn: Connection, audit: AuditWriter) -> None:
            key = self.writable(conn, experiment_id, running=True)
            existing = rows.get_param_rows(conn, key.pk)
            new_rows = []
            for r in _param_rows(key.pk, params):
                old = existing.get(r["key"])
                if old is None:
                    new_rows.append(r)
                elif old != (r["value_type"], r["value_text"]):
                    raise ParamConflict(
                        f"param {r['key']!r} is already {rows.decode_param(*old)!r} "
                        f"({old[0]}); it cannot become {params[r['key']]!r} ({r['value_type']})",
                        details={"key": r["key"]},
                    )
            if new_rows:
                rows.insert_params(conn, key.pk, new_rows)
                audit.record(
                    "params.log",
                    "experiment",
                    key.public_id,
                    after={r["key"]: [r["value_type"], r["value_text"]] for r in new_rows},
                )

        self._ctx.write(run)

    def set_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None:
        """Set (add or overwrite) tags; every change is an audit event with before/after."""
        values = _tag_values(tags)

        def run(conn: Connection, audit: AuditWriter) -> None:
            key = self.writable(conn, experiment_id, running=False)
            existing = rows.get_tags(conn, key.pk)
            changed = {k: v for k, v in values.items() if existing.get(k) != v}
            if changed:
                rows.upsert_tags(conn, key.pk, changed, existing)
                audit.record(
                    "tags.set",
                    "experiment",
                    key.public_id,
                    before={k: existing.get(k) for k in changed},
                    after=changed,
                )

        self._ctx.write(run)

    def delete_tag(self, experiment_id: str, tag: str) -> None:
        def run(conn: Connection, audit: AuditWriter) -> None:
            key = self.writable(conn, experiment_id, running=False)
            existing = rows.get_tags(conn, key.pk)
            if tag in existing:
                rows.delete_tag(conn, key.pk, tag)
                audit.record(
                    "tags.delete", "experiment", key.public_id, before={tag: existing[tag]}
                )

        self._ctx.write(run)

    def end(
        self,
        experiment_id: str,
        status: str = "finished",
        *,
        error: str | None = None,
        ended_at: float | None = None,
    ) -> None:
        """Move a running experiment to a terminal status (idempotent for the same status)."""
        if status not in TERMINAL:
            raise InvalidInput(
                f"an experiment ends as one of {', '.join(TERMINAL)}, not {status!r}"
            )

        def run(conn: Connection, audit: AuditWriter) -> None:
            key = self.writable(conn, experiment_id, running=False)
            if key.status == status:
                return
            if key.status != "running":
                raise ExperimentNotActive(
                    f"experiment {key.public_id} already ended as {key.status!r}"
                )
            end = ended_at if ended_at is not None else audit.now
            rows.update_experiment(
                conn, key.pk, {"status": status, "ended_at": end, "error": error}
            )
            audit.record(
                "experiment.end",
                "experiment",
                key.public_id,
                before={"status": key.status},
                after={"status": status, "ended_at": end, "error": error},
            )

        self._ctx.write(run)

    def set_seeds(self, experiment_id: str, seeds: dict[str, Any]) -> None:
        check_nesting(seeds, "seeds")

        def run(conn: Connection, audit: AuditWriter) -> None:
            key = self.writable(conn, experiment_id, running=True)
            rows.update_experiment(conn, key.pk, {"seeds": canonical_json(seeds)})
            audit.record("experiment.seeds", "experiment", key.public_id, after=seeds)

        self._ctx.write(run)

    # --- reading ----------------------------------------------------------------------------

    def get(self, id_or_prefix: str) -> Experiment:
        """One experiment by full ID or unique prefix."""

        def run(conn: Connection) -> Experiment:
            key = resolve(conn, id_or_prefix)
            self._authorize_read(conn, key.project_id)
            return rows.load_experiments(conn, [key.pk])[0]

        return self._ctx.read(run)

    def _load(self, pk: int) -> Experiment:
        return self._ctx.read(lambda conn: rows.load_experiments(conn, [pk])[0])

    def _authorize_read(self, conn: Connection, project_pk: int) -> None:
        project = project_rows.get_project_by_pk(conn, project_pk)
        assert project is not None
        authorize(conn, self._ctx.actor, Action.READ, project_pk, project.entity.name)

    def list(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]:
        """Newest first, only from projects the caller may read."""
        actor = self._ctx.actor

        def run(conn: Connection) -> list[Experiment]:
            only = None if actor.is_admin else user_rows.readable_project_ids(conn, actor.id)
            if project is not None:
                row = project_rows.get_project(conn, project)
                if row is None:
                    raise ProjectNotFound(f"project {project!r} does not exist")
                self._authorize_read(conn, row.pk)
                only = [row.pk]
            pks = rows.list_keys(conn, project_ids=only, limit=limit, offset=offset)
            return rows.load_experiments(conn, pks)

        return self._ctx.read(run)


def resolve(conn: Connection, id_or_prefix: str) -> ExperimentKey:
    """Resolve a full ID or unique prefix; list the candidates when it is ambiguous."""
    text = (id_or_prefix or "").strip().lower()
    if not text:
        raise ExperimentNotFound("an experiment ID is required but an empty one was given")
    exact = rows.get_key(conn, text)
    if exact is not None:
        return exact
    matches = rows.find_by_prefix(conn, text, limit=11)
    if not matches:
        raise ExperimentNotFound(f"no experiment has an ID starting with {text!r}")
    if len(matches) > 1:
        shown = ", ".join(m.public_id for m in matches[:10])
        more = " and more" if len(matches) > 10 else ""
        raise AmbiguousId(
            f"{text!r} matches {len(matches) if len(matches) <= 10 else 'over 10'} "
            f"experiments: {shown}{more}",
            details={"candidates": [m.public_id for m in matches[:10]]},
        )
    return matches[0]
