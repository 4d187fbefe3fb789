"""The CI gate: compare a contender with a baseline and fail on untriaged regressions.

:func:`gate` selects the two sides from the store (branches or commits) or takes
the contender from a fresh results file that is read but not stored, runs
:func:`~benchlab.regress.ab_compare`, looks up triage, and returns a
:class:`GateResult` whose ``failed`` is true when a case is ``worse`` at or
above ``fail_on`` severity and nobody triaged it.  ``GateResult.markdown`` is a
pull-request comment; ``to_dict()`` is the JSON form.

A branch side is, per series, the latest commit measured on that branch (all
its runs and samples).  The baseline of a results file is, per series in the
file, the latest commit in the store (on ``baseline_branch`` if given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from benchlab.errors import QueryError
from benchlab.frame import RESULTS_SCHEMA
from benchlab.regress._abtest import ab_compare
from benchlab.regress._common import SEVERITIES, case_label, severity_rank
from benchlab.regress._triage import triage_status

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["gate", "GateResult"]


@dataclass
class GateResult:
    """Outcome of :func:`gate`.

    Attributes
    ----------
    table : polars.DataFrame
        :func:`~benchlab.regress.ab_compare` output plus ``triage_status`` and
        ``failing`` (this row fails the gate).
    baseline, contender : str
        What was compared, in words.
    fail_on : str
        Lowest severity of an untriaged ``worse`` case that fails the gate.
    settings : dict
        ``min_factor``, ``alpha``, ``confidence`` used.
    """

    table: pl.DataFrame
    baseline: str
    contender: str
    fail_on: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def failing(self) -> pl.DataFrame:
        """The rows that make the gate fail."""
        return self.table.filter(pl.col("failing"))

    @property
    def failed(self) -> bool:
        """``True`` when an untriaged regression at or above ``fail_on`` was found."""
        return bool(self.table["failing"].any()) if self.table.height else False

    def counts(self) -> dict[str, int]:
        """Number of cases per verdict."""
        got = dict(self.table.group_by("verdict").len().iter_rows()) if self.table.height else {}
        return {v: int(got.get(v, 0)) for v in ("worse", "better", "unchanged", "uncertain")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and cases (floats that are not finite become ``None``)."""
        cases = []
        for row in self.table.iter_rows(named=True):
            rec = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
            rec["case"] = case_label(row)
            cases.append(rec)
        return {
            "failed": self.failed,
            "fail_on": self.fail_on,
            "baseline": self.baseline,
            "contender": self.contender,
            "settings": self.settings,
            "counts": self.counts(),
            "n_failing": self.failing.height,
            "cases": cases,
        }

    @property
    def markdown(self) -> str:
        """A Markdown report for a pull-request comment."""
        return _markdown(self)

    def __str__(self) -> str:
        return self.markdown


# -- selecting the sides ---------------------------------------------------------


def _latest_side(store: Store, *, branch: str | None, series_keys: list[str] | None, **filters: Any) -> pl.DataFrame:
    """Per series, every result of its latest commit (or latest run when it has no commit)."""
    sel = dict(filters)
    if branch is not None:
        sel["branch"] = branch
    if series_keys is not None:
        if not series_keys:
            return pl.DataFrame(schema=RESULTS_SCHEMA)
        sel["series_key"] = series_keys
    latest = store.latest(**sel)
    if latest.is_empty():
        return latest
    commits = latest["commit"].drop_nulls().unique().sort().to_list()
    by_commit = latest.filter(pl.col("commit").is_not_null()).select("series_key", "commit")
    by_run = latest.filter(pl.col("commit").is_null()).select("series_key", "run_id")
    parts = []
    if by_commit.height:
        rows = store.results(samples=True, **{**sel, "commit": commits})
        parts.append(rows.join(by_commit, on=["series_key", "commit"], how="semi"))
    if by_run.height:
        rows = store.results(samples=True, **{**sel, "run_id": by_run["run_id"].unique().sort().to_list()})
        parts.append(rows.join(by_run, on=["series_key", "run_id"], how="semi"))
    return pl.concat(parts)


def _store_side(
    store: Store, *, branch: str | None, commit: str | None, series_keys: list[str] | None, **filters: Any
) -> tuple[pl.DataFrame, str]:
    if commit is not None:
        sel = {**filters, "commit": commit}
        if branch is not None:
            sel["branch"] = branch
        if series_keys is not None:
            sel["series_key"] = series_keys
        label = f"commit {commit}" + (f" on {branch}" if branch else "")
        return store.results(samples=True, **sel), label
    if branch is not None:
        return _latest_side(store, branch=branch, series_keys=series_keys, **filters), f"branch {branch} (latest)"
    return _latest_side(store, branch=None, series_keys=series_keys, **filters), "latest in the store"


