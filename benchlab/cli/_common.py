"""Options and output helpers shared by every CLI module."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import polars as pl

from benchlab.errors import BenchlabError

F = TypeVar("F", bound=Callable[..., Any])


def store_option(f: F) -> F:
    """``--store PATH`` (default: $BENCHLAB_DB or the per-user store)."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        envvar="BENCHLAB_DB",
        help="Store file (default: $BENCHLAB_DB or the per-user store).",
    )(f)


def json_option(f: F) -> F:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")(f)


def open_store(path: Path | None):
    from benchlab.store import open as open_store_

    return open_store_(path)


def _default(o: object) -> object:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, pl.DataFrame):
        return o.to_dicts()
    return str(o)


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON (frames become lists of records)."""
    click.echo(json.dumps(data, default=_default, indent=2))


def print_frame(df: pl.DataFrame, *, title: str | None = None, max_rows: int = 50) -> None:
    """Print a frame as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in df.columns:
        table.add_column(c, overflow="fold")
    for row in df.head(max_rows).iter_rows():
        table.add_row(*("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console = Console()
    console.print(table)
    if df.height > max_rows:
        console.print(f"… {df.height - max_rows} more rows (use --json for all)")


def run_main(group: click.Group, argv: list[str]) -> int:
    """Run the click group; user errors become one line on stderr and exit 2."""
    try:
        group.main(args=argv, prog_name="benchlab", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except BenchlabError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except BrokenPipeError:
        return 0
    except SystemExit as exc:  # a command called ctx.exit(n) / sys.exit(n)
        return int(exc.code or 0)
    return _exit_code.pop() if _exit_code else 0


_exit_code: list[int] = []


def finish(code: int) -> None:
    """Set the process exit code from inside a command (1 = ran, found a problem)."""
    _exit_code.clear()
    _exit_code.append(code)


def err(message: str) -> None:
    click.echo(message, err=True)
