"""``mled server``: run the MLED REST API (uvicorn) on a store.

Each worker process is stateless and opens the store itself, so several workers, or several
hosts behind a load balancer, can serve one PostgreSQL database. SQLite suits one host.

Example:
    $ mled server --store postgresql://mled@db.internal/mled --host 0.0.0.0 --workers 4
    $ mled server --store /data/team.db --port 5000
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import typer

from mled.cli.context import CommandContext, DebugOption, StoreOption
from mled.errors import InvalidInput, InvalidTrackingUri

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
APP_FACTORY = "mled.server.app:create_app_from_env"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def register(app: typer.Typer) -> None:
    """Add ``server`` to ``app`` as a top-level command."""
    app.command("server")(server_command)


def server_environment(
    store: str,
    *,
    artifacts: str | None = None,
    max_body_bytes: int | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``MLED_SERVER_*`` variables worker processes build their settings from.

    Example:
        >>> server_environment("sqlite:////data/mled.db", base={})
        {'MLED_SERVER_STORE': 'sqlite:////data/mled.db'}
    """
    env = dict(os.environ if base is None else base)
    env["MLED_SERVER_STORE"] = store
    if artifacts is not None:
        env["MLED_SERVER_ARTIFACTS"] = artifacts
    if max_body_bytes is not None:
        env["MLED_SERVER_MAX_BODY"] = str(max_body_bytes)
    return env


def resolve_store(store: str | None, env: Mapping[str, str] | None = None) -> str:
    """The database to serve: ``store``, else ``$MLED_SERVER_STORE``, else the tracking URI
    (``$MLED_TRACKING_URI`` or the embedded default). A plain path means a SQLite file.

    Example:
        >>> resolve_store("postgresql://mled@db/mled", env={})
        'postgresql://mled@db/mled'
    """
    from mled.sdk.connect import normalize_uri
    from mled.server.settings import ServerSettings

    env = os.environ if env is None else env
    uri = normalize_uri(store or ServerSettings.from_env(env).store_uri)
    if uri.split("://", 1)[0].lower() in {"http", "https"}:
        raise InvalidTrackingUri(
            f"{uri!r} is an MLED server; a server serves a database",
            hint="Pass --store sqlite:///path/to/mled.db or --store postgresql://user@host/db.",
        )
    return uri


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    store: str | None = None,
    artifacts: str | None = None,
    max_body_bytes: int | None = None,
    log_level: str = "info",
    init_admin: bool = False,
) -> None:
    """Serve the API until interrupted; the store is opened (and checked) once first.

    One worker runs in this process; more run ``mled.server.app:create_app_from_env`` in
    uvicorn worker processes configured through ``MLED_SERVER_*`` environment variables.

    Example:
        >>> serve(store="sqlite:////tmp/mled.db", port=5000, workers=2)  # doctest: +SKIP
    """
    import uvicorn

    from mled.server.app import create_app
    from mled.server.settings import ServerSettings
    from mled.service.users import create_first_admin
    from mled.store.sql.store import SqlStore

    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, not {workers}")
    env = server_environment(
        resolve_store(store), artifacts=artifacts, max_body_bytes=max_body_bytes
    )
    settings = ServerSettings.from_env(env)
    opened = SqlStore.open(settings.store_uri)  # migrates an empty store, refuses an old one
    try:
        password = create_first_admin(opened) if init_admin else None
    finally:
        opened.close()
    _announce(host, port, password if init_admin else None, init_admin)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)
        return
    os.environ.update(env)  # inherited by the worker processes
    uvicorn.run(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )


def _announce(host: str, port: int, password: str | None, init_admin: bool) -> None:
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    typer.echo(f"MLED server: http://{shown}:{port}  (API docs: http://{shown}:{port}/api/docs)")
    if password is not None:
        typer.echo(f"admin login created: user 'admin', password '{password}' (shown only now)")
        typer.echo(f"  save a token with: mled login http://{shown}:{port}")
    elif init_admin:
        typer.echo(
            "admin login: user 'admin' (its password was shown when it was created; "
            "reset it with `mled users set-password admin`)"
        )


def server_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (0.0.0.0: every one).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535)] = DEFAULT_PORT,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 1,
    artifacts: Annotated[
        str | None,
        typer.Option("--artifacts", metavar="URI", help="Artifact store (file path or s3://)."),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option("--max-body-bytes", min=1, help="Largest request body accepted."),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help=f"One of: {', '.join(LOG_LEVELS)}.")
    ] = "info",
    init_admin: Annotated[
        bool,
        typer.Option(
            "--init-admin", help="Create the user 'admin' with a random password if missing."
        ),
    ] = False,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Run the MLED server (REST API under /api/v1) on a store until Ctrl-C.

    The store is --store, else $MLED_SERVER_STORE, else the tracking URI. Clients send an API
    token (`mled login URL` saves one); docs/api.md describes the API.

    Example: mled server --store postgresql://mled@db/mled --host 0.0.0.0 --workers 4
    """
    cli = CommandContext.create(ctx, store, False, debug)
    with cli.guard():
        if log_level not in LOG_LEVELS:
            raise InvalidInput(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        serve(
            host=host,
            port=port,
            workers=workers,
            store=cli.options.store,
            artifacts=artifacts,
            max_body_bytes=max_body_bytes,
            log_level=log_level,
            init_admin=init_admin,
        )
