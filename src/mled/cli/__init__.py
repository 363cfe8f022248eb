"""The ``mled`` command line: one module per command group, each command a thin shell.

Commands parse their arguments, make one call to the SDK client (or to
``mled.service.maintenance`` for ``mled db``), and format the result with
``mled.cli.output``. Nothing here touches SQL. This package is imported only by the
``mled`` entry point and ``python -m mled``, never by ``import mled``.
"""
