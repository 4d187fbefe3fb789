"""Regression commands: ``benchlab detect``, ``benchlab triage``, ``benchlab gate``.

Exit codes: 0 ok (``detect`` exits 0 even when it finds changes: it reports,
the gate decides), 1 the gate failed, 2 a usage or input error.
"""

from __future__ import annotations

import getpass
import json
import math
from pathlib import Path
from typing import Any

import click
import polars as pl

from benchlab.cli._common import emit_json, finish, json_option, open_store, print_frame, store_option
from benchlab.errors import BenchlabError

_SEVERITIES = ["minor", "moderate", "major", "critical"]
_STATUSES = ["acknowledged", "expected", "false_alarm", "fixed"]

_FILTERS = [
    click.option("--benchmark", multiple=True, help="Benchmark name (repeatable)."),
    click.option("--model", multiple=True, help="Model (repeatable)."),
    click.option("--hardware", multiple=True, help="Hardware platform (repeatable)."),
    click.option("--metric", multiple=True, help="Metric (repeatable)."),
    click.option("--precision", multiple=True, help="Precision (repeatable)."),
    click.option("--batch-size", "batch_size", multiple=True, type=int, help="Batch size (repeatable)."),
]


def _filter_options(f):  # click decorator plumbing (untyped by design)
    for opt in reversed(_FILTERS):
        f = opt(f)
    return f


def _filters(kw: dict[str, Any]) -> dict[str, Any]:
    """Store filters from the repeatable filter options (unused ones dropped)."""
    return {k: list(v) for k, v in kw.items() if v}


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment: record none
        return None


