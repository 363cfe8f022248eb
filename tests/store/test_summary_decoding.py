"""Decoding summary and capture JSON with orjson gives exactly what ``json.loads`` gives.

``decode_document`` reads the params and tags of every loaded experiment (and its seeds and
capture records) with orjson, falling back to ``json.loads`` where orjson refuses a document
(NaN/Infinity tokens, escaped lone surrogates) or would read it differently (integers beyond
64 bits, which orjson turns into floats). These tests generate every kind of value the
validation layer accepts, encode it as the writers do, and require the same values *and*
types as ``json.loads``. Also here: the fast builders of ``MetricSummary`` and of frozen
entities give objects identical to their ``__init__``'s.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import sys
from dataclasses import FrozenInstanceError, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mled.entities import Experiment, MetricSummary, User
from mled.errors import InvalidParamValue
from mled.service.audit import canonical_json
from mled.store.sql.frozen import frozen_builder
from mled.store.sql.summaries import (
    decode_document,
    decode_metrics,
    decode_metrics_and_lasts,
    decode_tags,
    encode_metrics,
    encode_params,
    encode_tags,
)
from mled.validation import encode_param, validate_tag_value

INT64_EDGES = [
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    2**64 + 1,
    -(2**63),
    -(2**63) - 1,
    -(2**64),
    10**18,
    10**19,
    2**53 + 1,
]
"""The integers around orjson's 64-bit limit, where its reading changes from int to float."""


