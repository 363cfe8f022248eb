"""Fixtures of the artifact tests: blob stores on a local folder and on S3 (moto's server).

``moto_s3`` starts moto's S3 server in this process on a free port, once per session, and
creates the bucket ``mled-test``; every test gets its own prefix in it. ``asset_client`` is an
SDK client over each metadata backend (SQLite, PostgreSQL) x each blob store (local, S3),
embedded; tests marked ``http_backend`` also run it through a real server (``asset_server``:
a ``LiveServer`` configured with the same stores, and a token of ``alice``, its admin; None
when embedded).
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from assets_support import AssetServer, user_token

from live_server import LiveServer
from mled.artifacts.blobstore import BlobStore
from mled.artifacts.config import ArtifactConfig
from mled.sdk.client import Client
from mled.server.settings import ServerSettings
from mled.settings import Settings

BUCKET = "mled-test"
KEY, SECRET, REGION = "testing", "testing", "us-east-1"
BLOB_KINDS = ["local", "s3"]


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def env(self) -> dict[str, str]:
        """Environment for a process that uses this server (credentials, endpoint)."""
        return {
            "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "MLED_S3_ENDPOINT_URL": self.endpoint,
        }

    def client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name=REGION,
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[S3Server]:
    """moto's S3 server on a free port, with the bucket ``mled-test``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = S3Server(f"http://127.0.0.1:{port}")
    s3.client().create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
    yield s3
    server.stop()


@pytest.fixture(params=BLOB_KINDS)
def blob_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def artifacts_uri(
    blob_kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty blob store location of each kind (S3 credentials set in the env)."""
    if blob_kind == "local":
        return str(tmp_path / "artifacts")
    s3: S3Server = request.getfixturevalue("moto_s3")
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


@pytest.fixture
def s3_endpoint(blob_kind: str, request: pytest.FixtureRequest) -> str | None:
    if blob_kind == "local":
        return None
    s3: S3Server = request.getfixturevalue("moto_s3")
    return s3.endpoint


@pytest.fixture
def blobs(artifacts_uri: str, s3_endpoint: str | None) -> BlobStore:
    """The blob store the clients of this test write to."""
    return ArtifactConfig(artifacts_uri, s3_endpoint).open()


@pytest.fixture
def asset_settings(
    tmp_path: Path, store_uri: str, artifacts_uri: str, s3_endpoint: str | None
) -> Settings:
    return Settings(
        home=tmp_path / "home",
        tracking_uri=store_uri,
        username="alice",
        capture_git=False,
        capture_command=False,
        capture_environment=False,
        handle_signals=False,
        artifacts_uri=artifacts_uri,
        s3_endpoint_url=s3_endpoint,
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``asset_transport``: embedded, plus "http" for tests marked ``http_backend``."""
    if "asset_transport" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("http_backend") is not None
        metafunc.parametrize("asset_transport", ["embedded", "http"] if both else ["embedded"])


@pytest.fixture
def asset_server(
    asset_transport: str, store_uri: str, artifacts_uri: str, s3_endpoint: str | None
) -> Iterator[AssetServer | None]:
    """None when embedded; else a ``LiveServer`` on the test's stores (no 5xx allowed)."""
    if asset_transport == "embedded":
        yield None
        return
    token = user_token(store_uri)
    server_settings = ServerSettings(
        store_uri=store_uri, artifacts_uri=artifacts_uri, s3_endpoint_url=s3_endpoint
    )
    with LiveServer(server_settings) as server:
        yield AssetServer(server, token)
        assert server.log.server_errors() == [], "the server answered with a 5xx"


@pytest.fixture
def asset_client(asset_settings: Settings, asset_server: AssetServer | None) -> Iterator[Client]:
    """A client on {SQLite, PostgreSQL} x {local folder, S3} stores, embedded or (for tests
    marked ``http_backend``) also through a server on those stores."""
    settings = asset_settings
    if asset_server is not None:
        settings = replace(
            asset_settings,
            tracking_uri=asset_server.url,
            token=asset_server.token,
            http_retries=1,
            spool=False,
        )
    client = Client(settings=settings)
    yield client
    client.close()
