"""From a results frame to the cells and design matrices the performance model uses.

A *cell* is one (hardware, workload) pair of one metric group, where the
workload is everything in the series identity except the hardware: benchmark,
model, batch size, sequence length, precision, parameters, metric and unit.
Repeated runs of a series collapse into one cell (median of the log values).

Metric groups
-------------
Each metric (throughput, latency, memory …) is fitted separately on
``z = log(value)``; a metric reported in several units (MLPerf's samples/s and
tokens/s) keeps the unit in the workload, so each unit has its own level.
(Fitting latency and throughput jointly on one "speed" scale was tried on the
MLPerf data and was no better; the model relates the groups instead through
cross-metric neighbour estimates, see :mod:`benchlab.predict._model`.)

Design matrix
-------------
:class:`Design` turns cells into a sparse one-hot design for the regularised
additive model: main effects of the hardware, the workload and each of their
parts and catalogue attributes, pairwise interactions of the hardware (and its
type and device) with the workload parts, numeric slopes (log batch size, log
sequence length, catalogue numbers such as accelerator count or memory) and
bags of name tokens (``H100``, ``SXM``, ``x8``).  Levels are encoded against
the training vocabulary, so unseen levels simply contribute nothing.

Device count
------------
:func:`prepare` also adds :data:`DEVICES`, how many of its ``device_name`` a
system has (from the hardware catalogue's metadata); the neighbour model uses
its log to relate systems built on the same device (an 8-GPU system to a
1-GPU one), not the design.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp

__all__ = ["IDENTITY", "WORKLOAD_PARTS", "DEVICES", "prepare", "cells", "Design", "metric_group"]

#: Columns that identify a configuration (the series identity without ``metric``).
IDENTITY = ("benchmark", "model", "hardware", "batch_size", "seq_len", "precision", "params", "metric")
#: Parts of a workload (identity without the hardware), plus the unit.
WORKLOAD_PARTS = ("benchmark", "model", "batch_size", "seq_len", "precision", "params", "metric", "unit")
_NULL = "\u2205"  # printed for a missing level; never a real label
#: How many of its device (``device_name``) a system has: the catalogue's
#: ``device_count``, else its ``accelerator_count``, else — for CPU-only
#: hardware, whose device is the host processor — processors per node × nodes.
DEVICES = "hw_devices"
_SEP = "\x1f"


def metric_group(metric: str | None, unit: str | None = None) -> str:
    """The group a metric is fitted in: one model per metric (``unit`` is part of the workload)."""
    return f"metric:{metric}"


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
        {
            "params": distinct,
            **{f"param:{k}": [None if parsed[p].get(k) is None else str(parsed[p][k]) for p in distinct] for k in keys},
        },
        schema={"params": pl.Utf8, **{f"param:{k}": pl.Utf8 for k in keys}},
    )
    return frame.join(lookup, on="params", how="left", nulls_equal=True)


def _catalogue(
    frame: pl.DataFrame, cat: pl.DataFrame | None, key: str, prefix: str, cols: dict[str, str]
) -> pl.DataFrame:
    """Join catalogue columns and scalar metadata keys onto ``frame``.

    Numbers become ``<prefix>n:<key>`` (log scale when positive), text becomes
    ``<prefix>c:<key>``.
    """
    if cat is None or cat.is_empty() or "name" not in cat.columns:
        return frame
    out = cat.select(
        [pl.col("name").cast(pl.Utf8).alias(key)] + [pl.col(c).alias(a) for c, a in cols.items() if c in cat.columns]
    )
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
        ``sign``, parsed ``param:*`` columns, catalogue attributes and the
        device count (:data:`DEVICES`).
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
        sign=pl.lit(1.0),  # z = sign * log(value); kept so a signed scale can return
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
        f = f.with_columns(
            hardware_type=pl.coalesce(pl.col("hwc:type").replace("other", None), pl.col("hardware_type"))
        ).drop("hwc:type")
    if "mdlc:family" in f.columns:
        f = f.with_columns(model_family=pl.coalesce("model_family", "mdlc:family")).drop("mdlc:family")
    return f.with_columns(_device_count(f.columns).alias(DEVICES))


def _device_count(columns: Sequence[str]) -> pl.Expr:
    """The number of devices of the hardware's ``device_name`` (see :data:`DEVICES`); null when unknown."""

    def num(c: str) -> pl.Expr:
        return pl.col(c).cast(pl.Float64) if c in columns else pl.lit(None, pl.Float64)

    acc = num("hwn:accelerator_count")
    sockets = num("hwn:host_processors_per_node") * num("hwn:nodes").fill_null(1.0)
    cpu_only = (acc == 0) | (pl.col("hardware_type") == "cpu")
    count = pl.coalesce(num("hwn:device_count"), pl.when(acc > 0).then(acc), pl.when(cpu_only).then(sockets))
    return pl.when(count > 0).then(count).otherwise(None)


