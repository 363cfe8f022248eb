"""Server settings, read once from the environment (or the ``mled server`` options)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mled.artifacts.config import ArtifactConfig
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
    s3_endpoint_url: str | None = None

    def artifact_config(self, env: Mapping[str, str] | None = None) -> ArtifactConfig:
        """Where the server keeps artifact bytes: ``artifacts_uri``, else the SDK's default
        (``MLED_ARTIFACTS_URI``, else ``$MLED_HOME/artifacts``). Never taken from a request.

        Example:
            >>> ServerSettings("sqlite://", artifacts_uri="/srv/blobs").artifact_config().uri
            '/srv/blobs'
        """
        base = Settings.from_env(os.environ if env is None else env)
        return ArtifactConfig(
            self.artifacts_uri or base.artifact_store_uri,
            endpoint_url=self.s3_endpoint_url or base.s3_endpoint_url,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if env is None else env
        base = Settings.from_env(env)
        return cls(
            store_uri=env.get("MLED_SERVER_STORE") or base.store_uri,
            artifacts_uri=env.get("MLED_SERVER_ARTIFACTS") or None,
            max_body_bytes=int(env.get("MLED_SERVER_MAX_BODY") or DEFAULT_MAX_BODY),
            s3_endpoint_url=env.get("MLED_S3_ENDPOINT_URL") or None,
        )
