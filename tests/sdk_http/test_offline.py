"""The offline spool end to end: start with the server down, keep training, replay once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mled_http_harness import ServerProcess, free_port, http_settings_for

from mled.errors import StoreUnavailable
from mled.sdk.client import Client
from mled.sdk.http import HttpBackend, sync
from mled.sdk.spool import spool_files
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore

POINTS = 10_000


def stored(store_uri: str, experiment_id: str, key: str) -> list[float]:
    store = SqlStore.open(store_uri)
    try:
        return Services.for_user(store, "alice").metrics.history(experiment_id, key).values
    finally:
        store.close()


@pytest.fixture
def down(store_uri: str, token: str, tmp_path: Path) -> ServerProcess:
    """A server that is not started yet (its port is free)."""
    return ServerProcess(store_uri, free_port(), tmp_path / "server.log")


def offline_settings(tmp_path: Path, server: ServerProcess, token: str) -> Settings:
    return http_settings_for(tmp_path / "home", server.url, token, http_retries=1)


def test_a_client_started_while_the_server_is_down_loses_nothing(
    down: ServerProcess, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = offline_settings(tmp_path, down, token)
    client = Client(settings=settings)
    try:
        exp = client.start_experiment(
            project="offline", name="r1", params={"lr": 0.01}, tags={"t": "1"}, capture=False
        )
        for step in range(POINTS // 2):
            exp.log_metric("loss", float(step), step=step)
        exp.flush()  # the server is down: durable in the spool, and returns
        backend = client.backend
        assert isinstance(backend, HttpBackend)
        spooled = backend.spool_path
        assert spooled is not None
        assert spooled.exists()
        assert str(spooled.parent) == str(settings.spool_dir)
        exp.log_param("batch", 32)
        for step in range(POINTS // 2, POINTS):
            exp.log_metric("loss", float(step), step=step)
        with pytest.raises(StoreUnavailable) as info:
            client.get_experiment(exp.id)
        assert "spool" in info.value.message

        down.start()
        exp.flush()  # replays the spool in order, then sends the rest
        assert backend.spool_path is None
        assert not spooled.exists()
        got = client.get_experiment(exp.id)
        assert got.params == {"lr": 0.01, "batch": 32}
        assert got.tags["t"] == "1"
        assert got.status == "running"
        exp.end()
    finally:
        client.close()
        down.stop()
    assert stored(down.store_uri, exp.id, "loss") == [float(s) for s in range(POINTS)]
    err = capsys.readouterr().err
    assert err.count("server unreachable, spooling to") == 1
    assert f"spooling to {spooled}; will replay" in err


def test_mled_sync_replays_what_a_finished_process_left_behind(
    down: ServerProcess, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = offline_settings(tmp_path, down, token)
    client = Client(settings=settings)
    with client.start_experiment(project="offline", params={"n": 1}, capture=False) as exp:
        for step in range(1000):
            exp.log_metrics({"a": float(step), "b": -float(step)}, step=step)
    client.close()  # still down: the spool stays, and the user is told how to replay it
    assert "mled sync" in capsys.readouterr().err
    assert len(spool_files(settings.spool_dir)) == 1

    down.start()
    try:
        report = sync(down.url, settings=settings)
        assert (report.replayed, report.remaining, report.rejected) == (
            3,
            0,
            0,
        )  # create, batch, end
        assert spool_files(settings.spool_dir) == []
        assert sync(down.url, settings=settings).replayed == 0  # nothing twice
        again = Client(settings=settings)
        got = again.get_experiment(exp.id)
        again.close()
    finally:
        down.stop()
    assert got.status == "finished"
    assert got.params == {"n": 1}
    assert stored(down.store_uri, exp.id, "b") == [-float(s) for s in range(1000)]


def test_experiments_imported_while_the_server_is_down_are_replayed_once(
    down: ServerProcess, token: str, tmp_path: Path
) -> None:
    settings = offline_settings(tmp_path, down, token)
    client = Client(settings=settings)
    entries = [
        {"name": f"r{i}", "params": {"i": i}, "metrics": {"acc": [0.1, 0.2]}} for i in range(3)
    ]
    ids = client.log_experiments(entries, project="offline")  # spooled, ids fixed already
    client.close()
    assert len(spool_files(settings.spool_dir)) == 1

    down.start()
    try:
        assert sync(down.url, settings=settings).replayed == 1  # one import request
        assert sync(down.url, settings=settings).replayed == 0
        again = Client(settings=settings)
        got = [again.get_experiment(i) for i in ids]
        again.close()
    finally:
        down.stop()
    assert [(e.name, e.params, e.metrics) for e in got] == [
        (f"r{i}", {"i": i}, {"acc": 0.2}) for i in range(3)
    ]


def test_sync_leaves_the_file_of_a_running_process_to_it(
    down: ServerProcess, token: str, tmp_path: Path
) -> None:
    settings = offline_settings(tmp_path, down, token)
    client = Client(settings=settings)
    exp = client.start_experiment(project="offline", capture=False)
    down.start()
    try:
        report = sync(down.url, settings=settings)
        assert report.replayed == 0
        assert len(report.busy) == 1
        exp.end()  # the owner replays its own spool
        assert spool_files(settings.spool_dir) == []
        assert client.get_experiment(exp.id).status == "finished"
    finally:
        client.close()
        down.stop()


def test_the_background_thread_replays_without_any_new_call(
    down: ServerProcess, token: str, tmp_path: Path
) -> None:
    settings = offline_settings(tmp_path, down, token)
    client = Client(settings=settings)
    exp = client.start_experiment(project="offline", params={"x": 1}, capture=False)
    backend = client.backend
    assert isinstance(backend, HttpBackend)
    assert backend.spool_path is not None
    down.start()
    try:
        deadline = time.monotonic() + 15
        while backend.spool_path is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert backend.spool_path is None
        store = SqlStore.open(down.store_uri)
        assert Services.for_user(store, "alice").experiments.get(exp.id).params == {"x": 1}
        store.close()
        exp.end()
    finally:
        client.close()
        down.stop()
