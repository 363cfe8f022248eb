"""Choosing a backend from a tracking URI."""

from __future__ import annotations

from pathlib import Path

from mled.errors import InvalidTrackingUri
from mled.sdk.backend import Backend


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


def open_backend(uri: str, *, username: str) -> Backend:
    """Open the backend a tracking URI names (embedded SQLite or PostgreSQL)."""
    uri = normalize_uri(uri)
    scheme = uri.split("://", 1)[0].lower()
    if scheme in {"sqlite", "postgresql", "postgres", "postgresql+psycopg"}:
        from mled.sdk.local import LocalBackend

        return LocalBackend.open(uri, username=username)
    if scheme in {"http", "https"}:
        raise InvalidTrackingUri(
            f"{uri!r} names an MLED server, but this version of MLED has no HTTP client yet",
            hint="Use sqlite:///path/to/mled.db or postgresql://user@host/db for now.",
        )
    raise InvalidTrackingUri(f"{uri!r} has the unsupported scheme {scheme!r}")