def _filter_frame(frame: pl.DataFrame, filters: dict[str, Any]) -> pl.DataFrame:
    for col, value in filters.items():
        if col not in frame.columns:
            raise QueryError(f"cannot filter on {col!r}")
        if value is None:
            frame = frame.filter(pl.col(col).is_null())
        elif isinstance(value, list | tuple | set):
            frame = frame.filter(pl.col(col).is_in(list(value)))
        else:
            frame = frame.filter(pl.col(col) == value)
    return frame


def gate(
    store: Store,
    *,
    baseline_branch: str | None = None,
    baseline_commit: str | None = None,
    contender_branch: str | None = None,
    contender_commit: str | None = None,
    results: str | Path | pl.DataFrame | None = None,
    results_format: str | None = None,
    fail_on: str = "moderate",
    min_factor: float = 1.1,
    alpha: float = 0.01,
    confidence: float = 0.95,
    min_n: int = 2,
    n_boot: int = 2000,
    seed: int = 0,
    **filters: Any,
) -> GateResult:
    """Compare a contender with a baseline and decide whether CI should fail.

    Parameters
    ----------
    store : Store
        Source of the baseline (and of the contender unless ``results``).
    baseline_branch, baseline_commit : str, optional
        The baseline: a commit (all its runs), or the latest commit of a branch
        per series.  With ``results`` both may be omitted: the baseline is then
        the latest commit in the store per series.
    contender_branch, contender_commit : str, optional
        The contender, like the baseline.
    results : path or polars.DataFrame, optional
        A fresh results file (any format benchlab reads; read with
        :func:`benchlab.ingest.read`, not written to the store) or a results
        frame, used as the contender.
    results_format : str, optional
        Force the importer for ``results``.
    fail_on : {"minor", "moderate", "major", "critical"}, default "moderate"
        Lowest severity of an untriaged ``worse`` case that fails the gate.
    min_factor, alpha, confidence, min_n, n_boot, seed
        As in :func:`~benchlab.regress.ab_compare`.
    **filters
        Restrict both sides (``model=``, ``hardware=``, ``metric=``, ``benchmark=`` …).

    Returns
    -------
    GateResult

    Raises
    ------
    QueryError
        If the sides are not specified exactly once, select no results, or an
        option is invalid.
    IngestError
        If the results file cannot be read.
    """
    severity_rank(fail_on)  # validates
    contenders = [x is not None for x in (contender_branch, contender_commit, results)]
    if sum(contenders) == 0:
        raise QueryError("give a contender: contender_branch, contender_commit or results (a results file)")
    if results is not None and (contender_branch is not None or contender_commit is not None):
        raise QueryError("give either results (a file) or contender_branch/contender_commit, not both")
    if results is None and baseline_branch is None and baseline_commit is None:
        raise QueryError("give a baseline: baseline_branch or baseline_commit")

    series_keys: list[str] | None = None
    if results is not None:
        if isinstance(results, pl.DataFrame):
            cont, c_label = results, "results frame"
        else:
            from benchlab.ingest import read

            path = Path(results)
            if not path.exists():
                raise QueryError(f"results file {path} does not exist")
            cont, c_label = read(path, results_format).results_frame(), f"file {path.name}"
        cont = _filter_frame(cont, filters)
        commits = cont["commit"].drop_nulls().unique().to_list()
        if len(commits) == 1:
            c_label += f" @ {commits[0]}"
        series_keys = cont["series_key"].unique().sort().to_list()
    else:
        cont, c_label = _store_side(
            store, branch=contender_branch, commit=contender_commit, series_keys=None, **filters
        )
    if cont.is_empty():
        raise QueryError(f"the contender ({c_label}) has no results" + (f" matching {filters}" if filters else ""))
    if series_keys is None:
        series_keys = cont["series_key"].unique().sort().to_list()
    base, b_label = _store_side(
        store, branch=baseline_branch, commit=baseline_commit, series_keys=series_keys, **filters
    )
    if base.is_empty():
        raise QueryError(f"the baseline ({b_label}) has no results for the contender's cases")
    table = ab_compare(
        (base, cont), b_label, c_label, min_factor=min_factor, alpha=alpha, confidence=confidence,
        min_n=min_n, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    # Cases only the baseline has are not the contender's business.
    table = table.filter(pl.col("n_contender") > 0)
    ids = table["change_id"].drop_nulls().unique().to_list()
    status = triage_status(store, ids).select("change_id", triage_status="status")
    table = table.join(status, on="change_id", how="left", maintain_order="left")
    floor = severity_rank(fail_on)
    failing_sev = [s for s in SEVERITIES if severity_rank(s) >= floor]
    table = table.with_columns(
        failing=(pl.col("verdict") == "worse")
        & pl.col("severity").is_in(failing_sev).fill_null(False)
        & pl.col("triage_status").is_null()
    )
    settings = {"min_factor": min_factor, "alpha": alpha, "confidence": confidence, "min_n": min_n}
    return GateResult(table=table, baseline=b_label, contender=c_label, fail_on=fail_on, settings=settings)


# -- Markdown ------------------------------------------------------------------------
def _num(v: float | None, unit: str | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.4g} {unit}" if unit else f"{v:.4g}"


def _pct(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "–"
    if math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    return f"{100 * x:+.1f}%"


def _change(row: dict[str, Any]) -> str:
    text = _pct(row.get("change"))
    lo, hi = row.get("change_low"), row.get("change_high")
    if lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)):
        text += f" [{_pct(lo)}, {_pct(hi)}]"
    return text


