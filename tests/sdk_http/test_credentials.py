"""Saved tokens: one per server URL, private file, MLED_TOKEN overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from mled.errors import InvalidTrackingUri
from mled.sdk.credentials import (
    forget_token,
    load_credentials,
    read_token,
    resolve_token,
    save_token,
    server_key,
)
from mled.settings import Settings


def test_tokens_are_kept_per_server_in_a_file_only_the_owner_can_read(tmp_path: Path) -> None:
    path = tmp_path / "home" / "credentials"
    save_token("http://a.example:5000", "token-a", path=path, username="alice")
    save_token("https://b.example/", "token-b", path=path)
    assert read_token("http://A.example:5000/", path=path) == "token-a"
    assert read_token("https://b.example", path=path) == "token-b"
    assert read_token("https://c.example", path=path) is None
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert load_credentials(path)["http://a.example:5000"]["username"] == "alice"


def test_saving_again_replaces_the_token_and_forgetting_removes_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    save_token("http://a.example", "old", path=path)
    save_token("http://a.example", "new", path=path)
    assert read_token("http://a.example", path=path) == "new"
    assert forget_token("http://a.example", path=path)
    assert not forget_token("http://a.example", path=path)
    assert read_token("http://a.example", path=path) is None


def test_mled_token_overrides_the_saved_token(tmp_path: Path) -> None:
    settings = Settings.from_env({"MLED_HOME": str(tmp_path)})
    save_token("http://a.example", "saved", path=settings.credentials_path)
    assert resolve_token("http://a.example", settings) == "saved"
    env = {"MLED_HOME": str(tmp_path), "MLED_TOKEN": "from-env"}
    assert resolve_token("http://a.example", Settings.from_env(env)) == "from-env"


def test_a_damaged_credentials_file_means_not_logged_in(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("{not json")
    assert read_token("http://a.example", path=path) is None


def test_the_token_never_shows_in_the_settings_repr() -> None:
    settings = Settings.from_env({"MLED_HOME": "/tmp/x", "MLED_TOKEN": "mled_secret"})
    assert "mled_secret" not in repr(settings)


def test_server_urls_must_be_http() -> None:
    with pytest.raises(InvalidTrackingUri):
        server_key("ftp://a.example")