def cells(prepared: pl.DataFrame) -> pl.DataFrame:
    """Collapse rows with a value into one cell per (group, hw, workload).

    The cell's ``z`` is the median of ``sign * log(value)`` over its rows;
    ``n`` counts them and ``ss`` is their sum of squared deviations (replicate
    noise).  Rows whose value is missing, zero or negative are dropped: a log
    model cannot use them.
    """
    ok = prepared.filter(pl.col("value").is_not_null() & (pl.col("value") > 0) & pl.col("value").is_finite())
    ok = ok.with_columns(z=pl.col("sign") * pl.col("value").log())
    keys = ok.select(pl.struct("group", "hw", "workload").hash(seed=0)).to_series()
    if keys.n_unique() == ok.height:
        # every configuration measured once: nothing to combine
        return ok.drop("value").with_columns(n=pl.lit(1, pl.UInt32), ss=pl.lit(0.0))
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
    # Batch size and sequence length enter as log-linear slopes (below), not as
    # levels: a level cannot extrapolate to a batch size nobody measured.
    parts = ["benchmark", "model", "precision", "metric_unit", *params]
    g: list[_Group] = [_Group("hw", ("hw",)), _Group("workload", ("workload",))]
    g += [_Group(p, (p,)) for p in parts]
    g += [_Group(c, (c,)) for c in ("hardware_type", "model_family", *_hw_cat(columns)) if c in columns]
    g += [_Group(c, (c,)) for c in columns if c.startswith("mdlc:")]
    # Interactions: how this hardware (or kind of hardware, or device) treats
    # each part of a workload.
    g += [_Group(f"hw*{p}", ("hw", p)) for p in parts]
    g += [_Group(f"hardware_type*{p}", ("hardware_type", p)) for p in ("workload", *parts)]
    if "hwc:device" in columns:
        g += [
            _Group(f"device*{p}", ("hwc:device", p)) for p in ("workload", "model", "precision", "metric_unit", *params)
        ]
    # Numeric slopes, overall and per hardware / part.
    for x in ("log_batch", "log_seq"):
        g += [_Group(f"{x}", (), x)] + [
            _Group(f"{x}*{p}", (p,), x) for p in ("hw", "hardware_type", "model", "precision", "metric_unit")
        ]
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
        # sizes and counts act multiplicatively: use log(x), so that 8 vs 1
        # accelerators is the same step as 16 vs 2.  A zero (a CPU-only system
        # has 0 accelerators) has no log: the slope leaves it out, and the
        # hardware type tells CPUs from accelerators.
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
    return x


@dataclass
class Encoded:
    """Rows encoded against an :class:`Encoding`: integer codes per effect group.

    ``codes[g]`` is -1 where the row's level was not in the encoding's
    vocabulary; ``numeric[c]`` is NaN where the number is missing; token groups
    are CSR structures (``tok_ptr[g]``, ``tok_code[g]``).
    """

    n: int
    codes: dict[str, np.ndarray]
    numeric: dict[str, np.ndarray]
    tok_ptr: dict[str, np.ndarray]
    tok_code: dict[str, np.ndarray]

    def take(self, idx: np.ndarray) -> Encoded:
        """The rows ``idx`` (integer positions or a boolean mask)."""
        idx = np.nonzero(idx)[0] if idx.dtype == bool else idx
        ptr, code = {}, {}
        for g, p in self.tok_ptr.items():
            lens = p[idx + 1] - p[idx]
            ends = np.cumsum(lens)
            ptr[g] = np.concatenate([[0], ends]).astype(np.int64)
            # positions of the kept rows' tokens, without a Python loop
            pos = np.repeat(p[idx] - (ends - lens), lens) + np.arange(int(ends[-1]) if len(ends) else 0)
            code[g] = self.tok_code[g][pos]
        return Encoded(
            len(idx),
            {g: c[idx] for g, c in self.codes.items()},
            {g: x[idx] for g, x in self.numeric.items()},
            ptr,
            code,
        )


