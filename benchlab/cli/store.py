"""Store commands: ingest, query, stats, check, backup, restore, optimize, export, sql."""

from __future__ import annotations

from pathlib import Path

import click

from benchlab.cli._common import emit_json, err, finish, json_option, open_store, print_frame, store_option


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", default=None, help="Force one importer (see `benchlab formats`).")
@store_option
@json_option
def ingest(paths: tuple[str, ...], fmt: str | None, store_path: Path | None, as_json: bool) -> None:
    """Import result files, folders or globs into the store.

    Each source is imported atomically (all or nothing) and idempotently (the
    same content again is skipped).  Bad sources are reported with the file,
    record and reason; the others go on.  Exit code 1 if any source failed.
    """
    store = open_store(store_path)
    report = store.ingest(list(paths), format=fmt, progress=not as_json)
    if as_json:
        emit_json({"store": str(store.path), "ok": report.ok, "summary": report.summary(),
                   "sources": report.to_frame()})  # fmt: skip
    else:
        for o in report.outcomes:
            if o.status == "added":
                click.echo(f"added    {o.path} [{o.format}] {o.n_runs} runs, {o.n_results} results")
            elif o.status == "skipped":
                click.echo(f"skipped  {o.path} ({o.message})")
            elif o.status == "unrecognised":
                click.echo(f"ignored  {o.path}: not a recognised format")
            else:
                err(f"FAILED   {o.message}")
        click.echo(report.summary())
    finish(0 if report.ok else 1)


_FILTERS = [
    click.option("--benchmark", multiple=True, help="Benchmark name (repeatable)."),
    click.option("--model", multiple=True, help="Model (repeatable)."),
    click.option("--hardware", multiple=True, help="Hardware platform (repeatable)."),
    click.option("--metric", multiple=True, help="Metric (repeatable)."),
    click.option("--precision", multiple=True, help="Precision (repeatable)."),
    click.option("--batch-size", multiple=True, type=int, help="Batch size (repeatable)."),
    click.option("--commit", multiple=True, help="Commit (repeatable)."),
    click.option("--branch", multiple=True, help="Branch (repeatable)."),
]


def filter_options(f):
    """Add the common result filters (each repeatable) to a command."""
    for opt in reversed(_FILTERS):
        f = opt(f)
    return f


def collect_filters(**kw: tuple[object, ...]) -> dict[str, list[object]]:
    """Turn repeatable filter options into store filters (empty ones dropped)."""
    return {k: list(v) for k, v in kw.items() if v}


@click.command()
@filter_options
@click.option("--latest", is_flag=True, help="Only the latest value of each series.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to print (text output).")
@store_option
@json_option
def results(latest: bool, limit: int, store_path: Path | None, as_json: bool, **filters: tuple[object, ...]) -> None:
    """Show results (the results frame), filtered."""
    store = open_store(store_path)
    f = collect_filters(**filters)
    df = store.latest(**f) if latest else store.results(**f)
    df = df.drop("samples")
    if as_json:
        emit_json(df)
    else:
        cols = ["timestamp", "commit", "provenance", "benchmark", "model", "hardware", "batch_size",
                "precision", "metric", "value", "unit"]  # fmt: skip
        print_frame(df.select(cols), max_rows=limit)


@click.command()
@click.argument("metric")
@click.option("--rows", default="model", show_default=True)
@click.option("--columns", default="hardware", show_default=True)
@click.option("--agg", type=click.Choice(["median", "mean", "min", "max"]), default="median", show_default=True)
@store_option
@json_option
def matrix(metric: str, rows: str, columns: str, agg: str, store_path: Path | None, as_json: bool) -> None:
    """A pivot of METRIC (default model × hardware) from the latest runs."""
    df = open_store(store_path).matrix(metric, rows=rows, columns=columns, agg=agg)  # type: ignore[arg-type]
    emit_json(df) if as_json else print_frame(df, title=f"{metric} ({agg})")


@click.command()
@click.argument("baseline")
@click.argument("contender")
@click.option("--by", default="commit", show_default=True, help="Column BASELINE/CONTENDER refer to.")
@click.option("--metric", multiple=True)
@store_option
@json_option
def compare(
    baseline: str, contender: str, by: str, metric: tuple[str, ...], store_path: Path | None, as_json: bool
) -> None:
    """Two commits, runs, branches or hardware side by side with their ratio."""
    value: object = int(baseline) if by == "run_id" else baseline
    other: object = int(contender) if by == "run_id" else contender
    f = {"metric": list(metric)} if metric else {}
    df = open_store(store_path).compare(value, other, by=by, **f)
    emit_json(df) if as_json else print_frame(df)


@click.command()
@store_option
@json_option
def stats(store_path: Path | None, as_json: bool) -> None:
    """Counts and ranges that describe the store."""
    s = open_store(store_path).stats()
    if as_json:
        emit_json(s)
        return
    for k, v in s.items():
        click.echo(f"{k:>22}: {v}")


@click.command()
@store_option
@json_option
def check(store_path: Path | None, as_json: bool) -> None:
    """Integrity check: orphans, duplicates, impossible values.  Exit 1 on problems."""
    problems = open_store(store_path).check()
    if as_json:
        emit_json({"ok": problems.is_empty(), "problems": problems})
    elif problems.is_empty():
        click.echo("ok: no integrity problems found")
    else:
        print_frame(problems, title="integrity problems")
    finish(0 if problems.is_empty() else 1)


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@store_option
@json_option
def backup(dest: Path, store_path: Path | None, as_json: bool) -> None:
    """Copy the store to DEST and verify the copy table by table."""
    out = open_store(store_path).backup(dest)
    emit_json({"backup": out, "verified": True}) if as_json else click.echo(f"backup written and verified: {out}")


@click.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store.")
@store_option
@json_option
def restore(source: Path, yes: bool, store_path: Path | None, as_json: bool) -> None:
    """Replace the store with the verified backup SOURCE."""
    store = open_store(store_path)
    if not yes and not as_json:
        click.confirm(f"Replace {store.path} with {source}?", abort=True)
    store.restore(source)
    emit_json({"restored": store.path, "from": source}) if as_json else click.echo(
        f"restored {store.path} from {source}"
    )


@click.command()
@store_option
@json_option
def optimize(store_path: Path | None, as_json: bool) -> None:
    """Compact the store file (rewrite, verify, swap)."""
    sizes = open_store(store_path).optimize()
    if as_json:
        emit_json(sizes)
    else:
        click.echo(f"{sizes['before_bytes']:,} bytes -> {sizes['after_bytes']:,} bytes")


@click.command()
@click.argument("dest", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
@filter_options
@store_option
@json_option
def export(dest: Path, fmt: str, store_path: Path | None, as_json: bool, **filters: tuple[object, ...]) -> None:
    """Write the (filtered) results frame to DEST as Parquet or CSV."""
    n = open_store(store_path).export(dest, format=fmt, **collect_filters(**filters))  # type: ignore[arg-type]
    emit_json({"path": dest, "rows": n, "format": fmt}) if as_json else click.echo(f"{n} rows written to {dest}")


@click.command()
@click.argument("query")
@click.option("--param", "params", multiple=True, help="Positional parameter for ? placeholders (repeatable).")
@store_option
@json_option
def sql(query: str, params: tuple[str, ...], store_path: Path | None, as_json: bool) -> None:
    """Run a read-only SQL QUERY (use ? placeholders and --param for values)."""
    df = open_store(store_path).sql(query, list(params) or None)
    emit_json(df) if as_json else print_frame(df)


COMMANDS = [ingest, results, matrix, compare, stats, check, backup, restore, optimize, export, sql]
