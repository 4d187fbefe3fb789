"""From a results frame to the cells and design matrices the performance model uses.

A *cell* is one (hardware, workload) pair of one metric group, where the
workload is everything in the series identity except the hardware: benchmark,
model, batch size, sequence length, precision, parameters, metric and unit.
Repeated runs of a series collapse into one cell (median of the log values).

Metric groups
-------------
Latency-like metrics (unit dimension ``time``) and throughput-like metrics
(dimension ``rate``) measure the same thing — how fast a system runs a workload
— in opposite directions.  They are fitted together on one *log-speed* scale
``z = +log(value)`` for higher-is-better metrics and ``z = -log(value)`` for
lower-is-better ones, so a system's speed learned from its throughput results
also informs its latency results.  Every other metric (memory, energy, power,
accuracy …) is its own group on ``z = log(value)``.

Design matrix
-------------
:class:`Design` turns cells into a sparse one-hot design for the regularised
additive model: main effects of the hardware, the workload and each of their
parts and catalogue attributes, pairwise interactions of the hardware (and its
type and device) with the workload parts, numeric slopes (log batch size, log
sequence length, catalogue numbers such as accelerator count or memory) and
bags of name tokens (``H100``, ``SXM``, ``x8``).  Encoding uses Polars joins
against the training vocabulary, so unseen levels simply contribute nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

from benchlab.units import UnknownUnitError, parse_unit

__all__ = ["IDENTITY", "WORKLOAD_PARTS", "prepare", "cells", "Design", "metric_group"]

#: Columns that identify a configuration (the series identity without ``metric``).
IDENTITY = ("benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric")
#: Parts of a workload (identity without the hardware), plus the unit.
WORKLOAD_PARTS = ("benchmark", "model", "batch_size", "seq_len", "precision", "params", "metric", "unit")
_NULL = "\u2205"  # printed for a missing level; never a real label
_SEP = "\x1f"
_SPEED_DIMENSIONS = {"time", "rate"}
SPEED = "speed"


def metric_group(metric: str, unit: str | None) -> str:
    """The metric group a (metric, unit) pair is fitted in (``"speed"`` or the metric)."""
    try:
        dim = parse_unit(unit).dimension
    except UnknownUnitError:
        dim = None
    return SPEED if dim in _SPEED_DIMENSIONS else f"metric:{metric}"


def _tokens(text: str | None) -> list[str]:
    # Names such as "DGX-H100_H100-SXM-80GBx8_TRT" share tokens with similar systems.
    if not text:
        return []
    return sorted({t for t in re.split(r"[^0-9a-z]+", text.lower()) if t and (len(t) > 1 or not t.isdigit())})


def _flatten(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    try:
        doc = json.loads(text)
    except (TypeError, ValueError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}


def _param_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """One ``param:<key>`` column (text) per key found in ``params``."""
    distinct = frame["params"].unique().to_list()
    parsed = {p: _flatten(p) for p in distinct}
    keys = sorted({k for d in parsed.values() for k in d})
    if not keys:
        return frame
    lookup = pl.DataFrame(
        {"params": distinct, **{f"param:{k}": [None if parsed[p].get(k) is None else str(parsed[p][k]) for p in distinct] for k in keys}},
        schema={"params": pl.Utf8, **{f"param:{k}": pl.Utf8 for k in keys}},
    )
    return frame.join(lookup, on="params", how="left", nulls_equal=True)


def _catalogue(frame: pl.DataFrame, cat: pl.DataFrame | None, key: str, prefix: str, cols: dict[str, str]) -> pl.DataFrame:
    """Join catalogue columns and scalar metadata keys onto ``frame``.

    Numbers become ``<prefix>n:<key>`` (log scale when positive), text becomes
    ``<prefix>c:<key>``.
    """
    if cat is None or cat.is_empty() or "name" not in cat.columns:
        return frame
    out = cat.select([pl.col("name").cast(pl.Utf8).alias(key)] + [pl.col(c).alias(a) for c, a in cols.items() if c in cat.columns])
    if "metadata" in cat.columns:
        docs = [_flatten(m) for m in cat["metadata"].cast(pl.Utf8).to_list()]
        mkeys = sorted({k for d in docs for k in d})
        extra = {}
        for k in mkeys:
            vals = [d.get(k) for d in docs]
            if all(v is None or isinstance(v, int | float) for v in vals):
                extra[f"{prefix}n:{k}"] = pl.Series([None if v is None else float(v) for v in vals], dtype=pl.Float64)
            else:
                extra[f"{prefix}c:{k}"] = pl.Series([None if v is None else str(v) for v in vals], dtype=pl.Utf8)
        out = out.with_columns(**extra)
    out = out.unique(key, keep="first")
    clash = [c for c in out.columns if c != key and c in frame.columns]
    return frame.join(out.drop(clash), on=key, how="left")


def prepare(
    frame: pl.DataFrame,
    hardware: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add the feature columns the model uses to a results (or configuration) frame.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with (a subset of) the identity columns.
    hardware, models : polars.DataFrame, optional
        The store's catalogues (:meth:`Store.hardware`, :meth:`Store.models`).

    Returns
    -------
    polars.DataFrame
        ``frame`` plus ``hw`` and ``workload`` keys, ``group`` (metric group),
        ``sign``, parsed ``param:*`` columns and catalogue attributes.
    """
    schema = {
        "benchmark": pl.Utf8, "model": pl.Utf8, "model_family": pl.Utf8, "hardware": pl.Utf8,
        "hardware_type": pl.Utf8, "batch_size": pl.Int64, "seq_len": pl.Int64, "precision": pl.Utf8,
        "params": pl.Utf8, "metric": pl.Utf8, "unit": pl.Utf8, "direction": pl.Utf8,
    }  # fmt: skip
    f = frame.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in frame.columns])
    f = f.with_columns([pl.col(c).cast(t) for c, t in schema.items()])
    pairs = f.select("metric", "unit").unique()
    groups = pl.DataFrame(
        {
            "metric": pairs["metric"],
            "unit": pairs["unit"],
            "group": [metric_group(m, u) for m, u in pairs.iter_rows()],
        },
        schema={"metric": pl.Utf8, "unit": pl.Utf8, "group": pl.Utf8},
    )
    f = f.join(groups, on=["metric", "unit"], how="left", nulls_equal=True)
    f = f.with_columns(
        sign=pl.when((pl.col("group") == SPEED) & (pl.col("direction") == "lower")).then(-1.0).otherwise(1.0),
        hw=pl.col("hardware").fill_null(_NULL),
        workload=pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null(_NULL) for c in WORKLOAD_PARTS], separator=_SEP),
        metric_unit=pl.concat_str([pl.col("metric").fill_null(_NULL), pl.col("unit").fill_null(_NULL)], separator=" "),
        log_batch=pl.col("batch_size").cast(pl.Float64).log(2),
        log_seq=pl.col("seq_len").cast(pl.Float64).log(2),
    )
    f = _param_columns(f)
    f = _catalogue(
        f, hardware, "hardware", "hw",
        {"type": "hwc:type", "device_name": "hwc:device", "vendor": "hwc:vendor",
         "memory_gb": "hwn:memory_gb", "peak_tflops": "hwn:peak_tflops", "bandwidth_gbs": "hwn:bandwidth_gbs"},
    )  # fmt: skip
    f = _catalogue(
        f, models, "model", "mdl",
        {"family": "mdlc:family", "modality": "mdlc:modality", "params_m": "mdln:params_m"},
    )  # fmt: skip
    if "hwc:type" in f.columns:
        # The catalogue's type is more reliable than a guess made at import.
        f = f.with_columns(hardware_type=pl.coalesce(pl.col("hwc:type").replace("other", None), pl.col("hardware_type"))).drop("hwc:type")
    if "mdlc:family" in f.columns:
        f = f.with_columns(model_family=pl.coalesce("model_family", "mdlc:family")).drop("mdlc:family")
    return f


