"""The ``benchlab`` command line.

Thin by design: each subcommand parses its arguments, calls the library and
formats the result.  Commands live in one module per concern in this package
(``store``, ``regress``, ``predict``, ``report`` …); a module that defines
``COMMANDS = [...]`` is registered automatically.

Exit codes: 0 success, 1 the command ran and found a problem (failed sources,
integrity problems, a failing gate), 2 a usage or input error (printed as one
sentence, no traceback).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from benchlab.cli._common import run_main

__all__ = ["main", "cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="benchlab")
def cli() -> None:
    """benchlab: analyse benchmark results — store, import, regressions, prediction, reports.

    The store defaults to $BENCHLAB_DB or the per-user store; pass --store PATH to
    any command to use another file.
    """


def _register() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``benchlab`` script; returns the exit code."""
    return run_main(cli, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
