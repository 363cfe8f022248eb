"""The error hierarchy's own behavior: naming the item of a list an error is about."""

from __future__ import annotations

import pytest

from mled.errors import InvalidMetricValue, MledError, QuerySyntaxError


@pytest.mark.parametrize(
    "err",
    [
        InvalidMetricValue("metric 'loss': 'x' is not a number", details={"key": "loss"}),
        QuerySyntaxError("unexpected end of query", query="a >", column=4),
    ],
)
def test_about_item_names_the_item_and_keeps_the_rest(err: MledError) -> None:
    named = err.about_item(3)
    assert type(named) is type(err)
    assert (named.code, named.status, named.hint) == (err.code, err.status, err.hint)
    assert named.message == f"experiment 3: {err.message}"
    assert str(named).startswith(f"experiment 3: {err.message}")
    assert named.details == {**err.details, "index": 3}
    assert named.to_problem()["detail"] == named.message
    assert not err.message.startswith("experiment")  # the original is unchanged
    assert "index" not in err.details


def test_about_item_can_name_lines_instead() -> None:
    """An import names the file's line, not also the entry's position among the lines."""
    err = InvalidMetricValue("bad").about_item(2).about_item(5, "line")
    assert err.message == "line 5: bad"
    assert err.details == {"index": 5}
