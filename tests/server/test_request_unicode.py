"""``find_surrogate``, the request bodies' check for text that is not valid Unicode, agrees
with a plain walk of every string and key, and names where the first lone surrogate is."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mled.server.schemas import find_surrogate

LONE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
TEXT = st.text(st.characters(codec=None), max_size=6) | st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=3), LONE, st.text(max_size=3)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _walk(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The plain definition: the first string or key, depth first, holding a surrogate."""
    if isinstance(value, str):
        return path if any(0xD800 <= ord(c) <= 0xDFFF for c in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _walk(key) is not None:
                return (*path, key)
            found = _walk(item, (*path, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _walk(item, (*path, i))
            if found is not None:
                return found
    return None


@given(JSON)
def test_it_finds_what_a_plain_walk_finds(value: Any) -> None:
    assert find_surrogate(value) == _walk(value)


def test_a_surrogate_deep_in_an_import_is_named_by_its_path() -> None:
    body = {"experiments": [{"name": "a"}, {"name": "b", "tags": {"t\udc80": "x"}}]}
    assert find_surrogate(body) == ("experiments", 1, "tags", "t\udc80")


def test_an_emoji_is_text_not_a_surrogate() -> None:
    assert find_surrogate({"name": "run 😀", "params": {"note": ["✓", "😀"]}}) is None