def cells(prepared: pl.DataFrame) -> pl.DataFrame:
    """Collapse rows with a value into one cell per (group, hw, workload).

    The cell's ``z`` is the median of ``sign * log(value)`` over its rows;
    ``n`` counts them and ``ss`` is their sum of squared deviations (replicate
    noise).  Rows whose value is missing, zero or negative are dropped: a log
    model cannot use them.
    """
    ok = prepared.filter(pl.col("value").is_not_null() & (pl.col("value") > 0) & pl.col("value").is_finite())
    ok = ok.with_columns(z=pl.col("sign") * pl.col("value").log())
    feature_cols = [c for c in ok.columns if c not in ("z", "value")]
    agg = ok.group_by("group", "hw", "workload", maintain_order=True).agg(
        pl.col("z").median().alias("z"),
        pl.len().alias("n"),
        ((pl.col("z") - pl.col("z").mean()) ** 2).sum().alias("ss"),
        *[pl.col(c).first() for c in feature_cols if c not in ("group", "hw", "workload")],
    )
    return agg


# -- design ------------------------------------------------------------------------
@dataclass
class _Group:
    name: str
    cols: tuple[str, ...]
    numeric: str | None = None
    tokens: str | None = None


def _hw_cat(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c.startswith("hwc:")]


def _hw_num(columns: Iterable[str]) -> list[str]:
    return [c for c in columns if c.startswith("hwn:")]


