"""``find_surrogate``, the request bodies' check for text that is not valid Unicode, names
where the first lone surrogate is, keys included, and takes an emoji for the text it is."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mled.server.schemas import find_surrogate

LONE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
TEXT = st.text(st.characters(codec="utf-8"), max_size=6) | st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=3), LONE, st.text(max_size=3)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (k, *_texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


@given(JSON)
def test_a_surrogate_is_found_exactly_when_some_text_holds_one(value: Any) -> None:
    # The check asks orjson first; it must neither miss a surrogate nor invent one.
    holds = any(0xD800 <= ord(c) <= 0xDFFF for t in _texts(value) for c in t)
    assert (find_surrogate(value) is not None) == holds


def test_a_surrogate_deep_in_an_import_is_named_by_its_path() -> None:
    body = {"experiments": [{"name": "a"}, {"name": "b", "tags": {"t\udc80": "x"}}]}
    assert find_surrogate(body) == ("experiments", 1, "tags", "t\udc80")


def test_a_surrogate_in_a_list_of_a_param_is_named_by_its_position() -> None:
    body = {"params": {"lr": 0.1, "names": ["ok", 3, "bad\ud800"]}}
    assert find_surrogate(body) == ("params", "names", 2)


def test_an_emoji_is_text_not_a_surrogate() -> None:
    assert find_surrogate({"name": "run 😀", "params": {"note": ["✓", "😀"]}}) is None


def test_values_orjson_cannot_encode_are_still_walked() -> None:
    # orjson refuses ints beyond 64 bits and nesting deeper than 254 for reasons of its own;
    # the answer must come from the walk then, with or without a surrogate.
    huge = {"params": {"n": 2**70, "s": "fine"}}
    assert find_surrogate(huge) is None
    assert find_surrogate({**huge, "name": "x\udfff"}) == ("name",)
    deep: object = "ok"
    for _ in range(300):
        deep = [deep]
    assert find_surrogate({"params": {"d": deep}}) is None
    assert find_surrogate({"params": {"d": deep}, "tags": {"a": "\ud800"}}) == ("tags", "a")
