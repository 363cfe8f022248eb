"""Server settings, read once from the environment (or the ``mled server`` options)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mled.settings import Settings

DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """Example:
    >>> ServerSettings(store_uri="sqlite:////tmp/x.db").max_body_bytes > 0
    True
    """

    store_uri: str
    artifacts_uri: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        base = Settings.from_env(env)
        return cls(
            store_uri=env.get("MLED_SERVER_STORE") or base.store_uri,
            artifacts_uri=env.get("MLED_SERVER_ARTIFACTS") or None,
            max_body_bytes=int(env.get("MLED_SERVER_MAX_BODY") or DEFAULT_MAX_BODY),
        )
