"""``benchlab demo``: build (or find) the simulated demo store and describe it."""

from __future__ import annotations

import time
from pathlib import Path

import click

from benchlab.cli._common import emit_json, json_option


@click.command("demo")
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar="BENCHLAB_DEMO_DB",
    help="Demo store file (default: $BENCHLAB_DEMO_DB or demo.duckdb in the per-user benchlab folder).",
)
@click.option("--force", is_flag=True, help="Rebuild even if up to date; overwrites a file that is not a demo store.")
@json_option
def demo(store_path: Path | None, force: bool, as_json: bool) -> None:
    """Build the demo store of SIMULATED results (first use or after an upgrade) and print its stats.

    The demo is generated deterministically from the specification in data/
    (models, hardware, commit history, injected regressions); every run in it
    has provenance "simulated".  An up-to-date demo store is reused as is.
    """
    from benchlab import demo as demo_module

    t0 = time.perf_counter()
    store, built = demo_module.ensure_demo(store_path, force=force)
    seconds = time.perf_counter() - t0
    stats = store.stats()
    runs = store.runs()
    truth = demo_module.load_spec().changes
    info = {
        **stats,
        "built": built,
        "seconds": round(seconds, 3),
        "generator_version": demo_module.GENERATOR_VERSION,
        "provenance": sorted(set(runs["provenance"].to_list())),
        "commits": runs["commit"].n_unique(),
        "branches": sorted(set(runs["branch"].drop_nulls().to_list())),
        "injected_changes": int((truth["kind"] != "outlier").sum()),
        "injected_outliers": int((truth["kind"] == "outlier").sum()),
    }
    if as_json:
        emit_json(info)
        return
    action = f"built in {seconds:.1f} s" if built else "up to date, reused"
    click.echo(f"demo store: {info['path']} ({action})")
    click.echo("SIMULATED data: every run has provenance 'simulated'; nothing here was measured.")
    click.echo(
        f"  {info['results']:,} results in {info['series']:,} series, {info['runs']:,} runs over "
        f"{info['commits']} commits ({', '.join(info['branches'])})"
    )
    click.echo(
        f"  {info['models']} models, {info['hardware']} hardware platforms, "
        f"{info['compatibility_records']} compatibility records, {info['integration_tests']} integration tests"
    )
    click.echo(
        f"  {info['injected_changes']} injected changes and {info['injected_outliers']} lone spikes "
        "(ground truth: benchlab.demo.injected_changes())"
    )
    click.echo(f"  {info['first_run']} → {info['last_run']}, {info['size_bytes'] / 1e6:.1f} MB")


COMMANDS = [demo]
