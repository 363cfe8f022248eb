"""Settings, read from the environment once at the edge and passed in explicitly.

Example:
    >>> s = Settings.from_env({"MLED_HOME": "/tmp/mled-home"})
    >>> s.store_uri
    'sqlite:////tmp/mled-home/mled.db'
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mled.errors import InvalidInput

_FALSE = {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool = True) -> bool:
    value = env.get(name)
    return default if value is None else value.strip().lower() not in _FALSE


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"{name}={value!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    """Everything configurable about an SDK or CLI process.

    ``tracking_uri`` None means the embedded default store under ``home``. With an
    ``http(s)://`` tracking URI, ``token`` (``MLED_TOKEN``) overrides the token saved by
    ``mled login`` in ``credentials_path``; requests time out after ``http_timeout`` seconds
    and are retried ``http_retries`` times; with ``spool`` on, writes made while the server is
    unreachable go to a file under ``spool_dir`` and are replayed later.
    """

    home: Path
    tracking_uri: str | None = None
    username: str = "local"
    flush_interval: float = 2.0
    flush_points: int = 100_000
    capture_git: bool = True
    capture_git_diff: bool = True
    capture_command: bool = True
    capture_environment: bool = True
    capture_packages: bool = True
    handle_signals: bool = True
    token: str | None = field(default=None, repr=False)
    http_timeout: float = 30.0
    http_retries: int = 5
    spool: bool = True
    artifacts_uri: str | None = None
    s3_endpoint_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("MLED_HOME") or Path.home() / ".mled").expanduser()
        return cls(
            home=home,
            tracking_uri=env.get("MLED_TRACKING_URI") or None,
            username=env.get("MLED_USER") or _os_user(),
            flush_interval=_number(env, "MLED_FLUSH_INTERVAL", 2.0),
            flush_points=int(_number(env, "MLED_FLUSH_POINTS", 100_000)),
            capture_git=_flag(env, "MLED_CAPTURE_GIT"),
            capture_git_diff=_flag(env, "MLED_CAPTURE_GIT_DIFF"),
            capture_command=_flag(env, "MLED_CAPTURE_COMMAND"),
            capture_environment=_flag(env, "MLED_CAPTURE_ENVIRONMENT"),
            capture_packages=_flag(env, "MLED_CAPTURE_PACKAGES"),
            handle_signals=_flag(env, "MLED_HANDLE_SIGNALS"),
            token=env.get("MLED_TOKEN") or None,
            http_timeout=_number(env, "MLED_HTTP_TIMEOUT", 30.0),
            http_retries=int(_number(env, "MLED_HTTP_RETRIES", 5)),
            spool=_flag(env, "MLED_SPOOL"),
            artifacts_uri=env.get("MLED_ARTIFACTS_URI") or None,
            s3_endpoint_url=env.get("MLED_S3_ENDPOINT_URL") or None,
        )

    @property
    def store_uri(self) -> str:
        """The tracking URI, or the embedded default store's SQLite URI."""
        return self.tracking_uri or f"sqlite:///{self.home / 'mled.db'}"

    @property
    def artifact_store_uri(self) -> str:
        """Where artifact bytes go in embedded mode: ``artifacts_uri`` (``MLED_ARTIFACTS_URI``,
        a folder or ``s3://bucket/prefix``, with ``MLED_S3_ENDPOINT_URL`` for S3-compatible
        servers) or the folder ``artifacts`` under ``home``."""
        return self.artifacts_uri or str(self.home / "artifacts")

    @property
    def spool_dir(self) -> Path:
        """Where writes made while an MLED server is unreachable wait to be replayed."""
        return self.home / "spool"

    @property
    def credentials_path(self) -> Path:
        """The API tokens saved by ``mled login``, one per server URL (mode 0600)."""
        return self.home / "credentials"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "local"
