"""Statistics and vocabulary shared by detection, A/B comparison, triage and the gate.

Severity
--------
A change's *effect* is how many times better or worse the contender is, minus
one: ``max(r, 1/r) - 1`` with ``r`` the ratio of medians (after / before).  A
latency going from 10 ms to 15 ms and a throughput going from 150/s to 100/s
therefore both have an effect of 50 %: severity does not depend on whether the
metric is lower- or higher-is-better.  The levels are :data:`SEVERITY_LEVELS`.

Bootstrap of the median
-----------------------
The interval on a ratio of medians is a percentile bootstrap, but the bootstrap
medians are drawn *exactly* without materialising the resamples (hand-written
because ``scipy.stats.bootstrap`` resamples whole arrays: ``O(B n)`` per case,
too slow for 10 000 series with hundreds of points each).  A bootstrap
resample of a sorted sample ``x`` is ``x[ceil(n U_i) - 1]`` for ``n``
independent uniforms ``U_i``; the map is monotone, so the resample's ``k``-th
order statistic is ``x[ceil(n U_(k)) - 1]``.  The uniform order statistic
``U_(k)`` is ``Beta(k, n - k + 1)`` and the next one is
``U_(k) + (1 - U_(k)) Beta(1, n - k)``, which gives the one or two middle order
statistics -- hence the median -- of each resample in ``O(1)``.  The resulting
bootstrap distribution is the same as resampling; only the cost differs.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

import numpy as np
from scipy import stats

from benchlab.errors import QueryError

__all__ = [
    "SEVERITY_LEVELS",
    "SEVERITIES",
    "DEFAULT_MIN_EFFECT",
    "effect_of",
    "severity_of",
    "severity_rank",
    "change_id",
    "bootstrap_medians",
    "ratio_interval",
    "mann_whitney_p",
    "case_label",
]

#: ``(name, smallest effect)`` from the most to the least severe.  ``minor`` is
#: anything at or above the detection threshold ``min_effect`` (default 5 %).
SEVERITY_LEVELS: tuple[tuple[str, float], ...] = (
    ("critical", 0.50),
    ("major", 0.20),
    ("moderate", 0.10),
    ("minor", 0.0),
)
#: Severity names from the least to the most severe.
SEVERITIES: tuple[str, ...] = tuple(name for name, _ in reversed(SEVERITY_LEVELS))
#: Smallest relative change :func:`~benchlab.regress.detect` reports by default.
DEFAULT_MIN_EFFECT = 0.05


def effect_of(ratio: float) -> float:
    """Direction-free size of a change: ``max(r, 1/r) - 1`` (NaN when undefined)."""
    if not (ratio > 0) or not math.isfinite(ratio):
        return math.inf if ratio == math.inf or ratio == 0 else math.nan
    return max(ratio, 1.0 / ratio) - 1.0


def severity_of(effect: float) -> str | None:
    """The :data:`SEVERITY_LEVELS` name of an effect (``None`` for NaN)."""
    if effect != effect:  # NaN
        return None
    for name, low in SEVERITY_LEVELS:
        if effect >= low:
            return name
    return "minor"


def severity_rank(name: str) -> int:
    """Position of a severity name in :data:`SEVERITIES` (0 = minor).

    Raises
    ------
    QueryError
        For a name that is not a severity.
    """
    try:
        return SEVERITIES.index(str(name).strip().lower())
    except ValueError:
        raise QueryError(f"unknown severity {name!r}; use one of {', '.join(SEVERITIES)}") from None


def change_id(series_key: str, provenance: str | None, first_bad: object) -> str:
    """Stable 16-hex-digit id of a change.

    Built from the series, its provenance and the first bad point (its commit,
    else its timestamp, else its run id) -- never from a position in the
    series -- so the same change keeps its id when more points arrive, and a
    gate comparison whose contender commit is the first bad commit gets the id
    detection will give it later.
    """
    prov = provenance or "measured"
    text = "\x1f".join((str(series_key), prov, "" if first_bad is None else str(first_bad)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def key_seed(*parts: object) -> int:
    """A 64-bit integer derived from ``parts``, to seed one case's generator."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def bootstrap_medians(sorted_x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` bootstrap medians of an ascending sample, drawn exactly in O(n_boot).

    See the module docstring for the construction.
    """
    n = sorted_x.size
    k = (n + 1) // 2  # 1-based: the median for odd n, the lower middle for even n
    u_k = rng.beta(k, n - k + 1, size=n_boot)
    lo = np.minimum(np.ceil(n * u_k).astype(np.int64), n) - 1
    lo = np.maximum(lo, 0)
    if n % 2:
        return sorted_x[lo]
    u_next = u_k + (1.0 - u_k) * rng.beta(1, n - k, size=n_boot)
    hi = np.maximum(np.minimum(np.ceil(n * u_next).astype(np.int64), n) - 1, 0)
    return 0.5 * (sorted_x[lo] + sorted_x[hi])


def ratio_interval(
    before: np.ndarray, after: np.ndarray, *, n_boot: int, confidence: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``median(after) / median(before)``.

    The two samples are resampled independently.  A bootstrap median of zero in
    ``before`` makes that ratio infinite, which honestly widens the interval.
    """
    mb = bootstrap_medians(np.sort(before), n_boot, rng)
    ma = bootstrap_medians(np.sort(after), n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ma / mb
    ratio = np.where(np.isnan(ratio), np.inf, ratio)  # 0/0: undefined, treat as unbounded
    tail = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(ratio, [tail, 1.0 - tail])
    return float(lo), float(hi)


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Mann–Whitney U p-value (1.0 when one side is constant and equal)."""
    if a.size == 0 or b.size == 0:
        return math.nan
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0  # all values identical: no evidence of a difference
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def case_label(row: Mapping[str, object]) -> str:
    """A short human label of a case: ``resnet50 · cuda · bs=8 · fp16 · latency``."""
    parts: list[str] = []
    bench, model = row.get("benchmark"), row.get("model")
    if bench is not None:
        parts.append(str(bench))
    if model is not None and model != bench:
        parts.append(str(model))
    if row.get("hardware") is not None:
        parts.append(str(row["hardware"]))
    if row.get("batch_size") is not None:
        parts.append(f"bs={row['batch_size']}")
    if row.get("seq_len") is not None:
        parts.append(f"seq={row['seq_len']}")
    if row.get("precision") is not None:
        parts.append(str(row["precision"]))
    if row.get("params") is not None:
        parts.append(str(row["params"]))
    if row.get("metric") is not None:
        parts.append(str(row["metric"]))
    prov = row.get("provenance")
    if prov not in (None, "measured"):
        parts.append(f"({prov})")
    return " · ".join(parts) if parts else str(row.get("series_key", "?"))
