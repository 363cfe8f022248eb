"""Formatting helpers of the command line."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from mled.cli.errors import exit_code_for, report_error
from mled.cli.output import (
    SHORT_ID_LENGTH,
    Column,
    duration_text,
    fitted_table,
    jsonable,
    number_text,
    short_ids,
)
from mled.errors import AmbiguousId, InvalidKey, QuerySyntaxError, SchemaOutdated
from mled.ids import new_id

hex_ids = st.lists(
    st.text("0123456789abcdef", min_size=32, max_size=32).map(
        lambda h: f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    ),
    max_size=30,
)


@given(hex_ids)
def test_short_ids_are_unique_prefixes(ids: list[str]) -> None:
    prefixes = short_ids(ids)
    assert set(prefixes) == set(ids)
    for full, prefix in prefixes.items():
        assert full.startswith(prefix)
        assert len(prefix) >= SHORT_ID_LENGTH
        assert not prefix.endswith("-")
        assert [i for i in ids if i.startswith(prefix)] == [full] * ids.count(full)


def test_short_ids_of_ids_made_together() -> None:
    ids = [new_id() for _ in range(1000)]
    prefixes = short_ids(ids).values()
    assert len(set(prefixes)) == 1000


def test_durations() -> None:
    assert [duration_text(s) for s in (0.04, 9.96, 59.9, 60, 3599, 3600, 86400)] == [
        "0.0s",
        "10s",
        "1m 00s",
        "1m 00s",
        "59m 59s",
        "1h 00m",
        "1d 00h",
    ]


def test_numbers() -> None:
    assert number_text(0.30000000000000004) == "0.3"
    assert number_text(-2.0) == "-2"
    assert number_text(float("inf")) == "inf"
    assert number_text(1e20) == "1e+20"


def test_jsonable_output_is_strict_json() -> None:
    value = {"t": datetime(2026, 1, 1, tzinfo=UTC), "v": [math.nan, math.inf, 1.5], 3: None}
    text = json.dumps(jsonable(value), allow_nan=False)
    assert json.loads(text) == {
        "t": "2026-01-01T00:00:00+00:00",
        "v": ["NaN", "Infinity", 1.5],
        "3": None,
    }


def test_fitted_table_drops_columns_in_order_until_it_fits() -> None:
    columns = [Column("id", fixed=True), Column("name"), Column("owner"), Column("project")]
    rows = [[Text("0190c7e2-4b1a"), Text("resnet"), Text("alice"), Text("vision")]]
    wide = fitted_table(Console(width=200), columns, rows, ["owner", "project"])
    assert [c.header for c in wide.columns] == ["id", "name", "owner", "project"]
    narrow = fitted_table(Console(width=28), columns, rows, ["owner", "project"])
    assert [c.header for c in narrow.columns] == ["id", "name"]


def test_exit_codes() -> None:
    assert exit_code_for(InvalidKey("bad key")) == 2
    assert exit_code_for(QuerySyntaxError("bad query", query="a >", column=3)) == 2
    assert exit_code_for(AmbiguousId("two match")) == 1
    assert exit_code_for(SchemaOutdated("old")) == 1


def _reported(err: AmbiguousId) -> str:
    console = Console(record=True, width=200, color_system=None)
    report_error(err, console)
    return console.export_text()


def test_candidates_are_listed_unless_the_message_names_them() -> None:
    named = _reported(AmbiguousId("'ab' matches ab1, ab2", details={"candidates": ["ab1", "ab2"]}))
    assert "candidates:" not in named
    assert named.count("ab1") == 1
    unnamed = _reported(AmbiguousId("'ab' matches 2", details={"candidates": ["ab1", "ab2"]}))
    assert unnamed.splitlines()[1:3] == ["candidates:", "  ab1"]
    assert "  ab2" in unnamed.splitlines()
