"""Hypothesis strategies for well-typed query ASTs over the fields of ``query_dataset``."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from query_dataset import (
    DAY,
    METRIC_KEYS,
    METRIC_VALUES,
    NAMES,
    OWNERS,
    PARAM_KEYS,
    PARAM_TEXTS,
    PROJECTS,
    STATUSES,
    TAG_KEYS,
    TEXTS,
)
from query_factories import BASE

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
from mled.query.fields import ATTRIBUTES, Kind, kind_of

TEXT_ATTRS = [n for n, k in ATTRIBUTES.items() if k is Kind.TEXT]
NUMERIC_ATTRS = [n for n, k in ATTRIBUTES.items() if k is not Kind.TEXT]

fields: st.SearchStrategy[Field] = st.one_of(
    st.builds(Param, st.sampled_from([*PARAM_KEYS, "missing"])),
    st.builds(
        Metric,
        st.sampled_from([*METRIC_KEYS, "missing"]),
        st.sampled_from(["last", "min", "max", "count"]),
    ),
    st.builds(Tag, st.sampled_from([*TAG_KEYS, "missing"])),
    st.builds(Attribute, st.sampled_from(list(ATTRIBUTES))),
    st.builds(Dataset, st.sampled_from(["name", "version", "digest", "role"])),
)

_finite = [v for v in METRIC_VALUES if v == v and abs(v) != float("inf")]
numbers = st.one_of(
    st.sampled_from([*_finite, 0.001, 16.0, 32.0, 64.0, 1.0, 2.0, 3.0, 60.0, 3600.0]),
    st.floats(-100, 100, allow_nan=False),
).map(Number)
attribute_texts = {
    "name": NAMES,
    "project": PROJECTS,
    "owner": OWNERS,
    "status": STATUSES,
    "group": ["g1", "g2", "G1"],
    "git.commit": ["abc123", "ABC999", "def"],
    "git.branch": ["main", "dev"],
    "id": ["q0001", "q0050", "r0001"],
}
dataset_texts = [
    *("cifar10", "mnist", "ImageNet", "imagenet", "école", "d1", "d2", "D4", "e5"),
    *("train", "test", "val", "Train"),
]
all_texts = sorted({*TEXTS, *PARAM_TEXTS, *NAMES, "true", "false", "1", "a", "z"})
times = st.one_of(
    st.integers(-6, 6).map(lambda d: Timestamp(float(BASE + d * DAY))),
    st.integers(-8, 8).map(lambda d: RelativeTime(float(d * DAY))),
)
NOW = float(BASE + DAY)

like_patterns = st.one_of(
    st.sampled_from(
        ["%", "_", "r%", "R%", "%50\\%", "%e%", "é%", "É%", "a*b?[c]", "x\\%y\\_z", "%_%", "__"]
    ),
    st.text(alphabet="aAéÉ%_\\*?[", max_size=5),
)


def texts_for(field: Field) -> st.SearchStrategy[str]:
    if isinstance(field, Attribute):
        pool = attribute_texts.get(field.name, all_texts)
        return st.one_of(st.sampled_from(pool), st.sampled_from(all_texts))
    if isinstance(field, Dataset):
        return st.sampled_from(dataset_texts)
    return st.sampled_from(all_texts)


def values_for(field: Field, op: Op | None) -> st.SearchStrategy[Value]:
    kind = kind_of(field)
    if kind is Kind.TIME:
        return times
    if kind is Kind.NUMBER:
        return numbers
    if kind is Kind.TEXT:
        lower = isinstance(field, Attribute) and field.name in ("id", "status")
        return texts_for(field).map(lambda t: String(t.lower() if lower else t))
    options: list[st.SearchStrategy[Any]] = [numbers, texts_for(field).map(String)]
    if op in (None, Op.EQ, Op.NE):
        options.append(st.booleans().map(Boolean))
    return st.one_of(*options)


@st.composite
def predicates(draw: st.DrawFn) -> Expr:
    field = draw(fields)
    kind = kind_of(field)
    shape = draw(st.sampled_from(["cmp", "cmp", "in", "like", "null"]))
    if shape == "like" and kind in (Kind.TEXT, Kind.PARAM):
        pattern = draw(like_patterns)
        if isinstance(field, Attribute) and field.name in ("id", "status"):
            pattern = pattern.lower()
        return Like(field, pattern, draw(st.booleans()), draw(st.booleans()))
    if shape == "in":
        values = draw(st.lists(values_for(field, None), min_size=1, max_size=3))
        return InList(field, tuple(values), draw(st.booleans()))
    if shape == "null":
        return IsNull(field, draw(st.booleans()))
    op = draw(st.sampled_from(list(Op)))
    return Comparison(field, op, draw(values_for(field, op)))


def _flatten(kind: type[And] | type[Or], items: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else [item])
    return kind(tuple(flat))


def _combinations(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: _flatten(And, xs)),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: _flatten(Or, xs)),
        children.map(Not),
    )


expressions: st.SearchStrategy[Expr] = st.recursive(predicates(), _combinations, max_leaves=6)

order_items = st.builds(OrderItem, fields, st.booleans())

queries: st.SearchStrategy[Query] = st.builds(
    Query,
    where=st.one_of(expressions, expressions, expressions, st.none()),
    order_by=st.lists(order_items, max_size=3).map(tuple),
    limit=st.one_of(st.none(), st.none(), st.integers(0, 30)),
)

walked_orders = st.builds(
    OrderItem,
    st.one_of(
        st.builds(Metric, st.sampled_from([*METRIC_KEYS, "missing"])),
        st.builds(Param, st.sampled_from([*PARAM_KEYS, "missing"])),
        st.builds(Tag, st.sampled_from([*TAG_KEYS, "missing"])),
    ),
    st.booleans(),
)
walked_queries: st.SearchStrategy[Query] = st.builds(
    Query,
    where=st.one_of(expressions, st.none()),
    order_by=st.one_of(st.tuples(walked_orders), st.tuples(walked_orders), st.just(())),
    limit=st.one_of(st.none(), st.none(), st.integers(0, 30)),
)
"""Queries sorted by one metric's last value, one param or one tag alone, or filtered and
not sorted: those that walk an index (or the experiments, newest first)."""
