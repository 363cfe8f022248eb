"""``mled server``: how it configures uvicorn, and a real multi-worker server on each backend."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi import FastAPI
from mled_api_harness import free_port
from typer.testing import CliRunner

from mled.cli import server as server_cli
from mled.errors import InvalidTrackingUri
from mled.service import Services
from mled.store.sql.store import SqlStore


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Record uvicorn.run calls instead of serving; keep os.environ changes in this test."""
    import uvicorn

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setattr(os, "environ", dict(os.environ))
    return calls


def test_one_worker_serves_the_app_in_process(uvicorn_calls: list, tmp_path: Path) -> None:
    path = tmp_path / "new" / "mled.db"
    server_cli.serve(store=str(path), host="0.0.0.0", port=5123, max_body_bytes=4096)
    ((args, kwargs),) = uvicorn_calls
    assert isinstance(args[0], FastAPI)
    assert args[0].state.settings.store_uri == f"sqlite:///{path}"
    assert args[0].state.settings.max_body_bytes == 4096
    assert kwargs == {"host": "0.0.0.0", "port": 5123, "log_level": "info"}
    assert path.exists()  # the store was created (migrated) before serving


def test_several_workers_run_the_factory_configured_by_environment(
    uvicorn_calls: list, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mled.db'}"
    server_cli.serve(store=uri, workers=3, artifacts="s3://bucket/mled", log_level="warning")
    ((args, kwargs),) = uvicorn_calls
    assert args == ("mled.server.app:create_app_from_env",)
    assert kwargs["factory"] is True
    assert kwargs["workers"] == 3
    assert os.environ["MLED_SERVER_STORE"] == uri
    assert os.environ["MLED_SERVER_ARTIFACTS"] == "s3://bucket/mled"


def test_the_store_comes_from_the_environment_and_is_never_a_server() -> None:
    env = {"MLED_SERVER_STORE": "postgresql://mled@db/mled"}
    assert server_cli.resolve_store(None, env) == "postgresql://mled@db/mled"
    assert server_cli.resolve_store("/data/team.db", env) == "sqlite:////data/team.db"
    with pytest.raises(InvalidTrackingUri):
        server_cli.resolve_store("https://mled.example.com", {})


def test_the_command_reports_a_bad_store_cleanly() -> None:
    app = typer.Typer()
    server_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "server" a subcommand
    runner = CliRunner()
    assert "--workers" in runner.invoke(app, ["server", "--help"]).output
    result = runner.invoke(app, ["server", "--store", "http://elsewhere:5000"])
    assert result.exit_code == 2
    assert "invalid_tracking_uri" in result.output


def test_a_multi_worker_server_answers_on_each_backend(store_uri: str, tmp_path: Path) -> None:
    store = SqlStore.open(store_uri)
    try:
        token = Services.for_user(store, "admin").tokens.create("t").token
    finally:
        store.close()
    port = free_port()
    code = (
        "from mled.cli.server import serve; "
        f"serve(port={port}, workers=2, store={store_uri!r}, log_level='warning')"
    )
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(4):  # spread over both workers
            assert httpx.get(f"{url}/me", headers=headers).json()["username"] == "admin"
    finally:
        process.terminate()
        process.wait(20)
        log.close()
