"""``login()`` and the ``mled login`` / ``logout`` / ``sync`` commands against a real server."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from mled_http_harness import ServerProcess, free_port, http_settings_for
from typer.testing import CliRunner

from mled.cli.auth import build
from mled.errors import Unauthenticated
from mled.sdk.client import Client
from mled.sdk.credentials import login, read_token
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore

PASSWORD = "a long passphrase for bob"


@pytest.fixture
def bob(server: ServerProcess) -> str:
    store = SqlStore.open(server.store_uri)
    Services.for_user(store, "alice").users.create("bob", password=PASSWORD)
    store.close()
    return "bob"


def test_login_saves_a_token_that_later_clients_use(
    server: ServerProcess, bob: str, tmp_path: Path
) -> None:
    settings = replace(http_settings_for(tmp_path, server.url, "unused"), token=None)
    path = login(server.url + "/", bob, PASSWORD, settings=settings)
    assert path == settings.credentials_path
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_token(server.url, path=path)
    client = Client(settings=settings)
    assert client.backend.username == "bob"
    client.close()


def test_a_wrong_password_is_unauthenticated_and_saves_nothing(
    server: ServerProcess, bob: str, tmp_path: Path
) -> None:
    settings = Settings.from_env({"MLED_HOME": str(tmp_path)})
    with pytest.raises(Unauthenticated):
        login(server.url, bob, "not the password", settings=settings)
    assert not settings.credentials_path.exists()


def test_the_commands(
    server: ServerProcess, bob: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLED_HOME", str(tmp_path))
    monkeypatch.delenv("MLED_TOKEN", raising=False)
    runner = CliRunner()
    app = build()
    done = runner.invoke(
        app, ["login", server.url, "-u", bob, "--password-stdin"], input=PASSWORD + "\n"
    )
    assert done.exit_code == 0, done.output
    assert f"logged in to {server.url} as bob" in done.output
    done = runner.invoke(app, ["sync", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["replayed"] == 0
    done = runner.invoke(app, ["logout", server.url])
    assert done.exit_code == 0
    assert "forgot the token" in done.output
    assert read_token(server.url, path=tmp_path / "credentials") is None


def test_sync_with_the_server_still_down_exits_non_zero(
    token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = Client(settings=http_settings_for(tmp_path, url, token, http_retries=0))
    client.start_experiment(project="p", capture=False).end()
    client.close()
    monkeypatch.setenv("MLED_HOME", str(tmp_path))
    monkeypatch.setenv("MLED_TOKEN", token)
    done = CliRunner().invoke(build(), ["sync", url])
    assert done.exit_code == 1
    assert "2 still spooled" in done.output
