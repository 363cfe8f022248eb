"""Validation and canonical encoding of keys, names, params, tags and metric values."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.errors import (
    InvalidInput,
    InvalidKey,
    InvalidMetricValue,
    InvalidName,
    InvalidParamValue,
)
from mled.store.sql.experiments import decode_param
from mled.validation import (
    MAX_KEY_LENGTH,
    MAX_NESTING,
    MAX_PARAM_TEXT,
    check_nesting,
    encode_param,
    metric_step,
    metric_value,
    number_of_text,
    validate_key,
    validate_name,
    validate_tag_value,
)

# --- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["loss", "train/loss", "val.acc_1", "a b", "x:y-z", "k" * 250])
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key, "metric") == key


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "metric key is empty"),
        ("   ", "metric key is empty"),
        ("k" * 251, "is 251 characters long; the limit is 250"),
        ("loss!", "forbidden characters ['!']"),
        ("héllo", "forbidden characters ['é']"),
        ("a\nb", "forbidden characters"),
        (" loss", "surrounding spaces"),
        ("/abs", "leading '/'"),
        ("a/../b", "'..'"),
        (3, "is a int, not a string"),
        (None, "is a NoneType, not a string"),
    ],
)
def test_invalid_keys_are_refused_naming_the_problem(key: object, fragment: str) -> None:
    with pytest.raises(InvalidKey) as info:
        validate_key(key, "metric")
    assert fragment in info.value.message
    assert info.value.code == "invalid_key"
    assert info.value.status == 400
    assert "1-250 characters" in info.value.hint


def test_key_length_limit_is_250() -> None:
    assert MAX_KEY_LENGTH == 250


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "name is empty"),
        ("  ", "name is empty"),
        ("n" * 201, "201 characters; the limit is 200"),
        (" padded", "surrounding spaces"),
        ("tab\there", "control characters"),
        (None, "name is empty"),
    ],
)
def test_invalid_names_are_refused(name: object, fragment: str) -> None:
    with pytest.raises(InvalidName, match="project") as info:
        validate_name(name, "project")
    assert fragment in info.value.message
    assert info.value.hint


@pytest.mark.parametrize("code", [*range(32), 32, 127, 0x85, 0x2028])
def test_names_refuse_exactly_the_characters_below_space(code: int) -> None:
    name = f"a{chr(code)}b"
    if code < 32:
        with pytest.raises(InvalidName, match="control characters"):
            validate_name(name, "experiment")
    else:
        assert validate_name(name, "experiment") == name


def test_valid_name_is_returned() -> None:
    assert validate_name("ResNet-50 (baseline) ✓", "experiment") == "ResNet-50 (baseline) ✓"


# --- metric values and steps -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),
        (3, 3.0),
        (True, 1.0),
        (np.float32(0.25), 0.25),
        (np.float64(-1.5), -1.5),
        (np.int64(7), 7.0),
        (Fraction(1, 4), 0.25),
        (float("inf"), math.inf),
        (float("-inf"), -math.inf),
    ],
)
def test_metric_values_become_floats(value: object, expected: float) -> None:
    got = metric_value("loss", value)
    assert type(got) is float
    assert got == expected


def test_nan_metric_value_is_kept() -> None:
    assert math.isnan(metric_value("loss", float("nan")))
    assert math.isnan(metric_value("loss", np.float32("nan")))


@pytest.mark.parametrize("value", ["abc", "0.5", b"1", None, object(), 1j, [1.0], {"v": 1}])
def test_non_numeric_metric_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidMetricValue) as info:
        metric_value("loss", value)
    err = info.value
    assert "'loss'" in err.message
    assert "metrics must be numbers" in err.message
    assert err.code == "invalid_metric_value"
    assert err.status == 400
    assert "Log metrics as int or float" in err.hint


@pytest.mark.parametrize(
    ("step", "expected"), [(3, 3), (np.int32(4), 4), (5.0, 5), (np.float64(6.0), 6)]
)
def test_integral_steps_are_accepted(step: object, expected: int) -> None:
    assert metric_step("loss", step) == expected


@pytest.mark.parametrize("step", [1.5, "3", None, True, float("nan")])
def test_non_integral_steps_are_refused(step: object) -> None:
    with pytest.raises(InvalidMetricValue, match="steps are integers"):
        metric_step("loss", step)


# --- params ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (True, ("bool", "true", 1.0)),
        (False, ("bool", "false", 0.0)),
        (3, ("int", "3", 3.0)),
        (0.001, ("float", "0.001", 0.001)),
        (float("inf"), ("float", "inf", None)),
        ("adam", ("str", "adam", None)),
        ("1e-3", ("str", "1e-3", 0.001)),
        (" 2 ", ("str", " 2 ", 2.0)),
        # U+001F passes the numeric pattern (\s) but float() refuses it: text, not a number.
        ("0\x1f", ("str", "0\x1f", None)),
        ([1, "a"], ("json", '[1,"a"]', None)),
        ({"b": 1, "a": [True, None]}, ("json", '{"a":[true,null],"b":1}', None)),
        (np.bool_(True), ("bool", "true", 1.0)),
        (np.int64(3), ("int", "3", 3.0)),
        (np.float64(0.5), ("float", "0.5", 0.5)),
        (np.array([1, 2]), ("json", "[1,2]", None)),
        ({"lr": np.float32(0.5)}, ("json", '{"lr":0.5}', None)),
        (10**400, ("int", "1" + "0" * 400, None)),
    ],
)
def test_encode_param(value: Any, encoded: tuple[str, str, float | None]) -> None:
    assert encode_param(value) == encoded


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (object(), "type object cannot be stored"),
        ({"x": float("nan")}, "cannot be stored"),
        ({1, 2}, "type set cannot be stored"),
        ("x" * (MAX_PARAM_TEXT + 1), f"limit {MAX_PARAM_TEXT}"),
        (["x" * MAX_PARAM_TEXT], "as JSON; limit"),
        ("a\x00b", "NUL character"),
    ],
)
def test_unstorable_params_are_refused(value: object, fragment: str) -> None:
    with pytest.raises(InvalidParamValue) as info:
        encode_param(value)
    assert fragment in info.value.message
    assert info.value.hint


def test_tag_values_are_text() -> None:
    assert validate_tag_value("team", "vision") == "vision"
    assert validate_tag_value("epochs", 3) == "3"
    assert validate_tag_value("ok", True) == "True"


@pytest.mark.parametrize("value", [None, ["a"], {"a": 1}, "a\x00b"])
def test_other_tag_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidParamValue, match="'team'") as info:
        validate_tag_value("team", value)
    assert info.value.hint


# --- property: encode/decode round trip --------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=20)
)


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


_json_values = st.recursive(_scalars, _json_containers, max_leaves=12)
_params = (
    st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=200)
    | st.lists(_json_values, max_size=5)
    | st.dictionaries(st.text(max_size=10), _json_values, max_size=5)
)


@settings(max_examples=50, deadline=None)
@given(_params)
def test_param_encode_decode_round_trip(value: Any) -> None:
    vtype, text, num = encode_param(value)
    decoded = decode_param(vtype, text)
    assert decoded == value
    assert type(decoded) is type(value)
    assert encode_param(decoded) == (vtype, text, num)  # canonical: a second pass is stable
    if vtype == "json":
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    if num is not None:
        assert math.isfinite(num)


_numberish = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.from_regex(r"\s?[-+]?(\d{0,4}\.?\d{0,4})([eE][-+]?\d{1,3})?\s?", fullmatch=True),
    st.sampled_from(["true", "false", "True", "nan", "inf", "-0", "1_0", "0x10", "\u0661"]),
)


@settings(max_examples=300, deadline=None)
@given(_params | _numberish)
def test_a_params_number_is_the_number_of_its_text(value: Any) -> None:
    """Search finds text equality on params with a number by number_of_text(text) alone."""
    _, text, num = encode_param(value)
    if num is not None:
        assert number_of_text(text) == num


@settings(max_examples=50, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numeric_strings_get_their_numeric_value(number: float) -> None:
    vtype, text, num = encode_param(repr(number))
    assert (vtype, text) == ("str", repr(number))
    assert num == number


# --- nesting ---------------------------------------------------------------------------------


def _nested(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value} if kind == "dict" else [value]
    return value


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_a_param_nested_up_to_the_limit_is_stored_as_json(kind: str) -> None:
    vtype, text, _ = encode_param(_nested(MAX_NESTING, kind))
    assert vtype == "json"
    assert decode_param(vtype, text) == _nested(MAX_NESTING, kind)


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 2_000, 100_000])
@pytest.mark.parametrize("kind", ["dict", "list"])
def test_a_param_nested_deeper_is_refused_with_a_hint(kind: str, depth: int) -> None:
    """Not a RecursionError from the JSON encoder (at about 1,000 levels) or anywhere later."""
    with pytest.raises(InvalidParamValue, match=f"more than {MAX_NESTING} deep") as info:
        encode_param(_nested(depth, kind))
    assert "artifact" in (info.value.hint or "")


def test_nesting_counts_the_deepest_branch_only() -> None:
    wide = {f"k{i}": _nested(MAX_NESTING - 1, "list") for i in range(50)}
    check_nesting(wide, "seeds")
    with pytest.raises(InvalidInput, match="seeds nests"):
        check_nesting({**wide, "deep": _nested(MAX_NESTING, "dict")}, "seeds")


def test_a_value_that_holds_itself_is_refused_quickly() -> None:
    looped: list[Any] = []
    looped.extend([looped, looped, {"again": looped}])  # each level would double without end
    with pytest.raises(InvalidParamValue, match="more than 100 deep"):
        encode_param(looped)


def test_a_shared_sub_value_is_not_mistaken_for_deep_nesting() -> None:
    shared = {"lr": 0.1}
    vtype, text, _ = encode_param({"a": shared, "b": [shared, shared]})
    assert (vtype, json.loads(text)) == ("json", {"a": shared, "b": [shared, shared]})
