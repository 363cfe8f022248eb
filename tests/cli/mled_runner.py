"""Helpers of the CLI tests: running ``mled`` in-process, and an SDK client to seed data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from mled.cli.app import build_app
from mled.sdk.client import Client
from mled.settings import Settings


@dataclass
class Mled:
    """Invoke ``mled ARGS...`` against one store and return the result."""

    store_uri: str
    home: Path

    def __call__(
        self, *args: str, env: dict[str, str | None] | None = None, input: str | None = None
    ) -> Result:
        base: dict[str, str | None] = {
            "MLED_TRACKING_URI": self.store_uri,
            "MLED_HOME": str(self.home),
            "MLED_USER": "alice",
            "COLUMNS": None,
            "FORCE_COLOR": None,
            "NO_COLOR": "1",
        }
        return CliRunner().invoke(
            build_app(),
            list(args),
            env={**base, **(env or {})},
            input=input,
            catch_exceptions=False,
        )


def client_for(uri: str, home: Path) -> Client:
    """An SDK client acting as ``alice`` on ``uri``, capturing nothing from this process."""
    return Client(
        settings=Settings(
            home=home,
            tracking_uri=uri,
            username="alice",
            capture_git=False,
            capture_command=False,
            capture_environment=False,
            handle_signals=False,
        )
    )
