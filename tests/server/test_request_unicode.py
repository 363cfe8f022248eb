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