def design_groups(columns: Sequence[str], numeric_hw: Sequence[str], *, max_params: int = 12) -> list[_Group]:
    """The effect groups of the additive model, given the prepared columns."""
    params = [c for c in columns if c.startswith("param:")][:max_params]
    parts = ["benchmark", "model", "precision", "batch_size", "seq_len", "metric_unit", *params]
    g: list[_Group] = [_Group("hw", ("hw",)), _Group("workload", ("workload",))]
    g += [_Group(p, (p,)) for p in parts]
    g += [_Group(c, (c,)) for c in ("hardware_type", "model_family", *_hw_cat(columns)) if c in columns]
    g += [_Group(c, (c,)) for c in columns if c.startswith("mdlc:")]
    # Interactions: how this hardware (or kind of hardware, or device) treats
    # each part of a workload.
    g += [_Group(f"hw*{p}", ("hw", p)) for p in parts]
    g += [_Group(f"hardware_type*{p}", ("hardware_type", p)) for p in ("workload", *parts)]
    if "hwc:device" in columns:
        g += [_Group(f"device*{p}", ("hwc:device", p)) for p in ("workload", "model", "precision", "metric_unit", *params)]
    # Numeric slopes, overall and per hardware / part.
    for x in ("log_batch", "log_seq"):
        g += [_Group(f"{x}", (), x)] + [_Group(f"{x}*{p}", (p,), x) for p in ("hw", "hardware_type", "model", "precision", "metric_unit")]
    for x in numeric_hw:
        g += [_Group(x, (), x)] + [_Group(f"{x}*{p}", (p,), x) for p in ("workload", "model", "metric_unit", *params)]
    for x in (c for c in columns if c.startswith("mdln:")):
        g += [_Group(x, (), x)] + [_Group(f"{x}*{p}", (p,), x) for p in ("hw", "hardware_type", "metric_unit")]
    g += [_Group(f"tokens:{c}", (), tokens=c) for c in ("hardware", "benchmark", "model")]
    return g


def _key_expr(cols: tuple[str, ...]) -> pl.Expr:
    if not cols:
        return pl.lit("")
    return pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null(_NULL) for c in cols], separator=_SEP)


def _numeric(f: pl.DataFrame, col: str) -> np.ndarray:
    x = f[col].cast(pl.Float64).to_numpy().astype(float, copy=True)
    if col.startswith(("hwn:", "mdln:")):
        # sizes and counts act multiplicatively: use their log
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
    return x


