"""``benchlab formats``: the importers benchlab knows, in sniffing order."""

from __future__ import annotations

import click

from benchlab.cli._common import emit_json, json_option, print_frame


@click.command()
@json_option
def formats(as_json: bool) -> None:
    """List the result formats benchlab can import.

    NAME is what `benchlab ingest --format NAME` takes.  Importers are tried in
    this order (highest priority first); FOLDER marks importers that take a
    whole folder (an asv results/ folder or published site) rather than a file.
    See docs/formats.md for what each reads, maps and drops.
    """
    import polars as pl

    from benchlab.ingest import importers

    rows = [
        {
            "name": imp.name,
            "folder": bool(imp.folder),
            "priority": int(imp.priority),
            "description": imp.description,
        }
        for imp in importers()
    ]
    if as_json:
        emit_json(rows)
        return
    df = pl.DataFrame(
        rows, schema={"name": pl.Utf8, "folder": pl.Boolean, "priority": pl.Int64, "description": pl.Utf8}
    ).with_columns(pl.when(pl.col("folder")).then(pl.lit("yes")).otherwise(pl.lit("")).alias("folder"))
    print_frame(df, title="benchlab importers", max_rows=len(rows))


COMMANDS = [formats]
