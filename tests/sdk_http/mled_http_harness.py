"""The HTTP tests' harness: a real MLED server process per test, and SDK clients of it.

The server runs ``uvicorn --factory mled.server.app:create_app_from_env`` on the test's fresh
store (SQLite and PostgreSQL, through the ``store_uri`` fixture) and can be killed with SIGKILL
and restarted on the same port. ``http_client`` is the HTTP twin of the shared ``client``
fixture: same store, same user (``alice``, the store's first user and so its admin).

The fixtures are defined here, not in a conftest, so that another conftest can import them
(``from sdk_http.mled_http_harness import http_client, http_settings, server, token``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mled.sdk.client import Client
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore

READY_TIMEOUT = 20.0
APP = "mled.server.app:create_app_from_env"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``uvicorn --factory mled.server.app:create_app_from_env`` on one store and port."""

    def __init__(self, store_uri: str, port: int, log_path: Path) -> None:
        self.store_uri = store_uri
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.ready_seconds: float | None = None

    def start(self) -> ServerProcess:
        env = {**os.environ, "MLED_SERVER_STORE": self.store_uri}
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            APP,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        started = time.perf_counter()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()
        self.ready_seconds = time.perf_counter() - started
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the server did not get ready:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, requests in flight are cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


USER = "alice"


def admin_token(store_uri: str, username: str = USER) -> str:
    """An API token of the store's first user (so an admin)."""
    store = SqlStore.open(store_uri)
    try:
        return Services.for_user(store, username).tokens.create("tests").token
    finally:
        store.close()


def http_settings_for(home: Path, url: str, token: str, **changes: object) -> Settings:
    """SDK settings for a test client of the server at ``url``."""
    values: dict[str, object] = {
        "home": home,
        "tracking_uri": url,
        "username": USER,
        "token": token,
        "flush_interval": 60.0,
        "capture_git_diff": False,
        "handle_signals": False,
        "http_retries": 2,
        **changes,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def token(store_uri: str) -> str:
    """An API token of ``alice``, the admin of the test's store."""
    return admin_token(store_uri)


@pytest.fixture
def server(store_uri: str, token: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A running server on the test's fresh store (SQLite or PostgreSQL)."""
    proc = ServerProcess(store_uri, free_port(), tmp_path / "server.log")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def http_settings(tmp_path: Path, server: ServerProcess, token: str) -> Settings:
    """Settings of an SDK client of ``server`` (MLED_HOME under the test's tmp_path)."""
    return http_settings_for(tmp_path / "http-home", server.url, token)


@pytest.fixture
def http_client(http_settings: Settings) -> Iterator[Client]:
    """An SDK client on a fresh store of each backend, through a real server process."""
    c = Client(settings=http_settings)
    yield c
    c.close()
