"""Write ``Experiment`` entities straight into the SQL tables, for the compiler-vs-oracle tests.

This bypasses the service on purpose: it tests the query compiler against the schema alone,
and it can write rows the service would need many calls for (NaN last values, exotic keys).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from query_factories import BASE, make_experiment
from sqlalchemy import Connection, Engine, insert, select, text

from mled.entities import Experiment
from mled.query.evaluate import param_columns
from mled.store.sql.keys import reserve_ids
from mled.store.sql.tables import (
    dataset_inputs,
    dataset_versions,
    datasets,
    experiments,
    metadata,
    metrics,
    params,
    projects,
    tags,
    users,
)
from mled.store.sql.tables.meta import PREFIX_LENGTH


@dataclass(frozen=True)
class DatasetRef:
    """One input dataset version of an experiment."""

    name: str
    version: int
    digest: str
    role: str = "train"


@dataclass
class Loaded:
    """What a test needs to compare SQL results with the oracle."""

    experiments: list[Experiment]
    pk: dict[str, int]  # public id -> integer key
    project_ids: list[int]
    inputs: dict[str, list[DatasetRef]]  # public id -> input datasets

    def tiebreak(self, exp: Experiment) -> int:
        return self.pk[exp.id]

    def datasets(self, exp: Experiment) -> list[DatasetRef]:
        return self.inputs.get(exp.id, [])


def empty_tables(engine: Engine) -> None:
    """Delete every row (PostgreSQL databases are shared by a whole test session)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


