"""``python -m mled``: the same command line as the ``mled`` script."""

from mled.cli.app import main

if __name__ == "__main__":
    main()