def _pct(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{100 * x:+.1f}%"


def _point(commit: str | None, timestamp: object) -> str:
    """A short name of a point: the commit (abbreviated like git) or the time."""
    if commit:
        return commit[:12]
    return str(timestamp)[:19] if timestamp is not None else ""


@click.command()
@_filter_options
@click.option("--since", default=None, help="Only runs started at or after this time (ISO 8601).")
@click.option("--min-effect", type=float, default=0.05, show_default=True, help="Smallest change reported (0.05 = 5%).")
@click.option("--alpha", type=float, default=0.01, show_default=True, help="Mann–Whitney significance level.")
@click.option("--regressions-only", is_flag=True, help="Do not list improvements.")
@click.option("--all", "include_triaged", is_flag=True, help="Also list changes already triaged.")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to print (text output).")
@store_option
@json_option
def detect(
    since: str | None,
    min_effect: float,
    alpha: float,
    regressions_only: bool,
    include_triaged: bool,
    limit: int,
    store_path: Path | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """List regressions and improvements in the store's history (untriaged ones)."""
    from benchlab.regress import detect_store
    from benchlab.regress._common import case_label

    store = open_store(store_path)
    changes = detect_store(
        store, min_effect=min_effect, alpha=alpha, improvements=not regressions_only,
        include_triaged=include_triaged, since=since, **_filters(kw),
    )  # fmt: skip
    if as_json:
        emit_json({"store": str(store.path), "n_changes": changes.height, "changes": changes})
        return
    if changes.is_empty():
        click.echo("no untriaged changes" if not include_triaged else "no changes")
        return
    rows = list(changes.iter_rows(named=True))
    view = pl.DataFrame(
        {
            "change_id": changes["change_id"],
            "kind": changes["kind"],
            "severity": changes["severity"],
            "case": [case_label(r) for r in rows],
            "before → after": [f"{r['before']:.4g} → {r['after']:.4g} {r['unit'] or ''}".rstrip() for r in rows],
            "change [CI]": [f"{_pct(r['change'])} [{_pct(r['change_low'])}, {_pct(r['change_high'])}]" for r in rows],
            "p": [f"{p:.2g}" for p in changes["p_value"]],
            "first bad": [_point(r["first_bad_commit"], r["first_bad_timestamp"]) for r in rows],
        }
    )
    if include_triaged:
        view = view.with_columns(triage=changes["triage_status"])
    print_frame(view, title=f"{changes.height} change(s)", max_rows=limit)


@click.command()
@click.argument("change_id", required=False)
@click.argument("status", required=False, type=click.Choice(_STATUSES, case_sensitive=False))
@click.option("--note", default=None, help="Free text.")
@click.option("--link", default=None, help="An http(s) URL: issue, pull request …")
@click.option("--author", default=None, help="Who decided (default: the current user).")
@click.option("--series", "series_key", default=None, help="Series key, for a gate finding not in the store.")
@click.option("--list", "list_", is_flag=True, help="Show the triage history (of CHANGE_ID if given).")
@store_option
@json_option
def triage(
    change_id: str | None,
    status: str | None,
    note: str | None,
    link: str | None,
    author: str | None,
    series_key: str | None,
    list_: bool,
    store_path: Path | None,
    as_json: bool,
) -> None:
    """Record a decision about a change: CHANGE_ID STATUS, or --list the history.

    STATUS is acknowledged, expected, false_alarm or fixed.  Triaged changes are
    not raised again by `benchlab detect` and do not fail `benchlab gate`.
    """
    from benchlab.regress import triage as triage_
    from benchlab.regress import triage_history

    store = open_store(store_path)
    if list_:
        if status is not None:
            raise click.UsageError("--list takes at most a CHANGE_ID, not a STATUS")
        hist = triage_history(store, change_id)
        if as_json:
            emit_json({"store": str(store.path), "triage": hist})
        elif hist.is_empty():
            click.echo("no triage recorded" + (f" for {change_id}" if change_id else ""))
        else:
            cols = [
                "triage_id",
                "created_at",
                "change_id",
                "status",
                "kind",
                "first_bad_commit",
                "author",
                "note",
                "link",
            ]
            print_frame(hist.select(cols), title="triage history", max_rows=200)
        return
    if change_id is None or status is None:
        raise click.UsageError("give CHANGE_ID and STATUS (or --list)")
    row = triage_(store, change_id, status, note=note, link=link, author=author or _user(), series_key=series_key)
    if as_json:
        emit_json(row.row(0, named=True))
    else:
        r = row.row(0, named=True)
        click.echo(f"triaged {r['change_id']} as {r['status']} (entry {r['triage_id']})")


@click.command()
@click.option("--baseline-branch", default=None, help="Baseline: latest commit of this branch, per series.")
@click.option("--baseline-commit", default=None, help="Baseline: all runs of this commit.")
@click.option("--contender-branch", default=None, help="Contender: latest commit of this branch, per series.")
@click.option("--contender-commit", default=None, help="Contender: all runs of this commit.")
@click.option(
    "--results",
    "results_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Contender: a fresh results file (read, not stored); baseline defaults to the latest in the store.",
)
@click.option("--format", "fmt", default=None, help="Force the importer of --results.")
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES, case_sensitive=False),
    default="moderate",
    show_default=True,
    help="Fail on untriaged regressions of at least this severity.",
)
@click.option(
    "--min-factor", type=float, default=1.1, show_default=True, help="Smallest factor that counts (1.1 = 10%)."
)
@click.option("--alpha", type=float, default=0.01, show_default=True, help="Mann–Whitney significance level.")
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also write JSON here.")
@_filter_options
@store_option
@json_option
def gate(
    baseline_branch: str | None,
    baseline_commit: str | None,
    contender_branch: str | None,
    contender_commit: str | None,
    results_path: Path | None,
    fmt: str | None,
    fail_on: str,
    min_factor: float,
    alpha: float,
    json_out: Path | None,
    store_path: Path | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Compare a contender with a baseline; exit 1 on untriaged regressions.

    Prints Markdown ready for a pull-request comment (or JSON with --json).
    Examples:

      benchlab gate --baseline-branch main --contender-branch feature

      benchlab gate --baseline-commit A --contender-commit B --fail-on major

      benchlab gate --results new.json --json-out gate.json
    """
    from benchlab.regress import gate as gate_

    store = open_store(store_path)
    res = gate_(
        store, baseline_branch=baseline_branch, baseline_commit=baseline_commit,
        contender_branch=contender_branch, contender_commit=contender_commit,
        results=results_path, results_format=fmt, fail_on=fail_on.lower(), min_factor=min_factor,
        alpha=alpha, **_filters(kw),
    )  # fmt: skip
    data = res.to_dict()
    if json_out is not None:
        try:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(data, default=str, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise BenchlabError(f"cannot write {json_out}: {exc.strerror or exc}") from None
    if as_json:
        emit_json(data)
    else:
        click.echo(res.markdown, nl=False)
    finish(1 if res.failed else 0)


COMMANDS = [detect, triage, gate]
