"""API tokens saved per server: ``~/.mled/credentials`` (``$MLED_HOME/credentials``).

``mled login URL`` exchanges a user name and password for an API token and saves it here, keyed
by the server's URL; every later SDK or CLI call to that server sends it. ``MLED_TOKEN``
overrides the file (CI jobs, containers). The file is JSON, written atomically with mode 0600
inside a 0700 directory, and never holds a password::

    {"servers": {"https://mled.example.com": {"token": "mled_...", "username": "alice",
                                               "expires_at": 1767225600.0}}}

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "credentials"
    >>> _ = save_token("HTTP://Example.com:8080/", "mled_secret", path=path, username="alice")
    >>> read_token("http://example.com:8080", path=path)
    'mled_secret'
    >>> oct(path.stat().st_mode & 0o777)
    '0o600'
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mled.errors import InvalidTrackingUri
from mled.settings import Settings

LOGIN_PATH = "/api/v1/auth/login"


def server_key(url: str) -> str:
    """The canonical form of a server URL: lower-case scheme and host, no trailing slash.

    Example:
        >>> server_key("HTTPS://MLED.example.com/")
        'https://mled.example.com'
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidTrackingUri(f"{url!r} is not an http(s):// server URL")
    return f"{scheme}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def load_credentials(path: Path) -> dict[str, dict[str, Any]]:
    """Every saved server entry ``{url: {"token": ..., ...}}``; empty when there is no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable file means "not logged in", never a crash
    servers = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        return {}
    return {k: v for k, v in servers.items() if isinstance(v, dict)}


def read_token(url: str, *, path: Path) -> str | None:
    """The token saved for ``url`` in the credentials file at ``path``, or None."""
    entry = load_credentials(path).get(server_key(url))
    token = entry.get("token") if entry else None
    return token if isinstance(token, str) and token else None


def resolve_token(url: str, settings: Settings) -> str | None:
    """``MLED_TOKEN`` (``settings.token``) if set, else the token saved for ``url``."""
    return settings.token or read_token(url, path=settings.credentials_path)


def save_token(
    url: str,
    token: str,
    *,
    path: Path,
    username: str | None = None,
    expires_at: float | None = None,
) -> Path:
    """Save ``token`` for ``url`` (replacing an older one) and return the file's path."""
    servers = load_credentials(path)
    servers[server_key(url)] = {
        "token": token,
        "username": username,
        "expires_at": expires_at,
        "saved_at": time.time(),
    }
    _write_private(path, json.dumps({"servers": servers}, indent=2, sort_keys=True) + "\n")
    return path


def forget_token(url: str, *, path: Path) -> bool:
    """Remove the token saved for ``url``; True when there was one."""
    servers = load_credentials(path)
    if servers.pop(server_key(url), None) is None:
        return False
    _write_private(path, json.dumps({"servers": servers}, indent=2, sort_keys=True) + "\n")
    return True


def login(
    url: str,
    username: str,
    password: str,
    *,
    settings: Settings | None = None,
    timeout: float = 30.0,
) -> Path:
    """Log in to the server at ``url`` and save the API token it issues; returns the file.

    Wrong credentials raise ``Unauthenticated``, too many attempts ``RateLimited`` (the
    server's own errors), an unreachable server ``StoreUnavailable``.

    Example:
        >>> login("http://127.0.0.1:5000", "alice", "a long passphrase")  # doctest: +SKIP
        PosixPath('/home/alice/.mled/credentials')
    """
    import httpx

    from mled.sdk.http_transport import error_from_response, unreachable_error

    settings = settings or Settings.from_env()
    base = server_key(url)
    try:
        response = httpx.post(
            base + LOGIN_PATH,
            json={"username": username, "password": password},
            timeout=timeout,
        )
    except httpx.HTTPError as err:
        raise unreachable_error(base, err) from err
    if response.status_code != 200:
        raise error_from_response(response)
    body = response.json()
    return save_token(
        base,
        str(body["token"]),
        path=settings.credentials_path,
        username=username,
        expires_at=body.get("expires_at"),
    )


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically (temp file, fsync, rename) readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored when the file already existed
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
