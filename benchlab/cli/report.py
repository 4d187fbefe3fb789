"""``benchlab report`` and ``benchlab export-notebook``: offline HTML pages."""

from __future__ import annotations

import time
from pathlib import Path

import click

from benchlab.cli._common import emit_json, json_option, open_store, store_option


@click.command("report")
@store_option
@click.option(
    "--since",
    default=None,
    metavar="REV|DATE",
    help="Start of the report window: a date (2025-03-01), a span back from the newest run (30d, 2w) "
    "or a commit with runs in the store (the window starts after it). Default: the 30 days up to the newest run.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="HTML file to write.",
)
@click.option("--title", default=None, help="Page title (default: 'benchlab report — <store file>').")
@json_option
def report(store_path: Path | None, since: str | None, out: Path, title: str | None, as_json: bool) -> None:
    """Write a self-contained HTML report of the store that opens offline.

    Summary (measured / simulated / predicted), regressions and improvements in
    the window with their history charts, commit range and triage status,
    hardware comparison, compatibility matrix and predictions.  The charts stay
    interactive; the page loads nothing from the network.
    """
    from benchlab.errors import BenchlabError
    from benchlab.reporting import build_report
    from benchlab.store import default_path

    path_ = store_path if store_path is not None else default_path()
    if not path_.exists():  # opening would create an empty store; a report of nothing is a mistake
        raise BenchlabError(f"no store at {path_}; import results with `benchlab ingest` or pass --store")
    store = open_store(path_)
    t0 = time.perf_counter()
    info: dict[str, object] = {}
    written = Path(build_report(store, since=since, out=out, title=title, progress=not as_json, info=info))
    seconds = time.perf_counter() - t0
    size = written.stat().st_size
    if as_json:
        emit_json({"path": str(written), "bytes": size, "seconds": round(seconds, 3), **info})
        return
    click.echo(f"wrote {written} ({size / 1e6:.2f} MB, {info['charts']} charts) in {seconds:.1f} s")
    click.echo(f"window: {info['window']}")


@click.command("export-notebook")
@click.argument("notebook", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write (default: the notebook's name with .html).",
)
@click.option("--show-input", is_flag=True, help="Show the code cells (hidden by default).")
@click.option("--no-execute", is_flag=True, help="Export the outputs saved in the notebook instead of running it.")
@click.option("--timeout", type=click.IntRange(min=1), default=600, show_default=True, help="Seconds one cell may run.")
@click.option("--kernel", "kernel_name", default=None, help="Kernel to run with (default: the notebook's own).")
@click.option("--title", default=None, help="Page title (default: the notebook's title or file name).")
@json_option
def export_notebook(
    notebook: Path,
    out: Path | None,
    show_input: bool,
    no_execute: bool,
    timeout: int,
    kernel_name: str | None,
    title: str | None,
    as_json: bool,
) -> None:
    """Execute NOTEBOOK and write it as one HTML page that opens offline.

    Altair charts stay interactive (drawn by Vega inlined once in the page);
    ipywidgets are shown as static snapshots of their state; anything that
    would load from a CDN is removed.
    """
    from benchlab.reporting import export_notebook as export

    t0 = time.perf_counter()
    path = export(
        notebook,
        out=out,
        show_input=show_input,
        execute=not no_execute,
        timeout=timeout,
        kernel_name=kernel_name,
        title=title,
    )
    seconds = time.perf_counter() - t0
    size = path.stat().st_size
    if as_json:
        emit_json({"path": str(path), "bytes": size, "seconds": round(seconds, 3)})
        return
    click.echo(f"wrote {path} ({size / 1e6:.2f} MB) in {seconds:.1f} s")


COMMANDS = [report, export_notebook]
