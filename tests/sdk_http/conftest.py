"""Fixtures of the HTTP tests (defined in ``mled_http_harness``, which other conftests can
import too): ``token``, ``server``, ``http_settings`` and ``http_client``."""

from mled_http_harness import http_client, http_settings, server, token

__all__ = ["http_client", "http_settings", "server", "token"]
