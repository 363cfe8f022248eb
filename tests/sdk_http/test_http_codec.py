"""Request bodies the HTTP client builds: imports split by count and by size."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mled.sdk.http_codec import import_batches
from mled.wire import MAX_IMPORT


def _size(body: dict[str, str]) -> int:
    return len(json.dumps(body, separators=(",", ":")))


def test_imports_are_split_at_the_server_limit() -> None:
    bodies = [{"name": f"r{i}"} for i in range(2 * MAX_IMPORT + 1)]
    assert [len(b) for b in import_batches(bodies)] == [MAX_IMPORT, MAX_IMPORT, 1]


def test_a_body_larger_than_a_request_goes_alone() -> None:
    bodies = [{"n": "a"}, {"n": "x" * 500}, {"n": "b"}, {"n": "c"}]
    batches = list(import_batches(bodies, max_bytes=100))
    assert batches == [[bodies[0]], [bodies[1]], [bodies[2], bodies[3]]]


@given(
    sizes=st.lists(st.integers(0, 300), max_size=40),
    max_count=st.integers(1, 10),
    max_bytes=st.integers(50, 1_000),
)
def test_batches_keep_the_order_and_stay_within_both_limits(
    sizes: list[int], max_count: int, max_bytes: int
) -> None:
    bodies = [{"n": "x" * s, "i": str(i)} for i, s in enumerate(sizes)]
    batches = list(import_batches(bodies, max_count=max_count, max_bytes=max_bytes))
    assert [b for batch in batches for b in batch] == bodies
    for batch in batches:
        assert 1 <= len(batch) <= max_count
        assert len(batch) == 1 or sum(_size(b) for b in batch) <= max_bytes