def _ts(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


class Loader:
    """Inserts experiments, creating users and projects on first use."""

    def __init__(self, conn: Connection, first_pk: int = 1) -> None:
        self.conn = conn
        self.next_pk = first_pk
        self.users: dict[str, int] = {}
        self.projects: dict[str, int] = {}
        self.versions: dict[tuple[str, int], int] = {}
        for row in conn.execute(users.select()):
            self.users[row.username] = row.id
        for row in conn.execute(projects.select()):
            self.projects[row.name] = row.id

    def _user(self, name: str) -> int:
        if name not in self.users:
            uid = max(self.users.values(), default=0) + 1
            self.conn.execute(
                insert(users).values(id=uid, username=name, is_admin=False, created_at=0.0)
            )
            self.users[name] = uid
        return self.users[name]

    def _project(self, name: str) -> int:
        if name not in self.projects:
            pid = max(self.projects.values(), default=0) + 1
            owner = self._user("loader")
            self.conn.execute(
                insert(projects).values(
                    id=pid, public_id=f"proj-{pid}", name=name, created_at=0.0, created_by=owner
                )
            )
            self.projects[name] = pid
        return self.projects[name]

    def _version(self, ref: DatasetRef) -> int:
        if (ref.name, ref.version) not in self.versions:
            owner = self._user("loader")
            project = self._project("datasets")
            dataset_id = self.conn.execute(
                select(datasets.c.id).where(datasets.c.name == ref.name)
            ).scalar()
            if dataset_id is None:
                dataset_id = len({n for n, _ in self.versions}) + 1
                self.conn.execute(
                    insert(datasets).values(
                        id=dataset_id,
                        public_id=f"ds-{dataset_id}",
                        project_id=project,
                        name=ref.name,
                        created_at=0.0,
                        created_by=owner,
                    )
                )
            vid = len(self.versions) + 1
            self.conn.execute(
                insert(dataset_versions).values(
                    id=vid,
                    public_id=f"dv-{vid}",
                    dataset_id=dataset_id,
                    version=ref.version,
                    digest=ref.digest,
                    file_count=0,
                    size=0,
                    stored=False,
                    created_at=0.0,
                    created_by=owner,
                )
            )
            self.versions[(ref.name, ref.version)] = vid
        return self.versions[(ref.name, ref.version)]

    def add(self, exp: Experiment, inputs: Sequence[DatasetRef] = ()) -> int:
        pk = self.next_pk
        self.next_pk += 1
        source = exp.source or {}
        self.conn.execute(
            insert(experiments).values(
                id=pk,
                public_id=exp.id,
                project_id=self._project(exp.project),
                name=exp.name,
                group_name=exp.group,
                status=exp.status,
                owner_id=self._user(exp.owner),
                created_at=_ts(exp.created_at),
                started_at=_ts(exp.started_at),
                ended_at=_ts(exp.ended_at),
                git_commit=source.get("commit"),
                git_branch=source.get("branch"),
            )
        )
        param_rows = []
        for key, value in exp.params.items():
            vtype, vtext, vnum = param_columns(value)
            param_rows.append(
                {
                    "experiment_id": pk,
                    "key": key,
                    "value_type": vtype,
                    "value_text": vtext,
                    "value_num": vnum,
                    "value_prefix": vtext[:PREFIX_LENGTH],
                }
            )
        if param_rows:
            self.conn.execute(insert(params), param_rows)
        tag_rows = [
            {"experiment_id": pk, "key": k, "value": v, "value_prefix": v[:PREFIX_LENGTH]}
            for k, v in exp.tags.items()
        ]
        if tag_rows:
            self.conn.execute(insert(tags), tag_rows)
        metric_rows = [
            {
                "experiment_id": pk,
                "key": s.key,
                "last": _nan_to_none(s.last),
                "min": _nan_to_none(s.min),
                "max": _nan_to_none(s.max),
                "count": s.count,
                "last_step": s.last_step,
                "last_timestamp": s.last_timestamp,
            }
            for s in exp.metric_summaries.values()
        ]
        if metric_rows:
            ids = reserve_ids(self.conn, metrics, len(metric_rows))
            for row, metric_pk in zip(metric_rows, ids, strict=True):
                row["id"] = metric_pk
            self.conn.execute(insert(metrics), metric_rows)
        for ref in inputs:
            self.conn.execute(
                insert(dataset_inputs).values(
                    experiment_id=pk,
                    dataset_version_id=self._version(ref),
                    role=ref.role,
                    created_at=0.0,
                )
            )
        return pk


def load(
    engine: Engine,
    batches: Sequence[tuple[Sequence[Experiment], dict[str, list[DatasetRef]]]],
) -> list[Loaded]:
    """Insert each batch (experiments and their input datasets) into its own projects."""
    out: list[Loaded] = []
    with engine.begin() as conn:
        loader = Loader(conn)
        for batch, inputs in batches:
            pk = {e.id: loader.add(e, inputs.get(e.id, ())) for e in batch}
            project_ids = sorted({loader.projects[e.project] for e in batch})
            out.append(Loaded(list(batch), pk, project_ids, inputs))
    return out


# --- a random but reproducible population ----------------------------------------------------

NAMES = ["resnet-50", "ResNet-18", "école_50%", "vit", "a*b?[c]", "x%y_z", "Vit", "ÉCOLE", "r"]
TEXTS = ["vision", "Vision", "nlp", "ÉCOLE", "école", "", "a b", "0.5", "zz", "A", "é"]
PARAM_TEXTS = ["0.001", "1e-3", "fast", "adam", "Adam", "sgd", "64", "true", " 5 ", "-0", "nan"]
METRIC_VALUES = [0.0, 0.5, 0.91, 0.95, -1.0, 1.0, 2.5, 1e300, math.inf, -math.inf, math.nan]
PARAM_KEYS = ["lr", "opt", "bs", "flag", "a.b", "model type"]
METRIC_KEYS = ["acc", "loss", "val/loss"]
TAG_KEYS = ["team", "note"]
PROJECTS = ["proj-a", "proj-b", "Proj-C"]
OWNERS = ["alice", "bob", "Émile", "zoe"]
STATUSES = ["running", "finished", "failed", "killed"]
GROUPS = [None, "g1", "g2", "G1"]
DAY = 86400


def _param_value(rnd: random.Random) -> Any:
    kind = rnd.randrange(6)
    if kind == 0:
        return rnd.choice([0.001, 0.01, 0.5, -2.0, 1e-3, 64.0, math.inf])
    if kind == 1:
        return rnd.choice([0, 1, 16, 32, 64, -5])
    if kind == 2:
        return rnd.choice([True, False])
    if kind == 3:
        return rnd.choice([[1, 2], {"a": 1}, None])
    return rnd.choice(PARAM_TEXTS)


DATASETS = [
    DatasetRef("cifar10", 1, "d1"),
    DatasetRef("cifar10", 2, "d2"),
    DatasetRef("cifar10", 2, "d2", role="test"),
    DatasetRef("mnist", 1, "d3"),
    DatasetRef("ImageNet", 3, "D4", role="val"),
    DatasetRef("école", 1, "e5"),
]


def population(
    seed: int, size: int, prefix: str
) -> tuple[list[Experiment], dict[str, list[DatasetRef]]]:
    """``size`` varied experiments whose ids sort in insertion order, and their datasets."""
    rnd = random.Random(seed)
    out = []
    inputs: dict[str, list[DatasetRef]] = {}
    for i in range(size):
        created = BASE + rnd.randrange(-5, 5) * DAY + rnd.choice([0, 1, 3600])
        started = rnd.choice([None, created, created + 10])
        ended = None if started is None or rnd.random() < 0.3 else started + rnd.randrange(0, 9000)
        out.append(
            make_experiment(
                f"{prefix}{i:04d}",
                name=rnd.choice(NAMES),
                project=rnd.choice(PROJECTS),
                status=rnd.choice(STATUSES),
                owner=rnd.choice(OWNERS),
                created=created,
                started=started,
                ended=ended,
                group=rnd.choice(GROUPS),
                params={k: _param_value(rnd) for k in PARAM_KEYS if rnd.random() < 0.7},
                metrics={
                    k: [rnd.choice(METRIC_VALUES) for _ in range(rnd.randrange(1, 4))]
                    for k in METRIC_KEYS
                    if rnd.random() < 0.7
                },
                tags={k: rnd.choice(TEXTS) for k in TAG_KEYS if rnd.random() < 0.7},
                commit=rnd.choice([None, "abc123", "ABC999", "def"]),
                branch=rnd.choice([None, "main", "dev"]),
            )
        )
        chosen = {rnd.choice(DATASETS) for _ in range(rnd.randrange(0, 3))}
        inputs[out[-1].id] = sorted(chosen, key=lambda d: (d.name, d.version, d.role))
    return out, inputs