def _p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "–"
    return f"{p:.2g}" if p >= 1e-4 else "<0.0001"


_VERDICT = {
    "worse": ":x: worse",
    "better": ":rocket: better",
    "unchanged": "unchanged",
    "uncertain": ":grey_question: uncertain",
}


def _table(rows: list[dict[str, Any]], conf: float) -> list[str]:
    lines = [
        f"| case | baseline | contender | change ({100 * conf:g}% CI) | p-value | verdict | severity |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        verdict = _VERDICT.get(r["verdict"], r["verdict"])
        if r.get("triage_status"):
            verdict += f" (triaged: {r['triage_status']})"
        cells = [
            case_label(r).replace("|", "\\|"),
            _num(r.get("baseline"), r.get("unit")),
            _num(r.get("contender"), r.get("unit")),
            _change(r),
            _p(r.get("p_value")),
            verdict,
            r.get("severity") or "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _markdown(res: GateResult) -> str:
    t = res.table
    counts = res.counts()
    n_fail = res.failing.height
    if res.failed:
        head = f"### :x: benchlab gate: {n_fail} untriaged regression{'s' if n_fail != 1 else ''} at or above *{res.fail_on}*"
    else:
        head = f"### :white_check_mark: benchlab gate: no untriaged regression at or above *{res.fail_on}*"
    provs = sorted(set(t["provenance"].drop_nulls().to_list())) if "provenance" in t.columns else []
    lines = [
        head,
        "",
        f"**Baseline:** {res.baseline} · **Contender:** {res.contender} · "
        f"{t.height} case{'s' if t.height != 1 else ''}: {counts['worse']} worse, {counts['better']} better, "
        f"{counts['unchanged']} unchanged, {counts['uncertain']} uncertain",
        "",
        f"Values are {', '.join(provs) or 'measured'}; medians of "
        f"{'raw samples' if (t.height and (t['basis'] == 'samples').all()) else 'samples where recorded, else of run values'}. "
        f"A case is *worse* when the Mann–Whitney p < {res.settings.get('alpha')} and the whole "
        f"{100 * res.settings.get('confidence', 0.95):g}% interval is at least {res.settings.get('min_factor'):g}× worse.",
        "",
    ]
    rows = list(t.iter_rows(named=True))
    shown = [r for r in rows if r["verdict"] != "unchanged"]
    quiet = [r for r in rows if r["verdict"] == "unchanged"]
    conf = float(res.settings.get("confidence", 0.95))
    if shown:
        lines += _table(shown, conf)
    if quiet:
        lines += ["", f"<details><summary>{len(quiet)} unchanged case{'s' if len(quiet) != 1 else ''}</summary>", ""]
        lines += _table(quiet, conf)
        lines += ["", "</details>"]
    failing = [r for r in rows if r.get("failing")]
    if failing:
        lines += [
            "",
            "To accept a regression after review, record it with `benchlab triage` (it will not fail the gate again):",
            "",
        ]
        for r in failing:
            series = f" --series {r['series_key']}" if r.get("series_key") else ""
            lines.append(
                f"- {case_label(r)}: `benchlab triage {r['change_id']} expected{series} --note '…' --link https://…`"
            )
    return "\n".join(lines) + "\n"