def _same(a: Any, b: Any) -> bool:
    """Exact equality: same types throughout, NaN equals NaN, -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _decodes_like_json(text: str) -> None:
    assert _same(decode_document(text), json.loads(text)), text


floats = st.floats() | st.sampled_from(
    [
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        2.225073858507201e-308,  # the largest subnormal
        1.7976931348623157e308,
        -1.7976931348623157e308,
        9.223372036854776e18,  # float(2**63): a true float at orjson's huge-number threshold
        1e16,
        0.1,
        1 / 3,
        0.0005768201817790697,
        math.nan,
        math.inf,
        -math.inf,
    ]
)
ints = (
    st.integers()
    | st.sampled_from(INT64_EDGES)
    | st.integers(min_value=-(2**3999), max_value=2**3999)
    | st.integers(min_value=2**63 - 3, max_value=2**64 + 3).map(lambda i: i * (-1) ** (i % 2))
)
texts = st.text(
    st.characters(codec=None, exclude_characters="\x00")  # lone surrogates included
    | st.sampled_from(['"', "\\", "\n", "\t", "\x7f", "\u2028", "é", "😀", "\ud800", "\udfff"]),
    max_size=20,
)
scalars = st.none() | st.booleans() | ints | floats | texts


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(texts, inner, max_size=4)
        # keys of one type, which json writes as strings: sort_keys cannot order mixed types
        | st.dictionaries(st.integers(min_value=-(2**70), max_value=2**70), inner, max_size=3)
        | st.dictionaries(st.floats(allow_nan=False, allow_infinity=False), inner, max_size=3)
    )


json_params = st.recursive(scalars, _containers, max_leaves=10)
numpy_params = (
    floats.map(np.float64)
    | st.floats(width=32).map(np.float32)
    | st.integers(min_value=-(2**63), max_value=2**63 - 1).map(np.int64)
    | st.integers(min_value=0, max_value=2**64 - 1).map(np.uint64)
    | st.booleans().map(np.bool_)
    | st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4).map(np.array)
    | st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=4).map(
        lambda xs: np.array(xs, dtype=np.uint64)
    )
)
param_values = scalars | json_params | numpy_params | st.fractions()
param_keys = st.from_regex(r"[A-Za-z0-9_\-.:/][A-Za-z0-9_\-. :/]{0,15}", fullmatch=True)


def _stored(value: Any) -> tuple[str, str]:
    """(value_type, value_text) as the params table holds them; values refused are skipped."""
    try:
        return encode_param(value)[:2]
    except (InvalidParamValue, ValueError, OverflowError):
        assume(False)
        raise  # unreachable: assume(False) raises


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(param_keys, param_values, max_size=8))
def test_params_documents_decode_exactly_as_json_loads(params: dict[str, Any]) -> None:
    _decodes_like_json(encode_params({k: _stored(v) for k, v in params.items()}))


@settings(max_examples=150, deadline=None)
@given(param_values)
def test_each_param_value_alone_decodes_exactly_as_json_loads(value: Any) -> None:
    vtype, text = _stored(value)
    _decodes_like_json(encode_params({"p": (vtype, text)}))
    if vtype == "json":
        _decodes_like_json(text)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(param_keys, texts | ints | floats | st.booleans(), max_size=6))
def test_tags_documents_decode_exactly_as_json_loads(tags: dict[str, Any]) -> None:
    try:
        values = {k: validate_tag_value(k, v) for k, v in tags.items()}
    except InvalidParamValue:
        assume(False)
        raise  # unreachable: assume(False) raises
    doc = encode_tags(values)
    _decodes_like_json(doc)
    decoded = decode_tags(doc)
    assert decoded == json.loads(doc)
    assert all(type(v) is str for v in decoded.values())


capture_values = st.recursive(scalars, _containers, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(texts, capture_values, max_size=5))
def test_capture_and_seed_documents_decode_exactly_as_json_loads(value: dict[str, Any]) -> None:
    """Seeds, source, command and environment are stored by ``canonical_json``."""
    text = canonical_json(value)
    assert text is not None
    _decodes_like_json(text)


@pytest.mark.parametrize("number", [*INT64_EDGES, 10**400, -(10**400)])
def test_integers_beyond_64_bits_stay_exact_ints_at_any_depth(number: int) -> None:
    for text in (
        f"{number}",
        f'{{"a":{number}}}',
        f'{{"a":"x","b":[1,{{"c":[{number}]}}]}}',
        "[" * 200 + str(number) + "]" * 200,
    ):
        _decodes_like_json(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":NaN,"b":Infinity,"c":-Infinity}',
        '{"a":"\\ud800","b":"\\udfff\\ud800"}',
        '"\ud800"',  # a raw lone surrogate, as canonical_json (ensure_ascii=False) writes one
        '{"a":1e400}',
        '{"a":-0.0,"b":-0,"c":5e-324,"d":1.7976931348623157e+308}',
        '{"a":9223372036854775807,"b":-9223372036854775808,"c":18446744073709551615}',
        '{"a":1,"a":2}',
        "[]",
        "{}",
        "null",
        '"text"',
    ],
)
def test_documents_orjson_refuses_or_reads_differently_decode_as_json_loads(text: str) -> None:
    _decodes_like_json(text)


def test_documents_both_refuse_are_still_refused() -> None:
    for text in ("", "{", '{"a":1} x', '["\t"]', "\ufeff{}"):
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        with pytest.raises(json.JSONDecodeError):
            decode_document(text)


def test_nesting_deeper_than_the_stack_fails_as_json_loads_fails() -> None:
    depth = sys.getrecursionlimit() + 100
    text = "[" * depth + "]" * depth
    with pytest.raises(RecursionError):
        json.loads(text)
    with pytest.raises(RecursionError):
        decode_document(text)


finite_or_none = st.none() | st.floats(allow_nan=False)
metric_rows = st.dictionaries(
    st.from_regex(r"[A-Za-z0-9_\-. :/]{1,12}", fullmatch=True),
    st.tuples(
        finite_or_none,  # last (None: the last value was NaN)
        finite_or_none,
        finite_or_none,
        st.integers(min_value=1, max_value=2**63 - 1),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(metric_rows)
def test_decoded_metric_summaries_are_identical_to_constructed_ones(
    rows: dict[str, tuple[Any, ...]],
) -> None:
    summaries, lasts = decode_metrics_and_lasts(*encode_metrics((k, *v) for k, v in rows.items()))
    want = {
        k: MetricSummary(k, math.nan if last is None else last, lo, hi, count, step, ts)
        for k, (last, lo, hi, count, step, ts) in sorted(rows.items())
    }
    assert list(summaries) == list(want) == list(lasts)
    for key, got in summaries.items():
        assert type(got) is MetricSummary
        assert repr(got) == repr(want[key])
        assert all(
            _same(getattr(got, f.name), getattr(want[key], f.name)) for f in fields(MetricSummary)
        )
        assert _same(lasts[key], got.last)
        if not math.isnan(got.last):
            assert got == want[key]
    assert repr(decode_metrics(*encode_metrics((k, *v) for k, v in rows.items()))) == repr(
        summaries
    )


def test_decoded_metric_summaries_behave_like_constructed_ones() -> None:
    got = decode_metrics(*encode_metrics([("acc", 0.9, 0.5, 0.9, 3, 2, 1700000000.0)]))["acc"]
    want = MetricSummary("acc", 0.9, 0.5, 0.9, 3, 2, 1700000000.0)
    assert got == want
    assert pickle.loads(pickle.dumps(got)) == want
    assert copy.deepcopy(got) == want
    got.count = 4  # not frozen, like every other MetricSummary
    assert got.count == 4
    with pytest.raises(AttributeError):
        got.other = 1  # type: ignore[attr-defined]


def _experiment_values() -> tuple[Any, ...]:
    return (
        "0190a0a0-0000-7000-8000-000000000001",
        "vision",
        "run",
        "finished",
        "alice",
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 2, tzinfo=UTC),
        None,
        "g",
        None,
        "notes",
        {"lr": 0.1, "big": 2**80},
        {"acc": 0.9},
        {"acc": MetricSummary("acc", 0.9, 0.5, 0.9, 3, 2, 1.0)},
        {"t": "v"},
        None,
        {"argv": ["x"]},
        None,
        {"seed": 2**70},
        None,
        None,
    )


def test_the_frozen_builder_builds_what_init_builds() -> None:
    values = _experiment_values()
    built = frozen_builder(Experiment)(*values)
    want = Experiment(*values)
    assert type(built) is Experiment
    assert built == want
    assert repr(built) == repr(want)
    assert hash(frozen_builder(User)(1, "a", False, False)) == hash(User(1, "a", False, False))
    assert pickle.loads(pickle.dumps(built)) == want
    assert copy.deepcopy(built) == want
    with pytest.raises(FrozenInstanceError):
        built.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        frozen_builder(Experiment)(*values[:-1])
    with pytest.raises(TypeError):
        frozen_builder(Experiment)(*values, None)


@dataclass(frozen=True, slots=True)
class Base:
    x: int


@dataclass(frozen=True, slots=True)
class Derived(Base):
    y: int


@dataclass(frozen=True, slots=True)
class WithPostInit:
    x: int

    def __post_init__(self) -> None:
        pass


def test_the_frozen_builder_refuses_classes_it_cannot_build_exactly() -> None:
    for cls in (Derived, WithPostInit):
        with pytest.raises(TypeError):
            frozen_builder(cls)
