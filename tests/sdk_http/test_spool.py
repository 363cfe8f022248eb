"""The spool file: durable appends, acknowledgements, torn tails, locking, replay rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mled.errors import ExperimentNotFound, ParamConflict, Unauthenticated
from mled.sdk.spool import (
    FRAME,
    Spool,
    SpoolRecord,
    Unreachable,
    read_frames,
    replay,
    spool_files,
)


def record(n: int, body: bytes = b"") -> SpoolRecord:
    return SpoolRecord("log_params", f"key-{n}", "exp", {"params": {"n": n}}, body)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool.create(tmp_path / "spool", server="http://h:1", username="alice")


def test_appended_records_come_back_in_order_with_their_keys_and_bodies(spool: Spool) -> None:
    for n in range(3):
        spool.append(record(n, body=bytes([n]) * 1000))
    got = list(spool.pending())
    assert [(r.key, r.data["params"]["n"], r.body) for r in got] == [
        (f"key-{n}", n, bytes([n]) * 1000) for n in range(3)
    ]
    assert spool.pending_count == 3
    assert oct(spool.path.stat().st_mode & 0o777) == "0o600"


def test_acknowledged_records_are_not_replayed_again_even_after_reopening(
    spool: Spool,
) -> None:
    records = [spool.append(record(n)) for n in range(3)]
    spool.ack(records[0])
    spool.close()
    again = Spool.claim(spool.path)
    assert again is not None
    assert [r.key for r in again.pending()] == ["key-1", "key-2"]
    assert again.pending_count == 2
    assert again.server == "http://h:1"
    again.close()


def test_a_torn_last_frame_is_cut_off_and_appends_continue_after_it(spool: Spool) -> None:
    spool.append(record(0))
    spool.append(record(1))
    spool.close()
    size = spool.path.stat().st_size
    with spool.path.open("r+b") as f:  # the process died in the middle of the last append
        f.truncate(size - 5)
    again = Spool.claim(spool.path)
    assert again is not None
    assert [r.key for r in again.pending()] == ["key-0"]
    assert spool.path.stat().st_size < size - 5
    again.append(record(2))
    assert [r.key for r in again.pending()] == ["key-0", "key-2"]
    again.close()


def test_a_corrupted_byte_stops_reading_at_the_damaged_frame(spool: Spool) -> None:
    first = spool.append(record(0))
    spool.append(record(1))
    with spool.path.open("r+b") as f:
        f.seek(first.end + FRAME.size + 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    records, intact = read_frames(spool.path)
    assert [r.key for r in records[1:]] == ["key-0"]
    assert intact == first.end


def test_a_file_held_by_a_running_process_cannot_be_claimed(spool: Spool) -> None:
    assert Spool.claim(spool.path) is None
    spool.close()
    claimed = Spool.claim(spool.path)
    assert claimed is not None
    claimed.close()


def test_replay_acknowledges_in_order_and_stops_when_the_server_is_unreachable(
    spool: Spool,
) -> None:
    for n in range(4):
        spool.append(record(n))
    sent: list[str] = []

    def send(r: SpoolRecord) -> None:
        if r.key == "key-2":
            raise Unreachable("connection refused")
        sent.append(r.key)

    report = replay(spool, send)
    assert sent == ["key-0", "key-1"]
    assert (report.replayed, report.remaining, report.done) == (2, 2, False)
    report = replay(spool, lambda r: sent.append(r.key))
    assert sent == ["key-0", "key-1", "key-2", "key-3"]
    assert report.done


def test_refused_records_move_to_rejected_and_do_not_block_the_rest(spool: Spool) -> None:
    for n in range(3):
        spool.append(record(n))

    def send(r: SpoolRecord) -> None:
        if r.key == "key-1":
            raise ParamConflict("param 'n' is already 0")

    report = replay(spool, send)
    assert report.done
    assert report.replayed == 2
    assert [(r.key, type(e)) for r, e in report.rejected] == [("key-1", ParamConflict)]
    rejected, _ = read_frames(spool.path.parent / "rejected" / spool.path.name)
    assert rejected[1].key == "key-1"
    assert rejected[1].data["rejected"]["code"] == "param_conflict"


def test_an_authentication_failure_keeps_every_record_for_later(spool: Spool) -> None:
    spool.append(record(0))

    def send(r: SpoolRecord) -> None:
        raise Unauthenticated("the API token has expired")

    report = replay(spool, send)
    assert isinstance(report.stopped, Unauthenticated)
    assert report.remaining == 1


def test_replay_of_an_unknown_experiment_is_rejected_not_retried_forever(spool: Spool) -> None:
    spool.append(record(0))

    def send(r: SpoolRecord) -> None:
        raise ExperimentNotFound("no experiment 'exp'")

    assert replay(spool, send).done


def test_spool_files_are_listed_oldest_first(tmp_path: Path) -> None:
    a = Spool.create(tmp_path, server="http://h:1", username="a")
    b = Spool.create(tmp_path, server="http://h:1", username="a")
    assert spool_files(tmp_path) == sorted([a.path, b.path])
    a.remove()
    assert spool_files(tmp_path) == [b.path]
    b.close()