@dataclass
class Design:
    """Sparse one-hot design of the regularised additive model.

    ``fit`` learns the vocabulary (and numeric scaling) on training cells;
    ``transform`` encodes any cells, leaving unseen levels at zero so that
    their prediction falls back on the coarser effects they share with the
    training data.  All keys of all groups are computed in one Polars query.
    """

    max_numeric_hw: int = 6
    groups: list[_Group] = field(default_factory=list)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    n_columns: int = 0

    def _numeric_hw(self, f: pl.DataFrame) -> list[str]:
        """The hardware numbers worth a slope: best covered first, at most ``max_numeric_hw``."""
        ranked = []
        for c in _hw_num(f.columns):
            x = _numeric(f, c)
            ok = np.isfinite(x)
            if ok.sum() >= 2 and np.std(x[ok]) > 0:
                ranked.append((-ok.mean(), c))
        return [c for _, c in sorted(ranked)[: self.max_numeric_hw]]

    def fit(self, f: pl.DataFrame) -> Design:
        groups = [g for g in design_groups(f.columns, self._numeric_hw(f)) if all(c in f.columns for c in g.cols)]
        self.vocab, self.scale, self.offsets = {}, {}, {}
        plain = [g for g in groups if g.tokens is None]
        keys = f.select([_key_expr(g.cols).alias(g.name) for g in plain])
        numeric = {x: _numeric(f, x) for x in {g.numeric for g in plain if g.numeric is not None}}
        offset = 0
        kept = []
        for g in groups:
            if g.numeric is not None:
                x = numeric[g.numeric]
                ok = np.isfinite(x)
                if ok.sum() < 2 or np.std(x[ok]) == 0:
                    continue
                self.scale[g.name] = (float(np.mean(x[ok])), float(np.std(x[ok])))
            if g.tokens is not None:
                voc = sorted({t for s in f[g.tokens].drop_nulls().unique().to_list() for t in _tokens(s)})
            else:
                voc = keys[g.name].unique().sort().to_list()
            if not voc or (len(voc) == 1 and g.numeric is None and g.name != "workload"):
                continue  # a constant column adds nothing the intercept does not
            self.vocab[g.name] = voc
            self.offsets[g.name] = offset
            offset += len(voc)
            kept.append(g)
        self.groups = kept
        self.n_columns = offset
        return self

    def transform(self, f: pl.DataFrame) -> sp.csr_matrix:
        needed = {c for g in self.groups for c in (*g.cols, g.numeric, g.tokens) if c is not None}
        absent = [c for c in needed if c not in f.columns]
        if absent:
            # a feature the training data had but these rows lack: unknown level
            f = f.with_columns([pl.lit(None, pl.Float64 if c.startswith(("hwn:", "mdln:", "log_")) else pl.Utf8).alias(c) for c in absent])
        n = f.height
        plain = [g for g in self.groups if g.tokens is None]
        idx = f.select(
            [
                _key_expr(g.cols)
                .replace_strict(
                    pl.Series(self.vocab[g.name], dtype=pl.Utf8),
                    pl.Series(np.arange(len(self.vocab[g.name]), dtype=np.int64)),
                    default=None,
                    return_dtype=pl.Int64,
                )
                .alias(g.name)
                for g in plain
            ]
        )
        numeric = {x: _numeric(f, x) for x in {g.numeric for g in plain if g.numeric is not None}}
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for g in plain:
            ix = idx[g.name].fill_null(-1).to_numpy()
            ok = ix >= 0
            v = np.ones(n)
            if g.numeric is not None:
                mu, sd = self.scale[g.name]
                x = (numeric[g.numeric] - mu) / sd
                ok &= np.isfinite(x)
                v = x
            r = np.nonzero(ok)[0]
            rows.append(r)
            cols.append(ix[r] + self.offsets[g.name])
            vals.append(v[r])
        for g in self.groups:
            if g.tokens is None:
                continue
            voc = pl.DataFrame({"key": self.vocab[g.name], "idx": np.arange(len(self.vocab[g.name]), dtype=np.int64)})
            names = f[g.tokens].cast(pl.Utf8)
            distinct = names.unique().to_list()
            tk = pl.DataFrame(
                {"name": distinct, "key": [_tokens(s) for s in distinct]},
                schema={"name": pl.Utf8, "key": pl.List(pl.Utf8)},
            ).explode("key").join(voc, on="key", how="inner")
            if tk.is_empty():
                continue
            tk = tk.with_columns(w=1.0 / pl.len().over("name").cast(pl.Float64).sqrt())
            hit = pl.DataFrame({"name": names, "row": np.arange(n, dtype=np.int64)}).join(tk, on="name", how="inner")
            rows.append(hit["row"].to_numpy())
            cols.append(hit["idx"].to_numpy() + self.offsets[g.name])
            # each row's token weights have unit norm, whatever the name length
            vals.append(hit["w"].to_numpy())
        if not rows:
            return sp.csr_matrix((n, max(self.n_columns, 1)))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, max(self.n_columns, 1)),
        )


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