@dataclass
class Encoding:
    """The effect groups of a metric group and the vocabulary of each.

    Built once on all training cells of a metric group; every fold of the
    cross-validation then works on integer codes (:class:`Design`), which keeps
    the K+1 fits of CV+ cheap.
    """

    max_numeric_hw: int = 4
    groups: list[_Group] = field(default_factory=list)
    vocab: dict[str, pl.Series] = field(default_factory=dict)
    skip: set[str] = field(default_factory=set)
    train: Encoded | None = None

    def _numeric_hw(self, f: pl.DataFrame) -> list[str]:
        """The hardware numbers worth a slope, at most ``max_numeric_hw``.

        Ranked by how strongly they correlate with the target after removing
        each workload's mean (e.g. the accelerator count for throughput), times
        their coverage; without a target, by coverage.
        """
        if "z" in f.columns and "workload" in f.columns:
            r = f.select(pl.col("z") - pl.col("z").mean().over("workload")).to_series().to_numpy()
        else:
            r = None
        ranked = []
        for c in _hw_num(f.columns):
            x = _numeric(f, c)
            ok = np.isfinite(x)
            if ok.sum() < 3 or np.std(x[ok]) == 0:
                continue
            score = ok.mean()
            if r is not None and np.std(r[ok]) > 0:
                score *= abs(float(np.corrcoef(x[ok], r[ok])[0, 1]))
            ranked.append((-score, c))
        return [c for _, c in sorted(ranked)[: self.max_numeric_hw]]

    def fit(self, f: pl.DataFrame) -> Encoding:
        """Learn the groups and vocabularies from ``f``; ``self.train`` holds ``f`` encoded.

        Levels are found by hashing the keys (one pass, no string sort).  Groups
        that cannot help a prediction are left out of the design: a group whose
        every level occurs once (e.g. hardware × model when each model ran once
        per system) and one that splits the cells exactly like the workload or
        the hardware does (e.g. ``model`` when the workload is just the model).
        """
        groups = [g for g in design_groups(f.columns, self._numeric_hw(f)) if all(c in f.columns for c in g.cols)]
        plain = [g for g in groups if g.tokens is None]
        keys = f.select([_key_expr(g.cols).alias(g.name) for g in plain])
        hashes = keys.select(pl.all().hash(seed=0))
        n = f.height
        self.vocab, self.skip = {}, set()
        codes: dict[str, np.ndarray] = {}
        for g in plain:
            h = hashes[g.name].to_numpy()
            uniq, first, inverse = np.unique(h, return_index=True, return_inverse=True)
            self.vocab[g.name] = keys[g.name].gather(first)
            codes[g.name] = inverse.astype(np.int64).ravel()
            if g.name not in ("hw", "workload") and g.numeric is None and len(uniq) == n and n > 1:
                self.skip.add(g.name)
        for ref in ("workload", "hw"):
            rc, nr = codes[ref], self.vocab[ref].len()
            for g in plain:
                if g.name in ("hw", "workload") or g.numeric is not None or g.name in self.skip:
                    continue
                ng = self.vocab[g.name].len()
                if ng == nr and len(np.unique(codes[g.name] * nr + rc)) == nr:
                    self.skip.add(g.name)  # same partition as the workload / hardware
        kept = []
        for g in groups:
            if g.tokens is not None:
                voc = pl.Series(
                    sorted({t for s in f[g.tokens].drop_nulls().unique().to_list() for t in _tokens(s)}), dtype=pl.Utf8
                )
                if voc.len() == 0:
                    continue
                self.vocab[g.name] = voc
            kept.append(g)
        self.groups = kept
        numeric = self._numerics(f, plain)
        ptr, tcode = self._tokens(f)
        self.train = Encoded(n, codes, numeric, ptr, tcode)
        return self

    @staticmethod
    def _numerics(f: pl.DataFrame, plain: list[_Group]) -> dict[str, np.ndarray]:
        """The numbers the design's slopes use, plus the log device count (for the neighbour model)."""
        numeric = {x: _numeric(f, x) for x in {g.numeric for g in plain if g.numeric is not None}}
        if DEVICES in f.columns:
            x = f[DEVICES].cast(pl.Float64).to_numpy().astype(float, copy=True)
            with np.errstate(divide="ignore", invalid="ignore"):
                numeric[DEVICES] = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
        return numeric

    def _tokens(self, f: pl.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """CSR token structure per token group: tokenise each distinct name once."""
        ptr, tcode = {}, {}
        for g in self.groups:
            if g.tokens is None:
                continue
            lookup = {t: i for i, t in enumerate(self.vocab[g.name].to_list())}
            names = f[g.tokens].cast(pl.Utf8).fill_null("")
            h = names.hash(seed=0).to_numpy()
            uniq, first, inv = np.unique(h, return_index=True, return_inverse=True)
            distinct = names.gather(first).to_list()
            lists = [[lookup[t] for t in _tokens(s) if t in lookup] for s in distinct]
            lens_d = np.array([len(x) for x in lists], dtype=np.int64)
            flat_d = np.array([t for x in lists for t in x], dtype=np.int64)
            start_d = np.concatenate([[0], np.cumsum(lens_d)[:-1]]).astype(np.int64)
            inv = inv.ravel()
            lens = lens_d[inv]
            ends = np.cumsum(lens)
            ptr[g.name] = np.concatenate([[0], ends]).astype(np.int64)
            pos = np.repeat(start_d[inv] - (ends - lens), lens) + np.arange(int(ends[-1]) if len(ends) else 0)
            tcode[g.name] = flat_d[pos] if len(flat_d) else np.zeros(0, dtype=np.int64)
        return ptr, tcode

    def encode(self, f: pl.DataFrame) -> Encoded:
        needed = {c for g in self.groups for c in (*g.cols, g.numeric, g.tokens) if c is not None}
        absent = [c for c in needed if c not in f.columns]
        if absent:
            # a feature the training data had but these rows lack: unknown level
            f = f.with_columns(
                [
                    pl.lit(None, pl.Float64 if c.startswith(("hwn:", "mdln:", "log_")) else pl.Utf8).alias(c)
                    for c in absent
                ]
            )
        plain = [g for g in self.groups if g.tokens is None]
        idx = f.select(
            [
                _key_expr(g.cols)
                .replace_strict(
                    self.vocab[g.name],
                    pl.Series(np.arange(self.vocab[g.name].len(), dtype=np.int64)),
                    default=-1,
                    return_dtype=pl.Int64,
                )
                .alias(g.name)
                for g in plain
            ]
        )
        codes = {g.name: idx[g.name].to_numpy() for g in plain}
        numeric = self._numerics(f, plain)
        ptr, tcode = self._tokens(f)
        return Encoded(f.height, codes, numeric, ptr, tcode)


@dataclass
class Design:
    """Sparse one-hot design of the regularised additive model, on encoded rows.

    ``fit`` keeps the levels present in the training rows (and the numeric
    scaling); ``transform`` builds the CSR matrix, leaving unseen levels at zero
    so that their prediction falls back on the coarser effects they share with
    the training data.
    """

    columns: dict[str, np.ndarray] = field(default_factory=dict)
    scale: dict[str, tuple[float, float]] = field(default_factory=dict)
    groups: list[_Group] = field(default_factory=list)
    n_columns: int = 0

    def fit(self, enc: Encoded, encoding: Encoding) -> Design:
        self.columns, self.scale, self.groups = {}, {}, []
        offset = 0
        for g in encoding.groups:
            if g.name in encoding.skip:
                continue
            size = encoding.vocab[g.name].len()
            if g.tokens is not None:
                present = np.unique(enc.tok_code[g.name])
            else:
                c = enc.codes[g.name]
                present = np.unique(c[c >= 0])
            if g.numeric is not None:
                x = enc.numeric[g.numeric]
                ok = np.isfinite(x)
                if ok.sum() < 2 or np.std(x[ok]) == 0:
                    continue
                self.scale[g.name] = (float(np.mean(x[ok])), float(np.std(x[ok])))
            elif len(present) <= 1 and g.name != "workload" and g.tokens is None:
                continue  # a constant column adds nothing the intercept does not
            if len(present) == 0:
                continue
            cmap = np.full(size, -1, dtype=np.int64)
            cmap[present] = np.arange(len(present)) + offset
            offset += len(present)
            self.columns[g.name] = cmap
            self.groups.append(g)
        self.n_columns = offset
        return self

    def transform(self, enc: Encoded) -> sp.csr_matrix:
        """The design matrix of ``enc`` (CSR, ``n × n_columns``)."""
        parts = self.triplets(enc)
        n = enc.n
        if not parts:
            return sp.csr_matrix((n, 1))
        return sp.csr_matrix(
            (
                np.concatenate([p[2] for p in parts]),
                (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])),
            ),
            shape=(n, max(self.n_columns, 1)),
        )

    def triplets(self, enc: Encoded) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(rows, columns, values) of each effect group's entries, in group order."""
        n = enc.n
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for g in self.groups:
            cmap = self.columns[g.name]
            if g.tokens is not None:
                ptr, code = enc.tok_ptr[g.name], enc.tok_code[g.name]
                row = np.repeat(np.arange(n), np.diff(ptr))
                col = cmap[code]
                ok = col >= 0
                cnt = np.bincount(row[ok], minlength=n).astype(float)
                rows.append(row[ok])
                cols.append(col[ok])
                # each row's token weights have unit norm, whatever the name length
                vals.append(1.0 / np.sqrt(np.maximum(cnt[row[ok]], 1.0)))
                continue
            code = enc.codes[g.name]
            col = np.where(code >= 0, cmap[np.maximum(code, 0)], -1)
            ok = col >= 0
            v = np.ones(n)
            if g.numeric is not None:
                mu, sd = self.scale[g.name]
                x = (enc.numeric[g.numeric] - mu) / sd
                ok &= np.isfinite(x)
                v = x
            r = np.nonzero(ok)[0]
            rows.append(r)
            cols.append(col[r])
            vals.append(v[r])
        return list(zip(rows, cols, vals, strict=True))
