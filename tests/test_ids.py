"""UUIDv7 identifiers: shape, uniqueness, time order, monotonicity within a millisecond."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mled import ids
from mled.ids import id_prefix_pattern, is_full_id, new_id


def test_new_id_is_a_version_7_rfc_9562_uuid() -> None:
    value = new_id()
    parsed = uuid.UUID(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == value  # lowercase, hyphenated
    assert is_full_id(value)


def test_new_id_encodes_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    embedded = int(value.replace("-", "")[:12], 16)
    # The generator may borrow a few future milliseconds after a burst, never go back.
    assert before <= embedded <= after + 5


def test_ids_are_unique_and_sort_in_creation_order() -> None:
    values = [new_id() for _ in range(20_000)]
    assert len(set(values)) == len(values)
    assert values == sorted(values)


def test_ids_stay_increasing_when_the_clock_stands_still(monkeypatch: pytest.MonkeyPatch) -> None:
    """More than 4096 ids in one millisecond exhaust the counter; order must still hold."""
    frozen = time.time_ns()
    monkeypatch.setattr(ids.time, "time_ns", lambda: frozen)
    values = [new_id() for _ in range(10_000)]
    assert len(set(values)) == len(values)
    assert values == sorted(values)


def test_ids_stay_increasing_when_the_clock_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_id()
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_000_000_000_000_000)  # 2001
    assert new_id() > first


def test_ids_from_concurrent_threads_are_unique() -> None:
    results: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def work(out: list[str]) -> None:
        start.wait()
        out.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    merged = [v for r in results for v in r]
    assert len(set(merged)) == 20_000
    assert all(r == sorted(r) for r in results)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", True),
        ("  0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B ", True),
        ("0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", False),
        ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", False),
        ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", False),
        ("0190a1b-2c3d4-7e5f-8a9b-0c1d2e3f4a5b", False),
        ("", False),
        ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\n-", False),
        ("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5٣", False),  # a non-ASCII digit
    ],
)
def test_is_full_id(text: str, expected: bool) -> None:
    assert is_full_id(text) is expected


@given(st.uuids().map(str) | st.text(alphabet="0123456789abcdefABCDEF-xg ٣\n", max_size=40))
def test_is_full_id_is_exactly_a_hyphenated_uuid(text: str) -> None:
    t = text.strip().lower()
    groups = t.split("-")
    expected = [len(g) for g in groups] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdef" for g in groups for c in g
    )
    assert is_full_id(text) is expected


def test_id_prefix_pattern_normalises_case_and_spaces() -> None:
    assert id_prefix_pattern("  0190AB ") == "0190ab"
