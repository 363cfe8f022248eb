"""Pure-Python reference semantics of the query language over ``Experiment`` entities.

This is the oracle the SQL compiler is tested against: it implements every rule of
``docs/query-language.md`` directly and as plainly as possible, with no attention to speed.

Example:
    >>> from datetime import UTC, datetime
    >>> from mled.entities import Experiment
    >>> from mled.query.parser import parse_query
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a = Experiment("a", "p", "run-a", "finished", "alice", t, t, t, params={"lr": 0.01})
    >>> b = Experiment("b", "p", "run-b", "running", "bob", t, t, None, params={"lr": "0.001"})
    >>> [e.id for e in evaluate(parse_query("params.lr < 0.005"), [a, b])]
    ['b']
    >>> [e.id for e in evaluate(parse_query("order by params.lr desc"), [a, b])]
    ['a', 'b']
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mled.entities import Experiment
from mled.query.ast import (
    And,
    Attribute,
    Boolean,
    Comparison,
    Dataset,
    Expr,
    Field,
    InList,
    IsNull,
    Like,
    Metric,
    Not,
    Number,
    Op,
    Or,
    OrderItem,
    Param,
    Query,
    RelativeTime,
    String,
    Tag,
    Timestamp,
    Value,
)
from mled.query.fields import dataset_fields_unavailable
from mled.query.patterns import like_matches

_NUMERIC = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_COMPARE: dict[Op, Callable[[Any, Any], bool]] = {
    Op.EQ: lambda a, b: a == b,
    Op.NE: lambda a, b: a != b,
    Op.LT: lambda a, b: a < b,
    Op.LE: lambda a, b: a <= b,
    Op.GT: lambda a, b: a > b,
    Op.GE: lambda a, b: a >= b,
}


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def param_columns(value: Any) -> tuple[str, str, float | None]:
    """How a param is stored: ``(value_type, value_text, value_num)``.

    ``value_num`` is set for finite ints, floats and bools (1/0) and for strings that spell a
    finite number. This mirrors the writer (``mled.service.validation.encode_param``).

    Example:
        >>> param_columns(True), param_columns("1e-3"), param_columns([1, 2])
        (('bool', 'true', 1.0), ('str', '1e-3', 0.001), ('json', '[1,2]', None))
    """
    if isinstance(value, bool):
        return "bool", "true" if value else "false", float(value)
    if isinstance(value, int):
        return "int", str(value), _finite(float(value))
    if isinstance(value, float):
        return "float", repr(value), _finite(value)
    if isinstance(value, str):
        return "str", value, _finite(float(value)) if _NUMERIC.match(value) else None
    return "json", json.dumps(value, sort_keys=True, separators=(",", ":")), None


def _seconds(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def attribute_value(name: str, exp: Experiment) -> str | float | None:
    """The value of attribute ``name`` of ``exp`` (times in epoch seconds).

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> exp = Experiment("a", "p", "n", "finished", "alice", t, t, t, source={"commit": "c1"})
        >>> attribute_value("git.commit", exp), attribute_value("duration", exp)
        ('c1', 0.0)
    """
    if name == "duration":
        start, end = _seconds(exp.started_at), _seconds(exp.ended_at)
        return None if start is None or end is None else end - start
    if name in ("created", "started", "ended"):
        return _seconds(getattr(exp, f"{name}_at"))
    if name in ("git.commit", "git.branch"):
        stored = (exp.source or {}).get(name.removeprefix("git."))
        return None if stored is None else str(stored)
    text: str | None = getattr(exp, name)
    return text


def metric_value(field: Metric, exp: Experiment) -> tuple[bool, float | None]:
    """Whether the metric key exists, and its value for ``field.agg`` (None: NaN or unknown).

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> exp = Experiment("a", "p", "n", "running", "alice", t, t, None,
        ...                  metrics={"loss": float("nan")})
        >>> metric_value(Metric("loss"), exp), metric_value(Metric("acc"), exp)
        ((True, None), (False, None))
    """
    summary = exp.metric_summaries.get(field.key)
    if summary is None:
        if field.key not in exp.metrics:
            return False, None
        last = exp.metrics[field.key]
        return True, None if field.agg != "last" or math.isnan(last) else last
    value = getattr(summary, field.agg)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True, None
    return True, value


DatasetLookup = Callable[[Experiment], Sequence[Any]]
"""The input datasets of an experiment: objects with ``name``, ``version``, ``digest`` and
``role``."""


def dataset_values(
    field: Dataset, exp: Experiment, lookup: DatasetLookup | None
) -> list[str | int]:
    """``field`` of every input dataset of ``exp`` (``lookup`` or ``exp.datasets`` lists them).

    Example:
        >>> from types import SimpleNamespace as NS
        >>> refs = [NS(name="cifar10", version=2, digest="d")]
        >>> dataset_values(Dataset("version"), None, lambda e: refs)  # type: ignore[arg-type]
        [2]
    """
    found = lookup(exp) if lookup is not None else getattr(exp, "datasets", None)
    if found is None:
        raise dataset_fields_unavailable(field)
    return [getattr(d, field.attr) for d in found]


def _present(field: Field, exp: Experiment) -> bool:
    if isinstance(field, Param):
        return field.key in exp.params
    if isinstance(field, Tag):
        return field.key in exp.tags
    if isinstance(field, Metric):
        return metric_value(field, exp)[0]
    assert isinstance(field, Attribute)
    return attribute_value(field.name, exp) is not None


class Evaluator:
    """Evaluates filters against one ``now`` (epoch seconds).

    ``datasets`` lists the input datasets of an experiment for ``dataset.*`` fields (default:
    its ``datasets`` attribute); a ``dataset.*`` condition holds when it holds for at least one
    of them.
    """

    def __init__(self, now: float, datasets: DatasetLookup | None = None) -> None:
        self.now = now
        self.datasets = datasets

    def literal(self, value: Value) -> Any:
        if isinstance(value, RelativeTime):
            return self.now + value.offset
        if isinstance(value, Timestamp):
            return value.seconds
        return value.value

    def compare(self, field: Field, op: Op, value: Value, exp: Experiment) -> bool:
        """``field op value``; False when the field is missing or not comparable."""
        lit = self.literal(value)
        current: Any
        if isinstance(field, Param):
            if field.key not in exp.params:
                return False
            vtype, text, num = param_columns(exp.params[field.key])
            if isinstance(value, Boolean):
                if vtype != "bool":
                    return False
                current, lit = num, 1.0 if lit else 0.0
            else:
                current = text if isinstance(value, String) else num
        elif isinstance(field, Metric):
            current = metric_value(field, exp)[1]
        elif isinstance(field, Tag):
            current = exp.tags.get(field.key)
        else:
            assert isinstance(field, Attribute)
            current = attribute_value(field.name, exp)
        if current is None:
            return False
        if isinstance(value, Number | Timestamp | RelativeTime):
            current = float(current)
        return _COMPARE[op](current, lit)

    def _text(self, field: Field, exp: Experiment) -> str | None:
        """The text ``like`` matches against (None when missing)."""
        if isinstance(field, Param):
            if field.key not in exp.params:
                return None
            return param_columns(exp.params[field.key])[1]
        if isinstance(field, Tag):
            return exp.tags.get(field.key)
        value = attribute_value(field.name, exp) if isinstance(field, Attribute) else None
        return None if value is None else str(value)

    def matches(self, expr: Expr, exp: Experiment) -> bool:
        """Whether ``exp`` satisfies ``expr``."""
        if isinstance(expr, And):
            return all(self.matches(e, exp) for e in expr.items)
        if isinstance(expr, Or):
            return any(self.matches(e, exp) for e in expr.items)
        if isinstance(expr, Not):
            return not self.matches(expr.item, exp)
        if isinstance(expr.field, Dataset):
            values = dataset_values(expr.field, exp, self.datasets)
            if isinstance(expr, IsNull):
                return bool(values) == expr.negated
            return any(self._one_value(expr, v) for v in values)
        if isinstance(expr, Comparison):
            return self.compare(expr.field, expr.op, expr.value, exp)
        if isinstance(expr, InList):
            if expr.negated:
                return all(self.compare(expr.field, Op.NE, v, exp) for v in expr.values)
            return any(self.compare(expr.field, Op.EQ, v, exp) for v in expr.values)
        if isinstance(expr, Like):
            text = self._text(expr.field, exp)
            if text is None:
                return False
            hit = like_matches(text, expr.pattern, case_sensitive=expr.case_sensitive)
            return hit != expr.negated
        assert isinstance(expr, IsNull)
        return _present(expr.field, exp) == expr.negated

    def _one_value(self, expr: Comparison | InList | Like, value: Any) -> bool:
        """``expr`` on a single value of a multi-valued field (a dataset of the experiment)."""
        if isinstance(expr, Like):
            hit = like_matches(str(value), expr.pattern, case_sensitive=expr.case_sensitive)
            return hit != expr.negated
        if isinstance(expr, Comparison):
            return bool(_COMPARE[expr.op](value, self.literal(expr.value)))
        literals = [self.literal(v) for v in expr.values]
        if expr.negated:
            return all(value != lit for lit in literals)
        return any(value == lit for lit in literals)


def sort_values(
    item: OrderItem, exp: Experiment, datasets: DatasetLookup | None = None
) -> list[Any]:
    """The SQL sort column values of ``exp`` for one ``order by`` key (None sorts last).

    A ``dataset.*`` key sorts by the smallest value among the experiment's datasets.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> exp = Experiment("a", "p", "n", "running", "alice", t, t, None, params={"lr": "1e-3"})
        >>> sort_values(OrderItem(Param("lr")), exp), sort_values(OrderItem(Tag("t")), exp)
        ([0.001, '1e-3'], [None])
    """
    field = item.field
    if isinstance(field, Param):
        if field.key not in exp.params:
            return [None, None]
        _, text, num = param_columns(exp.params[field.key])
        return [num, text]
    if isinstance(field, Metric):
        return [metric_value(field, exp)[1]]
    if isinstance(field, Tag):
        return [exp.tags.get(field.key)]
    if isinstance(field, Dataset):
        values = dataset_values(field, exp, datasets)
        return [min(values) if values else None]
    return [attribute_value(field.name, exp)]


def _public_id(exp: Experiment) -> str:
    return exp.id


def _column(i: int) -> Callable[[tuple[Experiment, list[Any]]], Any]:
    return lambda row: row[1][i]


def sort_experiments(
    experiments: Iterable[Experiment],
    order_by: Sequence[OrderItem],
    *,
    tiebreak: Callable[[Experiment], Any] | None = None,
    datasets: DatasetLookup | None = None,
) -> list[Experiment]:
    """Sort like the SQL search: each key with missing values last, then ``tiebreak`` descending.

    ``tiebreak`` stands for the integer key of the experiment (default: its public ID).

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> a = Experiment("a", "p", "n", "running", "u", t, t, None, metrics={"m": 1.0})
        >>> b = Experiment("b", "p", "n", "running", "u", t, t, None)
        >>> [e.id for e in sort_experiments([a, b], [OrderItem(Metric("m"), descending=True)])]
        ['a', 'b']
    """
    rows = [
        (exp, [v for item in order_by for v in sort_values(item, exp, datasets)])
        for exp in experiments
    ]
    directions = [
        item.descending
        for item in order_by
        for _ in range(2 if isinstance(item.field, Param) else 1)
    ]
    tie: Callable[[Experiment], Any] = tiebreak or _public_id
    rows.sort(key=lambda r: tie(r[0]), reverse=True)
    for i in reversed(range(len(directions))):
        present = [r for r in rows if r[1][i] is not None]
        missing = [r for r in rows if r[1][i] is None]
        present.sort(key=_column(i), reverse=directions[i])
        rows = present + missing
    return [r[0] for r in rows]


def evaluate(
    query: Query,
    experiments: Iterable[Experiment],
    *,
    now: float | None = None,
    tiebreak: Callable[[Experiment], Any] | None = None,
    datasets: DatasetLookup | None = None,
) -> list[Experiment]:
    """Filter, sort and limit ``experiments`` as the SQL search would.

    ``now`` is the instant ``now`` stands for (default: the current time); ``tiebreak`` and
    ``datasets`` are described at :func:`sort_experiments` and :class:`Evaluator`.

    Example:
        >>> from datetime import UTC, datetime
        >>> from mled.query.parser import parse_query
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> a = Experiment("a", "p", "n", "running", "u", t, t, None, tags={"team": "nlp"})
        >>> [e.id for e in evaluate(parse_query("tags.team = 'nlp'"), [a])]
        ['a']
    """
    evaluator = Evaluator(time.time() if now is None else now, datasets)
    kept = [e for e in experiments if query.where is None or evaluator.matches(query.where, e)]
    ordered = sort_experiments(kept, query.order_by, tiebreak=tiebreak, datasets=datasets)
    return ordered if query.limit is None else ordered[: query.limit]
