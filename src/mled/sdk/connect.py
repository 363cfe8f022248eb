"""Choosing a backend from a tracking URI."""

from __future__ import annotations

from pathlib import Path

from mled.errors import InvalidTrackingUri
from mled.sdk.backend import Backend
from mled.settings import Settings


def normalize_uri(uri: str) -> str:
    """Accept database URIs as they are and plain paths as SQLite stores.

    Example:
        >>> normalize_uri("/data/team.db")
        'sqlite:////data/team.db'
    """
    uri = uri.strip()
    if "://" in uri:
        return uri
    path = Path(uri).expanduser().resolve()
    if path.suffix in {".db", ".sqlite", ".sqlite3"}:
        return f"sqlite:///{path}"
    return f"sqlite:///{path / 'mled.db'}"


def open_backend(uri: str, *, username: str, settings: Settings | None = None) -> Backend:
    """Open the backend a tracking URI names: embedded SQLite or PostgreSQL, or a server.

    ``http(s)://`` URIs give an ``HttpBackend`` configured by ``settings`` (token, timeouts,
    spool directory; read from the environment when None).

    Example:
        >>> open_backend("ftp://example.com", username="alice")
        Traceback (most recent call last):
        ...
        mled.errors.InvalidTrackingUri: 'ftp://example.com' has the unsupported scheme 'ftp' ...
    """
    uri = normalize_uri(uri)
    scheme = uri.split("://", 1)[0].lower()
    if scheme in {"sqlite", "postgresql", "postgres", "postgresql+psycopg"}:
        from mled.sdk.local import LocalBackend

        return LocalBackend.open(uri, username=username, settings=settings or Settings.from_env())
    if scheme in {"http", "https"}:
        from mled.sdk.http import HttpBackend

        return HttpBackend.open(uri, settings=settings or Settings.from_env())
    raise InvalidTrackingUri(f"{uri!r} has the unsupported scheme {scheme!r}")
