"""The fast paths of the audit encoding and of key/tag/param validation change no output.

``canonical_json`` and ``event_hash`` feed the audit hash chain and ``validate_key``,
``validate_tag_value`` and ``encode_param`` decide what is stored: each is compared, output
and error alike, with a frozen copy of the implementation it replaced.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import numbers
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mled.errors import InvalidParamValue
from mled.service.audit import canonical_json, event_hash
from mled.validation import encode_param, validate_key, validate_tag_value
from old_validation import old_validate_key

# --- the implementations before the fast paths, frozen ---------------------------------------


def old_canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(
        old_nan_safe(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def old_nan_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): old_nan_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [old_nan_safe(v) for v in value]
    return value


def old_event_hash(
    seq: int,
    time: float,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [seq, repr(float(time)), actor, action, object_type, object_id, before, after, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


OLD_NUMERIC_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def old_encode_param(value: Any) -> tuple[str, str, float | None]:
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bool):
        return "bool", "true" if value else "false", float(value)
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number.bit_length() > 4000:
            raise InvalidParamValue(
                f"an int param of {number.bit_length()} bits is too large to store",
                hint="Store huge numbers as strings.",
            )
        return "int", str(number), old_finite(float(number)) if abs(number) < 2**1023 else None
    if isinstance(value, numbers.Real):
        f = float(value)
        return "float", repr(f), old_finite(f)
    if isinstance(value, str):
        if len(value) > 65_536:
            raise InvalidParamValue(f"param value is {len(value)} characters; limit 65536")
        old_refuse_nul(value, "param value")
        num = old_number_in(value)
        return "str", value, None if num is None else old_finite(num)
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=old_plain
        )
    except (TypeError, ValueError) as err:
        raise InvalidParamValue(
            f"param value of type {type(value).__name__} cannot be stored: {err}"
        ) from err
    if len(text) > 65_536:
        raise InvalidParamValue(f"param value is {len(text)} characters as JSON; limit 65536")
    return "json", text, None


def old_number_in(text: str) -> float | None:
    # The one change since: "0\x1f" matched the regex and made float() raise; no audit entry
    # can hold such a value, so the hashes of everything stored are unchanged.
    if not OLD_NUMERIC_RE.match(text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def old_finite(f: float) -> float | None:
    return f if math.isfinite(f) else None


def old_plain(value: Any) -> Any:
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def old_refuse_nul(text: str, what: str) -> None:
    if "\x00" in text:
        raise InvalidParamValue(
            f"{what} contains a NUL character (\\x00)",
            hint="Remove the NUL characters, or log binary data as an artifact.",
        )


def old_validate_tag_value(key: str, value: object) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = str(value)
    else:
        raise InvalidParamValue(
            f"tag {key!r} has a {type(value).__name__} value; tags are strings",
            hint="Convert the value to a string, or log it as a param.",
        )
    old_refuse_nul(text, f"tag {key!r} value")
    if len(text) > 65_536:
        raise InvalidParamValue(f"tag {key!r} value is {len(text)} characters; limit 65536")
    return text


# --- comparing ---------------------------------------------------------------------------------


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """What a call returned, exactly (type and repr), or the error it raised."""
    try:
        result = fn(*args)
    except Exception as err:
        cause = err.__cause__
        return "raised", (
            type(err),
            str(err),
            getattr(err, "hint", None),
            type(cause),
            str(cause),
        )
    return "returned", _exact(result)


def _exact(value: Any) -> Any:
    # == is not enough: 0.0 == -0.0, 1 == 1.0 == True, and NaN != NaN.
    if isinstance(value, tuple):
        return tuple(_exact(v) for v in value)
    return type(value), repr(value)


def assert_same(old: Callable[..., Any], new: Callable[..., Any], *args: Any) -> None:
    assert outcome(new, *args) == outcome(old, *args)


# --- values ------------------------------------------------------------------------------------


class Color(enum.IntEnum):
    RED = 1


class Mode(str, enum.Enum):  # noqa: UP042 - str() is 'Mode.FAST', unlike a StrEnum's
    FAST = "fast"


class Label(str):
    def __str__(self) -> str:
        return f"Label<{str.__str__(self)}>"


class Money(float):
    def __repr__(self) -> str:
        return f"Money({float.__repr__(self)})"


class Reversed(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        return reversed(list(super().__iter__()))


class Loud(dict[Any, Any]):
    def items(self) -> Any:
        return [(f"loud-{k}", v) for k, v in super().items()]


SPECIAL_FLOATS = [
    math.nan,
    -math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    5e-324,
    1.7976931348623157e308,
    struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0],  # a NaN with a payload
]
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(SPECIAL_FLOATS)
ints = st.integers() | st.sampled_from([2**63, -(2**63) - 1, 2**1023, 10**300, -(10**400)])
texts = st.text(max_size=12) | st.sampled_from(["", "é", "\x00", "\ud800", '"\\\n\t\x1f', "ü/ß"])
odd_leaves = st.sampled_from(
    [
        Color.RED,
        Mode.FAST,
        Label("x"),
        Money(1.5),
        Money(math.nan),
        np.float64(2.5),
        np.float64(math.nan),
        np.int64(7),
        np.bool_(True),
        Decimal("1.5"),
        b"bytes",
        {1, 2},
        object(),
    ]
)
leaves = st.none() | st.booleans() | ints | floats | texts
keys = (
    texts
    | st.integers(-20, 20)
    | floats
    | st.booleans()
    | st.none()
    | st.sampled_from([Label("k"), Mode.FAST, Color.RED, (1, 2), np.int64(3), "1", "True", "None"])
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=5).map(tuple)
        | st.dictionaries(texts, children, max_size=5)
        | st.dictionaries(keys, children, max_size=5)
        | st.lists(children, max_size=3).map(Reversed)
        | st.dictionaries(texts, children, max_size=3).map(OrderedDict)
        | st.dictionaries(texts, children, max_size=3).map(Loud)
    )


def _plain_containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # A named function, not a lambda: Hypothesis inspects a lambda's source to check that it
    # uses its argument, and in a full test run that check misread this one.
    return (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=5).map(tuple)
        | st.dictionaries(texts, children, max_size=5)
    )


plain_values = st.recursive(leaves, _plain_containers, max_leaves=40)
any_values = st.recursive(leaves | odd_leaves, _containers, max_leaves=40)


def _nested(depth: int, leaf: Any = 1.5) -> Any:
    value: Any = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _audit_after() -> dict[str, Any]:
    """What ``experiment.import`` records for an experiment."""
    return {
        "project": "vision",
        "name": "run-1",
        "status": "finished",
        "params": {f"model/p{i}": ["float", repr(0.1 * i)] for i in range(20)},
        "tags": {f"tag{i}": f"value {i}" for i in range(5)},
        "group": None,
        "started_at": 1.7e9,
        "ended_at": 1.7e9 + 60.5,
        "points": 10,
        "chunks": {f"train/m{i}": hashlib.sha256(bytes([i])).hexdigest() for i in range(10)},
    }


# --- canonical_json ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(plain_values)
def test_canonical_json_of_plain_values_is_unchanged(value: Any) -> None:
    assert_same(old_canonical_json, canonical_json, value)


@settings(max_examples=200, deadline=None)
@given(any_values)
def test_canonical_json_of_any_value_is_unchanged(value: Any) -> None:
    assert_same(old_canonical_json, canonical_json, value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        _audit_after(),
        {**_audit_after(), "started_at": math.nan, "ended_at": -math.inf},
        {"b": 1, "a": [1, (2, 3.5)], "c": {"z": None, "y": True}},
        {1: "a", "1": "b"},  # str(1) collides with "1": _nan_safe keeps the last
        {10: "a", 9: "b", 9.5: "c"},  # json would sort these as numbers
        {True: 1, None: 2, 2.5: 3},  # json writes true/null, _nan_safe "True"/"None"
        {(1, 2): "tuple key"},
        {Label("k"): 1, "j": 2},
        {Mode.FAST: 1},
        {"nan key": {math.nan: 1}},
        {"big": 2**200, "neg": -(2**70), "zero": -0.0, "tiny": 5e-324},
        {"huge": 10**5000},  # more digits than int -> str allows: both raise
        [math.nan, math.inf, -math.inf, -0.0, Money(2.0), Money(math.inf)],
        ("tuple", ["at", ("the", "top")]),
        Reversed([1, 2, 3]),
        Loud(a=1, b=[2]),
        OrderedDict([("b", 1), ("a", 2)]),
        [np.float64(1.5), np.float64(math.nan), np.int64(3), np.bool_(False)],
        [Color.RED, Mode.FAST],
        {"unicode": "héllo ☃ \U0001f600", "ctrl": "\x00\x1f\x7f", "quote": '"\\/'},
        {"surrogate": "\ud800"},
        "just a string",
        1.5,
        math.nan,
        True,
        10**30,
        [],
        {},
        {"set": {1, 2}},
        {"bytes": b"x"},
        [object()],
        _nested(63),
        _nested(64),
        _nested(65),
        _nested(200),
        _nested(200, math.nan),
        _nested(600),  # too deep for _nan_safe (the default recursion limit): both raise
    ],
)
def test_canonical_json_edge_cases_are_unchanged(value: Any) -> None:
    assert_same(old_canonical_json, canonical_json, value)


def test_canonical_json_of_cycles_still_raises_recursion_error() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    doubled: list[Any] = []
    doubled.extend([doubled, doubled])
    looped_dict: dict[str, Any] = {}
    looped_dict["self"] = looped_dict
    for value in (loop, doubled, looped_dict):
        with pytest.raises(RecursionError):
            old_canonical_json(value)
        with pytest.raises(RecursionError):
            canonical_json(value)


def test_shared_references_are_written_each_time() -> None:
    shared = {"x": [1, 2]}
    value = {"a": shared, "b": [shared, shared]}
    assert canonical_json(value) == old_canonical_json(value)


def test_canonical_json_does_not_change_its_argument() -> None:
    value = {"k": [1, (2, math.nan)], 3: {"x": math.inf}}
    before = repr(value)
    canonical_json(value)
    assert repr(value) == before


# --- event_hash --------------------------------------------------------------------------------

strings = st.text(max_size=40) | st.sampled_from(['"\\', "\x00\n", "é☃", "ab" * 32, "\ud800"])
event_args = st.tuples(
    st.integers(0, 2**70) | st.sampled_from([True, False, Color.RED, -1]),
    st.floats() | st.integers(-(2**60), 2**60) | st.sampled_from([1.7e9, 0.1, -0.0]),
    strings,
    strings,
    strings,
    strings,
    st.none() | strings | st.just(canonical_json(_audit_after())),
    st.none() | strings | st.just(canonical_json(_audit_after())),
    strings | st.sampled_from([Label("h"), Mode.FAST]),
)


@settings(max_examples=200, deadline=None)
@given(event_args)
@example((1, 1.7e9, "alice", "experiment.import", "experiment", "id", None, "{}", "0" * 64))
@example((1, 1.7e9, Label("a"), "a", "e", "id", Label("b"), None, "h"))
@example((1, math.nan, "a", "a", "e", "id", "x", "y", "h"))
@example((1, "1.5", "a", "a", "e", "id", "x", "y", "h"))  # float("1.5") is accepted
@example((1, object(), "a", "a", "e", "id", "x", "y", "h"))  # float() refuses
@example((1, 0.0, "a", "a", "e", "id", 3, [1], "h"))  # not strings: the JSON encoder
@example((10**5000, 0.0, "a", "a", "e", "id", None, None, "h"))
def test_event_hash_is_unchanged(args: tuple[Any, ...]) -> None:
    assert_same(old_event_hash, event_hash, *args)


def test_event_hash_of_a_known_event() -> None:
    """Pinned, so a change to both copies at once is noticed too."""
    digest = event_hash(1, 1.5, "alice", "project.create", "project", "p1", None, "{}", "0" * 64)
    payload = '[1,"1.5","alice","project.create","project","p1",null,"{}","' + "0" * 64 + '"]'
    assert digest == hashlib.sha256(payload.encode()).hexdigest()


# --- validate_key ------------------------------------------------------------------------------

key_alphabet = st.sampled_from([*"aZ09_-. :/", "..", "/..", "\n", "\t", "é", "!", "\x00"])
key_texts = st.lists(key_alphabet, max_size=12).map("".join) | st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(key_texts | st.integers() | st.none() | st.sampled_from([Label("a"), Mode.FAST, b"k"]))
@example("k" * 250)
@example("k" * 251)
@example("a" * 249 + " ")
@example("loss\n")
@example(" ")
@example("..")
@example("a/..")
@example("../a")
@example("a/../b")
@example("a/.../b")
@example("./a")
@example("/a")
@example("a/")
@example("a//b")
def test_validate_key_is_unchanged(key: Any) -> None:
    for kind in ("metric", "param"):
        assert_same(old_validate_key, validate_key, key, kind)
        assert_same(old_validate_key, validate_key, key, kind)  # now possibly remembered


@settings(max_examples=300, deadline=None)
@given(key_texts)
def test_the_fast_key_pattern_accepts_exactly_the_valid_keys(key: str) -> None:
    from mled.validation import _VALID_KEY

    assert (_VALID_KEY.fullmatch(key) is not None) == (
        outcome(old_validate_key, key, "m")[0] == "returned"
    )


def test_remembered_keys_stay_bounded() -> None:
    from mled import validation

    for i in range(validation._KNOWN_KEYS_LIMIT + 10):
        assert validate_key(f"key{i}", "metric") == f"key{i}"
    assert len(validation._KNOWN_KEYS) <= validation._KNOWN_KEYS_LIMIT


def test_a_key_is_returned_as_is() -> None:
    key = "".join(["train/", "loss"])
    assert validate_key(key, "metric") is key
    assert validate_key(key, "metric") is key
    label = Label("train/loss")
    assert validate_key(label, "metric") is label


# --- validate_tag_value ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=8) | st.sampled_from([Label("k"), 3]),
    st.text(max_size=20)
    | st.sampled_from(["a\x00b", "\x00", Label("v"), Mode.FAST, Color.RED, Money(2.5)])
    | st.booleans()
    | ints
    | floats
    | st.none()
    | st.lists(st.integers(), max_size=2),
)
def test_validate_tag_value_is_unchanged(key: Any, value: Any) -> None:
    assert_same(old_validate_tag_value, validate_tag_value, key, value)


@pytest.mark.parametrize("size", [65_536, 65_537])
def test_validate_tag_value_length_limit_is_unchanged(size: int) -> None:
    assert_same(old_validate_tag_value, validate_tag_value, "k", "v" * size)
    assert_same(old_validate_tag_value, validate_tag_value, "k", "v" * (size - 1) + "\x00")


# --- encode_param ------------------------------------------------------------------------------

numeric_texts = st.from_regex(
    r"\s?[-+]?(\d{1,4}\.?\d{0,3}|\.\d{1,3})([eE][-+]?\d{1,3})?\s?", fullmatch=True
)


@settings(max_examples=300, deadline=None)
@given(
    floats
    | ints
    | st.integers(-(2**4010), 2**4010)
    | st.booleans()
    | st.text(max_size=12)
    | numeric_texts
    | st.sampled_from(
        [
            "1e400",
            "-1e400",
            "nan",
            "٣",  # an Arabic-Indic digit: \d matches it and float() reads it
            "1.5\n",
            "a\x00",
            np.float32(0.1),
            np.float64(math.nan),
            np.int64(-5),
            np.bool_(True),
            np.array([1, 2]),
            Fraction(1, 3),
            Decimal("0.1"),
            Color.RED,
            Mode.FAST,
            Label("7"),
            Money(0.5),
            None,
            [1, "a", None],
            {"b": [1.5], "a": np.int64(2)},
            {"nan": math.nan},
            {1: "non-str key"},
            object(),
            2**4000,
            2**4001,
        ]
    )
)
def test_encode_param_is_unchanged(value: Any) -> None:
    assert_same(old_encode_param, encode_param, value)


@pytest.mark.parametrize("size", [65_536, 65_537])
def test_encode_param_length_limit_is_unchanged(size: int) -> None:
    assert_same(old_encode_param, encode_param, "v" * size)
    assert_same(old_encode_param, encode_param, ["v" * (size - 4)])
