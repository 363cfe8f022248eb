"""``find_surrogate``, the request bodies' check for text that is not valid Unicode, names
where the first lone surrogate is, keys included, and takes an emoji for the text it is."""

from __future__ import annotations

from mled.server.schemas import find_surrogate


def test_a_surrogate_deep_in_an_import_is_named_by_its_path() -> None:
    body = {"experiments": [{"name": "a"}, {"name": "b", "tags": {"t\udc80": "x"}}]}
    assert find_surrogate(body) == ("experiments", 1, "tags", "t\udc80")


def test_a_surrogate_in_a_list_of_a_param_is_named_by_its_position() -> None:
    body = {"params": {"lr": 0.1, "names": ["ok", 3, "bad\ud800"]}}
    assert find_surrogate(body) == ("params", "names", 2)


def test_an_emoji_is_text_not_a_surrogate() -> None:
    assert find_surrogate({"name": "run 😀", "params": {"note": ["✓", "😀"]}}) is None
