"""The whitelist of query fields: name resolution (with MLflow aliases), kinds, suggestions.

A field is written as dot-separated parts; a part may be quoted with backticks or quotes
(``params.`a.b```). :func:`resolve_field` turns the parts into an AST field or raises
:class:`FieldLookupError` carrying a "did you mean" suggestion.

Example:
    >>> resolve_field([PathPart("attributes"), PathPart("start_time")])
    Attribute(name='started')
    >>> resolve_field([PathPart("metrics"), PathPart("loss"), PathPart("min")])
    Metric(key='loss', agg='min')
    >>> field_text(Param("a.b"))
    'params.`a.b`'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from mled.errors import InvalidInput
from mled.query.ast import Attribute, Dataset, DatasetAttr, Field, Metric, MetricAgg, Param, Tag


class Kind(StrEnum):
    """What a field holds, which decides the literals it can be compared with."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    PARAM = "param"  # typed: compared as a number or as text depending on the literal


ATTRIBUTES: dict[str, Kind] = {
    "id": Kind.TEXT,
    "name": Kind.TEXT,
    "project": Kind.TEXT,
    "group": Kind.TEXT,
    "status": Kind.TEXT,
    "owner": Kind.TEXT,
    "created": Kind.TIME,
    "started": Kind.TIME,
    "ended": Kind.TIME,
    "duration": Kind.NUMBER,
    "git.commit": Kind.TEXT,
    "git.branch": Kind.TEXT,
}
"""Every attribute, by canonical name."""

NULLABLE_ATTRIBUTES = frozenset(
    {"group", "started", "ended", "duration", "git.commit", "git.branch"}
)
"""Attributes that can be absent; the others are set on every experiment."""

TIME_OR_NUMBER_ATTRIBUTES = frozenset(n for n, k in ATTRIBUTES.items() if k is not Kind.TEXT)
"""Attributes that hold numbers (epoch seconds or seconds); the others hold text."""

LOWERCASE_ATTRIBUTES = frozenset({"id", "status"})
"""Attributes whose values are stored in lower case and compared case-insensitively."""

ATTRIBUTE_ALIASES: dict[str, str] = {
    "run_id": "id",
    "run_name": "name",
    "run name": "name",
    "start_time": "started",
    "end_time": "ended",
    "user_id": "owner",
    "group_name": "group",
}
"""MLflow's attribute names (and a few obvious spellings) mapped to ours (case-insensitive)."""

METRIC_AGGS: tuple[str, ...] = get_args(MetricAgg)
DATASET_ATTRS: tuple[str, ...] = get_args(DatasetAttr)

_ATTRIBUTE_PREFIXES = frozenset({"attributes", "attribute", "attr", "run"})
_DATASET_PREFIXES = frozenset({"dataset", "datasets"})
DATASET_ALIASES = {"context": "role"}
"""MLflow's name of a dataset input's role (``datasets.context = 'training'``)."""
UNSUPPORTED_ATTRIBUTES = {
    "artifact_uri": (
        "MLflow's `artifact_uri` has no counterpart in MLED: artifacts are stored once by "
        "content and listed per experiment (`mled artifacts list ID`), not under a URI per "
        "experiment"
    ),
}
"""MLflow attributes MLED cannot search, with the reason."""
_WRONG_PREFIXES = {
    "metric": "metrics",
    "param": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
}
_PREFIXES = ("params", "metrics", "tags", "attributes", "dataset", "git")
_BARE_KEY = re.compile(r"[A-Za-z0-9_\-:/]+")


