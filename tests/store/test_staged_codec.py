"""A staged experiment's document and data decode to exactly the rows that were staged.

Staged rows are written to the tables later, so every value must survive the round trip bit
for bit: floats (NaN, infinities, -0.0, subnormals), integers beyond 64 bits in text, any
Unicode text, and the chunks' bytes. NaN equals nothing, so rows compare through ``repr``.
Documents are written by orjson where it gives back what ``json`` would, by ``json`` where
not; both kinds, and those of stores staged before orjson wrote them, decode the same.
"""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from mled.service.metric_batches import encode_batch
from mled.store.sql.new_experiments import NewExperimentRows
from mled.store.sql.staged import decode_staged, encode_staged

_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=30)
_floats = st.floats(width=64)
_maybe = st.none() | _floats
_row_values = st.none() | _text | _floats | st.integers(-(2**63), 2**63 - 1)


@st.composite
def _rows(draw: st.DrawFn) -> NewExperimentRows:
    keys = draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9_/.]{0,8}", fullmatch=True), unique=True, max_size=4)
    )
    series = {
        k: (
            list(range(n := draw(st.integers(1, 5)))),
            draw(st.lists(_floats, min_size=n, max_size=n)),
            draw(st.lists(_floats, min_size=n, max_size=n)),
        )
        for k in keys
    }
    chunks = encode_batch(series)
    return NewExperimentRows(
        row=draw(st.dictionaries(_text, _row_values, max_size=6)),
        params=draw(st.lists(st.tuples(_text, _text, _text, _maybe, _text), max_size=4)),
        tags=draw(st.lists(st.tuples(_text, _text, _text), max_size=3)),
        metrics=[
            (k, draw(_maybe), draw(_maybe), draw(_maybe), 3, draw(st.integers(-5, 5)), 1.5)
            for k in sorted(chunks)
        ],
        chunks=[chunks[k] for k in sorted(chunks)],
        summary=(draw(_text), draw(_text), draw(_text), draw(st.binary(max_size=64))),
        audit_seq=draw(st.integers(1, 2**62)),
    )


@given(_rows())
def test_staged_rows_round_trip(rows: NewExperimentRows) -> None:
    document, data = encode_staged(rows)
    assert repr(decode_staged(document, data)) == repr(rows)


@given(_rows())
def test_documents_written_by_json_decode_the_same(rows: NewExperimentRows) -> None:
    document, data = encode_staged(rows)
    by_json = json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False)
    assert repr(decode_staged(by_json, data)) == repr(rows)


def test_a_document_with_a_non_finite_float_keeps_it_and_a_finite_one_is_plain() -> None:
    finite = NewExperimentRows(
        row={"created_at": 1.5},
        params=[],
        tags=[],
        metrics=[("m", 0.25, 0.0, 1.0, 2, 1, 2.0)],
        chunks=[],
        summary=("{}", "{}", "", b""),
        audit_seq=1,
    )
    infinite = NewExperimentRows(
        row={"created_at": 1.5},
        params=[],
        tags=[],
        metrics=[("m", 0.25, 0.0, math.inf, 2, 1, 2.0)],
        chunks=[],
        summary=("{}", "{}", "", b""),
        audit_seq=1,
    )
    assert "Infinity" not in encode_staged(finite)[0]
    assert "Infinity" in encode_staged(infinite)[0]
    assert decode_staged(*encode_staged(infinite)).metrics[0][3] == math.inf


def test_non_finite_floats_and_negative_zero_keep_their_bits() -> None:
    rows = NewExperimentRows(
        row={"created_at": -0.0, "started_at": 5e-324},
        params=[("p", "float", "nan", math.nan, "nan"), ("q", "float", "inf", math.inf, "inf")],
        tags=[],
        metrics=[],
        chunks=[],
        summary=("{}", "{}", "", b"\x00\xff"),
        audit_seq=7,
    )
    decoded = decode_staged(*encode_staged(rows))
    assert math.copysign(1.0, decoded.row["created_at"]) == -1.0
    assert decoded.row["started_at"] == 5e-324
    assert math.isnan(decoded.params[0][3])
    assert decoded.params[1][3] == math.inf
    assert decoded.summary[3] == b"\x00\xff"