class FieldLookupError(Exception):
    """A field path names nothing; ``suggestion`` is the nearest valid field, if any."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion


@dataclass(frozen=True, slots=True)
class PathPart:
    """One dot-separated part of a field path; quoted parts are never keywords or aggregates."""

    text: str
    quoted: bool = False


def kind_of(field: Field) -> Kind:
    """Return what ``field`` holds.

    Example:
        >>> kind_of(Attribute("created")), kind_of(Metric("acc")), kind_of(Tag("t"))
        (<Kind.TIME: 'time'>, <Kind.NUMBER: 'number'>, <Kind.TEXT: 'text'>)
    """
    if isinstance(field, Attribute):
        return ATTRIBUTES[field.name]
    if isinstance(field, Param):
        return Kind.PARAM
    if isinstance(field, Metric):
        return Kind.NUMBER
    if isinstance(field, Tag):
        return Kind.TEXT
    return Kind.NUMBER if field.attr == "version" else Kind.TEXT


def quote_key(key: str) -> str:
    """Write a param/metric/tag key so that it parses back to itself.

    Example:
        >>> quote_key("lr"), quote_key("model type"), quote_key("a.b")
        ('lr', '`model type`', '`a.b`')
    """
    if _BARE_KEY.fullmatch(key):
        return key
    if "`" not in key and "\n" not in key and "\r" not in key:
        return f"`{key}`"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\r", "\\r") + '"'


def field_text(field: Field) -> str:
    """Canonical query text of ``field``.

    Example:
        >>> field_text(Metric("loss", "min")), field_text(Attribute("git.commit"))
        ('metrics.loss.min', 'git.commit')
    """
    if isinstance(field, Attribute):
        return field.name
    if isinstance(field, Param):
        return f"params.{quote_key(field.key)}"
    if isinstance(field, Metric):
        base = f"metrics.{quote_key(field.key)}"
        return base if field.agg == "last" else f"{base}.{field.agg}"
    if isinstance(field, Tag):
        return f"tags.{quote_key(field.key)}"
    return f"dataset.{field.attr}"


def _path_text(parts: Sequence[PathPart]) -> str:
    return ".".join(quote_key(p.text) if p.quoted else p.text for p in parts)


def _key(parts: Sequence[PathPart], what: str) -> str:
    if not parts:
        raise FieldLookupError(
            f"`{what}` needs a key, e.g. `{what}.accuracy`", suggestion=f"{what}.<key>"
        )
    key = ".".join(p.text for p in parts)
    if not key:
        raise FieldLookupError(f"empty {what} key")
    return key


def _closest(word: str, candidates: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _attribute(name: str, shown: str) -> Attribute:
    low = name.lower()
    low = ATTRIBUTE_ALIASES.get(low, low)
    if low in ATTRIBUTES:
        return Attribute(low)
    if low in UNSUPPORTED_ATTRIBUTES:
        raise FieldLookupError(UNSUPPORTED_ATTRIBUTES[low])
    candidates = [*ATTRIBUTES, *ATTRIBUTE_ALIASES]
    best = _closest(low, candidates)
    if best is not None:
        best = ATTRIBUTE_ALIASES.get(best, best)
    raise FieldLookupError(f"unknown field `{shown}`", suggestion=best)


def resolve_field(parts: Sequence[PathPart]) -> Field:
    """Resolve a dotted field path into an AST field.

    ``metrics.K.min`` takes an aggregate only when the last part is an unquoted aggregate name;
    every other dot belongs to the key, as in MLflow (``params.optimizer.lr`` is the param
    ``optimizer.lr``). Raises :class:`FieldLookupError` for anything else.

    Example:
        >>> resolve_field([PathPart("params"), PathPart("optimizer"), PathPart("lr")])
        Param(key='optimizer.lr')
        >>> resolve_field([PathPart("Created")])
        Attribute(name='created')
    """
    if not parts:
        raise FieldLookupError("empty field")
    head, rest = parts[0], list(parts[1:])
    low = head.text.lower()
    shown = _path_text(parts)
    if low == "params":
        return Param(_key(rest, "params"))
    if low == "tags":
        return Tag(_key(rest, "tags"))
    if low == "metrics":
        last = rest[-1] if len(rest) >= 2 else None
        if last is not None and not last.quoted and last.text.lower() in METRIC_AGGS:
            agg: MetricAgg = last.text.lower()  # type: ignore[assignment]
            return Metric(_key(rest[:-1], "metrics"), agg)
        return Metric(_key(rest, "metrics"))
    if low in _DATASET_PREFIXES:
        attr = ".".join(p.text for p in rest).lower()
        attr = DATASET_ALIASES.get(attr, attr)
        if attr in DATASET_ATTRS:
            return Dataset(attr)  # type: ignore[arg-type]
        best = _closest(attr, DATASET_ATTRS) if attr else None
        raise FieldLookupError(
            f"unknown field `{shown}`: datasets have name, version, digest and role",
            suggestion=f"dataset.{best}" if best else None,
        )
    if low in _ATTRIBUTE_PREFIXES and rest:
        return _attribute(".".join(p.text for p in rest), shown)
    if low == "git" and not head.quoted:
        return _attribute("git." + ".".join(p.text for p in rest), shown)
    if low in _WRONG_PREFIXES:
        right = _WRONG_PREFIXES[low]
        fixed = _path_text([PathPart(right), *rest]) if rest else f"{right}.<key>"
        raise FieldLookupError(f"unknown field `{shown}`", suggestion=fixed)
    if not rest:
        return _attribute(head.text, shown)
    best = _closest(low, [*_PREFIXES, *_WRONG_PREFIXES])
    if best is not None:
        best = _WRONG_PREFIXES.get(best, best)
        raise FieldLookupError(
            f"unknown field `{shown}`", suggestion=_path_text([PathPart(best), *rest])
        )
    raise FieldLookupError(f"unknown field `{shown}`")


def dataset_fields_unavailable(field: Dataset) -> InvalidInput:
    """The error for ``dataset.*`` where the input datasets of experiments are not known.

    The SQL compiler reads them from the ``dataset_inputs`` tables; the reference evaluator
    raises this unless it is given a lookup (or the entities carry a ``datasets`` attribute).
    """
    return InvalidInput(
        f"dataset fields are not available yet (dataset.{field.attr})",
        hint="Filter on a tag or param that names the dataset until dataset tracking lands.",
    )


def valid_fields_hint() -> str:
    """One-line list of the valid fields, for error hints."""
    attrs = ", ".join(ATTRIBUTES)
    return (
        f"Fields are params.<key>, metrics.<key>[.min|.max|.last|.count], tags.<key>, "
        f"dataset.name|version|digest|role and the attributes {attrs}. Quote keys with spaces or "
        "dots in backticks: params.`a b`."
    )
