"""Offline change-point detection for one benchmark series.

Method
------
:func:`changepoints` fits a *piecewise-polynomial* signal: by default every
segment has its own level and slope (a step is a change of level, a change of
trend is a change of slope), and a series whose segments are visibly curved
may instead get segments with their own curvature too.  The segmentation is
chosen in five steps:

1. **Robust cleaning.**  NaN/inf are dropped (indices are mapped back at the end).
   The noise scale ``s0`` is the MAD of first differences divided by ``sqrt(2)``,
   which is insensitive to level shifts.  Every point farther than ``clip * s0``
   from a centred running median (window 7) is pulled back to that bound (a
   Hampel-type winsorisation): a lone spike, or a blip of up to three points,
   becomes harmless, while a step survives because the running median follows it
   after half a window.  The series is then centred and divided by ``s0``, so
   the result does not depend on the unit or the scale of the data.
2. **Candidate paths by seeded binary segmentation** (Kovacs, Li, Buhlmann & Munk
   2020, "Seeded binary segmentation").  The least-squares fit of a segment is
   its projection on the discrete orthogonal (Gram) polynomials of degree 0, 1
   and 2, so the residual sum of squares of any segment, and the gain of
   splitting it in two, follows in O(1) from prefix sums of ``y``, ``t * y``
   and ``t**2 * y`` (fully vectorised with NumPy).  On a deterministic set of
   intervals (lengths ``n/2, n/4, ...``, each layer overlapping by half) the
   best split of every interval is found, trying every admissible split with
   linear segments; the best splits are then taken greedily, largest gain
   first, as in (wild) binary segmentation: each step scans every split of the
   segments it creates and also considers the seeded intervals inside them,
   whose local gains unmask changes that cancel over a longer stretch.  This
   gives a nested sequence of candidate change points whose residual sums of
   squares ``RSS_k`` follow exactly from the gains.  One path is built per
   segment model; the quadratic path re-scores the seeded locations of the
   linear search (same minimum segment length) and scans a seeded interval in
   full when it uses it.
3. **A robust long-run variance.**  The noise level that a gain is compared
   with is estimated once per series, before any segmentation, by batched
   means (Carlstein 1986; Wu & Zhao 2007): the means of blocks of ``b`` points
   are differenced with the adjacent block, and
   ``sigma_LR**2 = b * MAD(differences)**2 / 2``.  For white noise this is the
   plain variance; for autocorrelated noise, slow wandering or curvature on the
   scale of a block it is the long-run variance, the quantity that governs the
   fluctuation of segment means and slopes.  Differencing removes the level,
   the median in the MAD removes a common slope, and the MAD ignores the few
   differences that straddle a step or a spike.  The block length is
   ``n**(1/3)`` (the MSE-optimal rate) but at most ``n / 20``, so the estimate
   always rests on at least 20 blocks (batch-means practice asks for 10 to 30
   batches, and the MAD has only 37 % of the efficiency of a standard
   deviation).  The cap matters below 100 points: in 21 points with a change
   every seven, blocks of 3 are half a segment, the block differences measure
   the changes themselves and every change looks like noise.  Below 40 points
   the block length is 1 and the noise is treated as white, the only
   assumption such a short series can support.  The variance is never taken
   below the white-noise variance ``s0**2``.
4. **Penalised selection.**  On each path the number of change points ``k``
   minimises ``RSS_k / sigma_LR**2 + penalty * k`` over all prefixes, as the
   information-criterion step of wild binary segmentation (Fryzlewicz 2014)
   and NOT (Baranowski, Chen & Fryzlewicz 2019) does.  The penalty counts
   ``log n`` per coefficient a change adds plus ``2 log n`` for its location
   (Zhang & Siegmund 2007 charge ``3 log n`` per change of mean: the level,
   and the location counted twice): ``3 log n`` for steps, ``4 log n`` for
   linear segments, ``5 log n`` for quadratic ones.  Selecting on the whole
   path rather than stopping at the first candidate that fails matters when a
   change is masked: a rise followed by a fall of the same size gives a weak
   first split but two strong ones together.  A path is walked while a split
   still gains at least half the penalty.  The choice must also hold with the
   noise variance estimated the other way, by the residual variance of the
   fitted model itself: ``k`` is the smaller of the minimiser above and that of
   ``n * log(RSS_k / (n - p_k)) + penalty * k`` (the profile likelihood, the
   Schwarz criterion of Yao 1988, with ``p_k`` the coefficients and locations
   and the residual variance on its degrees of freedom).  The two estimates
   fail in opposite situations: the residual variance ignores autocorrelation
   and slow wandering, so alone it cuts long series into pieces, while the
   robust variance of a short series rests on the MAD of a few differences
   and is sometimes small by chance (alone it reports a change in about 11 % of
   white-noise series of 10 points, together in about 5 %).  On a series that is
   piecewise linear up to rounding, both are small and both see the changes.
5. **Segment degree.**  With the default ``model="trend"`` a linear and a
   quadratic path are both selected and the one with the smaller criterion
   wins, the quadratic one paying ``log n`` more for its first segment too
   (one coefficient more per segment, the same count as above): a plain
   BIC-type choice of the degree, so a smooth bend or an S-shaped transition
   becomes one or two curved segments instead of a staircase of lines, while
   steps and sharp kinks, which a parabola fits badly, keep the linear
   segments.  The criterion compared is the one with the robust long-run
   variance; when the noise is taken as white (blocks of one point, below 40
   points) it is the profile likelihood, the efficient criterion under that
   assumption (the MAD of the first differences of a short trending series
   also measures how much the slopes differ, which would favour the model with
   fewer coefficients).

The penalty constants and the clipping threshold keep false alarms below one
change point per 10 000 points on pure noise (Gaussian and Student-t with 3
degrees of freedom, lengths 100 to 10 000).  On the TCPD development split
(metrics of van den Burg & Williams 2020, see ``benchmarks/changepoints_eval.py``)
the trend-aware model with the fixed robust long-run variance did better than
an earlier version that estimated an AR(1) long-run variance from the residuals
of each candidate model (which missed masked changes and cut smooth curves into
staircases); the quadratic alternative and the 20-block minimum then raised
the mean covering from 0.719 to 0.774 (F1 from 0.817 to 0.877).  The 20-block
minimum is the only constant these data could have tuned: choosing it (from 1
to 60 blocks) and the segment model by leave-one-series-out gives a covering
of 0.771 on the left-out series, and any minimum from 12 to 25 blocks gives
0.767 to 0.774.  The price, measured on synthetic series: a weak change of
slope in a long series is sometimes taken for a gentle curve, and series of
10 to 50 points with strongly autocorrelated noise (lag-one correlation 0.5)
get a false change in about 15 to 20 % of cases, against 3 to 7 % with the
uncapped block length (white noise: about 5 % at 10 points, under 1 % from 20
points on).

Why hand-written and not ``ruptures``: ``ruptures`` has PELT/BinSeg with a
linear-regression cost, but its dynamic programme runs per point in Python (or
per segment) and needs a fixed penalty in data units; here the candidate
generation is a handful of vectorised NumPy passes (a few milliseconds for
10 000 points) and the penalty is scaled by a robust long-run variance, which
no packaged cost offers.  Only NumPy is needed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["changepoints", "segment_levels"]

_MAD_TO_SD = 1.0 / 0.6744897501960817
_MEDIAN_WINDOW = 7
#: fewer valid points than this and no change point is searched for
MIN_POINTS = 8
_MODELS = ("trend", "linear", "mean")


def _as_float_array(values: Any) -> np.ndarray:
    """Convert a list, NumPy array or Polars Series to a 1-D float64 array."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"changepoints needs numeric values; could not convert: {exc}") from exc
    if arr.ndim != 1:
        raise ValueError(f"changepoints needs a 1-D series, got an array of shape {arr.shape}; call it once per series")
    return arr


def _median(x: np.ndarray) -> float:
    """Median of a non-empty array without NaN (``np.median`` without its overhead)."""
    h = x.size // 2
    if x.size % 2:
        return float(np.partition(x, h)[h])
    part = np.partition(x, [h - 1, h])
    return 0.5 * float(part[h - 1] + part[h])


def _mad_sd(x: np.ndarray) -> float:
    """Gaussian-consistent MAD standard deviation."""
    return _median(np.abs(x - _median(x))) * _MAD_TO_SD


def _running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median; the ends are padded with the end values."""
    half = window // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    windows = sliding_window_view(padded, window)
    return np.partition(windows, half, axis=1)[:, half]


class _Moments:
    """Prefix sums giving least-squares polynomial fits of any segment in O(1).

    ``degree`` is the number of coefficients per segment: 1 (level), 2 (level
    and slope) or 3 (level, slope and curvature).  On a segment ``[a, b)`` of
    length ``L`` the fit is the projection on the discrete orthogonal (Gram)
    polynomials ``1``, ``p1 = t - h`` and ``p2 = p1**2 - (L**2 - 1) / 12``, with
    ``h`` the centre of the segment, so the explained sum of squares is a sum of
    squared projections, each from the prefix sums of ``y``, ``t * y`` and
    ``t**2 * y`` (time centred on the middle of the series, which keeps the
    sums small).
    """

    def __init__(self, y: np.ndarray, degree: int) -> None:
        self.degree = degree
        self.n = y.size
        self.t0 = (y.size - 1) / 2.0
        self.total = float(np.dot(y, y))
        zero = np.zeros(1)
        self.sums = [np.concatenate([zero, np.cumsum(y)])]
        t = np.arange(y.size) - self.t0
        ty = y
        for _ in range(1, degree):
            ty = ty * t
            self.sums.append(np.concatenate([zero, np.cumsum(ty)]))

    def explained(self, a: Any, b: Any, degree: int) -> np.ndarray:
        """Sum of squares explained by the fit of ``degree`` coefficients on ``y[a:b]`` (broadcasting)."""
        if isinstance(a, int | np.integer) and isinstance(b, int | np.integer):  # one segment: floats are faster
            a, b = int(a), int(b)
            return _explained([float(s[b] - s[a]) for s in self.sums[:degree]], a, float(b - a), self.t0)[-1]
        return _explained([s[b] - s[a] for s in self.sums[:degree]], a, (b - a).astype(np.float64), self.t0)[-1]

    def rss(self, degree: int) -> float:
        """Residual sum of squares of one fit of ``degree`` coefficients over the whole series."""
        return self.total - float(self.explained(0, self.n, degree))


def _explained(sums: list[Any], a: Any, length: Any, t0: float) -> list[Any]:
    """Explained sums of squares of segments with 1, 2, ... coefficients.

    ``sums`` holds the segment sums of ``y``, ``t * y`` and ``t**2 * y`` (as
    many as coefficients wanted), ``a`` the first index and ``length`` the
    length of the segments, which must exceed the number of coefficients; the
    result has one entry per coefficient count.  Works on scalars and on
    broadcasting arrays alike.
    """
    s0 = sums[0]
    out = [s0 * s0 / length]
    if len(sums) > 1:
        h = a + (length - 1.0) / 2.0 - t0  # centre of the segment
        q = (length * length - 1.0) / 12.0
        p1 = sums[1] - h * s0
        out.append(out[0] + p1 * p1 / (length * q))
        if len(sums) > 2:
            p2 = sums[2] - 2.0 * h * sums[1] + (h * h - q) * s0
            out.append(out[1] + p2 * p2 / (length * q * (length * length - 4.0) / 15.0))
    return out


def _split_gains(mom: _Moments, starts: np.ndarray, size: int, m: int, degrees: Sequence[int]) -> list[np.ndarray]:
    """Gain of every admissible split of the intervals ``[s, s + size)``, per degree.

    Row ``i``, column ``j`` is the reduction of the residual sum of squares when
    ``[starts[i], starts[i] + size)`` is cut at ``starts[i] + m + j``.  The sums
    at the cut are gathered once and shared by the two halves and the degrees.
    """
    offsets = np.arange(m, size - m + 1, dtype=np.float64)
    s = starts[:, None]
    k = s + np.arange(m, size - m + 1)
    top = max(degrees)
    at_k = [c[k] for c in mom.sums[:top]]
    at_s = [c[s] for c in mom.sums[:top]]
    at_e = [c[s + size] for c in mom.sums[:top]]
    left = _explained([ck - cs for ck, cs in zip(at_k, at_s, strict=True)], s, offsets, mom.t0)
    right = _explained([ce - ck for ce, ck in zip(at_e, at_k, strict=True)], k, size - offsets, mom.t0)
    whole = _explained([ce - cs for ce, cs in zip(at_e, at_s, strict=True)], s, float(size), mom.t0)
    return [left[d - 1] + right[d - 1] - whole[d - 1] for d in degrees]


@lru_cache(maxsize=64)
def _seeded_layers(n: int, min_size: int) -> tuple[tuple[np.ndarray, int], ...]:
    """Start positions and common length of each layer of seeded intervals."""
    layers = []
    k = 1
    length = n / 2.0
    while length >= 2 * min_size:
        count = 2 ** (k + 1) - 1
        size = int(np.ceil(length))
        shift = (n - size) / (count - 1)
        starts = np.unique(np.floor(np.arange(count) * shift).astype(np.int64))
        starts = starts[starts + size <= n]
        starts.flags.writeable = False
        layers.append((starts, size))
        length /= 2.0
        k += 1
    return tuple(layers)


def _seeded_splits(mom: _Moments, m: int, degrees: Sequence[int]) -> dict[int, tuple[np.ndarray, ...]]:
    """Best split of every seeded interval, for each segment degree.

    Returns, per degree, the arrays ``(start, stop, gain, location)`` over all
    seeded intervals.  Every split of every interval is tried with the lowest
    degree; the higher degrees re-score that location (one evaluation per
    interval), and :class:`_Path` refines it when the interval is used.
    """
    base = min(degrees)
    parts = []
    for starts, size in _seeded_layers(mom.n, m):
        gain = _split_gains(mom, starts, size, m, [base])[0]
        j = np.argmax(gain, axis=1)
        parts.append((starts, starts + size, gain[np.arange(starts.size), j], starts + m + j))
    if parts:
        start, stop, gain, loc = (np.concatenate([p[i] for p in parts]) for i in range(4))
    else:
        start = stop = loc = np.zeros(0, dtype=np.int64)
        gain = np.zeros(0)
    out = {base: (start, stop, gain, loc)}
    for d in degrees:
        if d != base:
            rescored = mom.explained(start, loc, d) + mom.explained(loc, stop, d) - mom.explained(start, stop, d)
            out[d] = (start, stop, rescored, loc)
    return out


class _Path:
    """Greedy seeded binary segmentation, yielding candidates by decreasing gain."""

    def __init__(self, mom: _Moments, degree: int, m: int, seeded: tuple[np.ndarray, ...], exact: bool) -> None:
        self.mom, self.degree, self.n, self.m, self.exact = mom, degree, mom.n, m, exact
        self.start, self.stop, self.gain, self.loc = seeded

    def _scan(self, s: int, e: int) -> tuple[float, int]:
        """Best split of ``[s, e)`` over all its admissible locations."""
        mom, m, d = self.mom, self.m, self.degree
        at_k = [c[s + m : e - m + 1] for c in mom.sums[:d]]
        left_len = np.arange(m, e - s - m + 1, dtype=np.float64)
        left_sums = [ck - c[s] for ck, c in zip(at_k, mom.sums, strict=False)]
        right_sums = [c[e] - ck for ck, c in zip(at_k, mom.sums, strict=False)]
        both = (
            _explained(left_sums, s, left_len, mom.t0)[-1]
            + _explained(right_sums, s + left_len, e - s - left_len, mom.t0)[-1]
        )
        j = int(np.argmax(both))
        return float(both[j]) - float(mom.explained(s, e, d)), s + m + j

    def _best(self, s: int, e: int) -> tuple[float, int]:
        if e - s < 2 * self.m:
            return 0.0, -1
        gain, loc = self._scan(s, e)
        inside = (self.start >= s) & (self.stop <= e)
        if inside.any():
            i = int(np.argmax(np.where(inside, self.gain, -np.inf)))
            if self.gain[i] > gain:
                if self.exact:
                    gain, loc = float(self.gain[i]), int(self.loc[i])
                else:  # a re-scored location: find the best split of that interval
                    gain, loc = self._scan(int(self.start[i]), int(self.stop[i]))
        return gain, loc

    def __iter__(self) -> Iterator[tuple[int, float, int, int]]:
        """Yield ``(location, gain, start, stop)``: the split and the segment it cuts."""
        heap: list[tuple[float, int, int, int]] = []
        gain, loc = self._best(0, self.n)
        if loc > 0 and gain > 0:
            heap.append((-gain, loc, 0, self.n))
        while heap:
            neg, loc, s, e = heapq.heappop(heap)
            yield loc, -neg, s, e
            for a, b in ((s, loc), (loc, e)):
                g, c = self._best(a, b)
                if c > 0 and g > 0:
                    heapq.heappush(heap, (-g, c, a, b))


#: fewest blocks the long-run variance is estimated from (see ``_block_length``)
_MIN_BLOCKS = 20
#: floor of the residual variance in the profile likelihood, in units of the
#: white-noise variance: a model that fits exactly (rounding aside) does not
#: make ``log(RSS)`` run away
_MIN_RESIDUAL_VARIANCE = 1e-6


def _block_length(n: int) -> int:
    """Block length for the long-run variance.

    ``n**(1/3)`` (the MSE-optimal rate), but never more than ``n // 20``, so the
    estimate always rests on at least 20 blocks: batch-means practice asks for
    10 to 30 batches, and the MAD it is computed with has about 37 % of the
    efficiency of a standard deviation.  The cap binds below 100 points; below
    40 points it leaves ``b = 1``, the white-noise variance.
    """
    return max(1, min(int(round(n ** (1.0 / 3.0))), n // _MIN_BLOCKS))


def _block_long_run_variance(y: np.ndarray, b: int) -> float:
    """Robust batched-means estimate of the long-run variance of ``y``.

    The means of every block of ``b`` consecutive points are formed, and the
    difference between each block mean and the mean of the adjacent block
    (``b`` points later) is taken.  For a stationary series these differences
    have variance ``2 * sigma_LR**2 / b``, so ``b * MAD**2 / 2`` estimates the
    long-run variance ``sigma_LR**2``.  Differencing removes the level, the
    median inside the MAD removes a common slope, and the MAD ignores the few
    differences that straddle a step or contain a spike, so changes do not
    inflate the estimate.  With ``b = 1`` this is the white-noise variance of
    first differences.
    """
    csum = np.concatenate([np.zeros(1), np.cumsum(y)])
    means = (csum[b:] - csum[:-b]) / b
    diffs = means[b:] - means[:-b]
    if diffs.size < 2:
        diffs = np.diff(y)
        b = 1
    spread = _mad_sd(diffs)
    if not spread > 0:  # mostly tied values (integers, plateaus)
        spread = float(np.std(diffs))
    return b * spread * spread / 2.0


def _default_min_size(n: int, degree: int) -> int:
    return max(int(np.clip(n // 40 + 2, 2, 5)), degree + 1)


def _select(
    mom: _Moments,
    degree: int,
    m: int,
    seeded: tuple[np.ndarray, ...],
    exact: bool,
    lrv: float,
    beta: float,
    kmax: int,
) -> tuple[float, float, list[int]]:
    """Walk the candidate path of one segment degree and pick its best prefix.

    The number of change points ``k`` is the smaller of two choices: the
    minimiser of ``RSS_k / lrv + beta * k`` (the robust long-run variance as the
    noise variance) and the minimiser of ``n * log(RSS_k / (n - p_k)) + beta * k``
    (the noise variance estimated by the residual variance of the fitted model
    itself, ``p_k`` its coefficients and locations: the profile likelihood of
    Yao 1988).  Returns both criteria at that ``k`` and the change points of
    that prefix of the path.
    """
    locs: list[int] = []
    drops: list[float] = []
    for loc, gain, start, stop in _Path(mom, degree, m, seeded, exact):
        # the path is walked while some split could still pay for itself
        # together with a later one (half the penalty): a weak split that
        # unmasks a strong one, as a rise followed by a fall, is not lost
        if len(locs) >= kmax or gain < 0.5 * beta * lrv:
            break
        locs.append(loc)
        # exact reduction of the residual sum of squares when [start, stop) is
        # split at loc (the seeded search may have found loc on a sub-interval,
        # whose own gain only orders the path)
        parts = mom.explained(start, loc, degree) + mom.explained(loc, stop, degree)
        drops.append(float(parts - mom.explained(start, stop, degree)))
    rss = mom.rss(degree) - np.concatenate([[0.0], np.cumsum(drops)])
    ks = np.arange(rss.size)
    crit = rss / lrv + beta * ks
    dof = np.maximum(mom.n - degree * (ks + 1) - ks, 1)
    profile = mom.n * np.log(np.maximum(rss / dof, _MIN_RESIDUAL_VARIANCE)) + beta * ks
    k = min(int(np.argmin(crit)), int(np.argmin(profile)))
    return float(crit[k]), float(profile[k]), sorted(locs[:k])


def changepoints(
    values: Any,
    *,
    penalty: float | None = None,
    min_size: int | None = None,
    model: str = "trend",
    clip: float = 3.0,
    max_changepoints: int | None = None,
) -> list[int]:
    """Find the change points of one series.

    A change point ``i`` means ``values[i]`` is the first point of a new segment;
    segments differ in level (a step) or, with the trend models, in trend.  See
    the module docstring for the method.

    Parameters
    ----------
    values : list, numpy.ndarray or polars.Series
        The series, in order.  NaN, None/null and infinite values are treated as
        missing: they are skipped, and the result is in the original indexing.
    penalty : float, optional
        Cost of one change point, in units of the robust long-run variance of
        the series: the number of change points minimises the residual sum of
        squares divided by that variance plus ``penalty`` per change point.
        Default ``4 * log(n)`` (``n`` the number of valid points) for linear
        segments and ``3 * log(n)`` for ``model="mean"``.  With
        ``model="trend"`` quadratic segments pay one ``log(n)`` more per segment
        (their extra coefficient).  Larger is stricter.
    min_size : int, optional
        Fewest valid points in a segment.  Default 3 (2 for ``model="mean"``,
        4 for quadratic segments) for short series, growing to 5 from 120
        points on.
    model : {"trend", "linear", "mean"}, default "trend"
        ``"trend"``: every segment has its own level and slope, and, if the
        criterion prefers it for the series as a whole, its own curvature, so
        slow drift and smooth bends are not cut into pieces and a change of
        trend is a change point.
        ``"linear"``: every segment has its own level and slope.
        ``"mean"``: every segment has a constant level (steps only).
    clip : float, default 3.0
        Points farther than ``clip`` noise standard deviations from the running
        median are winsorised to that distance before the search, so lone spikes
        are not reported.  ``numpy.inf`` turns this off.
    max_changepoints : int, optional
        Upper bound on the number of change points returned.  Default
        ``n // (2 * min_size)``, i.e. no practical bound.

    Returns
    -------
    list of int
        Sorted, unique indices ``0 < i < len(values)`` into ``values``.  Empty
        for series with fewer than ``MIN_POINTS`` (8) valid points, for
        constant series and when nothing changes.

    Raises
    ------
    ValueError
        If ``values`` is not one-dimensional or not numeric, or an option is out
        of range.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = np.r_[rng.normal(10, 1, 50), rng.normal(14, 1, 50)]
    >>> changepoints(x)
    [50]
    """
    if model not in _MODELS:
        raise ValueError(f"model must be one of {_MODELS}, got {model!r}")
    if penalty is not None and not (np.isfinite(penalty) and penalty > 0):
        raise ValueError(f"penalty must be a positive number, got {penalty!r}")
    if min_size is not None and (int(min_size) != min_size or min_size < 1):
        raise ValueError(f"min_size must be a positive integer, got {min_size!r}")
    if not clip > 0:
        raise ValueError(f"clip must be positive, got {clip!r}")
    if max_changepoints is not None and max_changepoints < 0:
        raise ValueError(f"max_changepoints must be >= 0, got {max_changepoints!r}")

    x = _as_float_array(values)
    valid = np.isfinite(x)
    index = np.flatnonzero(valid)
    x = x[valid]
    n = x.size
    if n < MIN_POINTS:
        return []
    log_n = float(np.log(n))
    if penalty is None:
        penalty = (3.0 if model == "mean" else 4.0) * log_n
    # candidate segment models: (coefficients per segment, cost per change
    # point, cost of the extra coefficient of the first segment); a quadratic
    # segment has one coefficient more than a line, so it pays log(n) more
    candidates = {"mean": [(1, penalty, 0.0)], "linear": [(2, penalty, 0.0)]}.get(
        model, [(2, penalty, 0.0), (3, penalty + log_n, log_n)]
    )
    sizes = {}
    for degree, _, _ in candidates:
        m = _default_min_size(n, degree) if min_size is None else int(min_size)
        sizes[degree] = max(m, degree + 1) if degree > 1 else m  # a line needs 3 points, a parabola 4
    candidates = [c for c in candidates if n >= 2 * sizes[c[0]]]
    if not candidates:
        return []

    # step 1: robust scale and winsorisation around a running median
    diffs = np.diff(x)
    scale = _mad_sd(diffs) / np.sqrt(2.0)
    if not scale > 0:
        scale = float(np.std(diffs)) / np.sqrt(2.0)
        if not scale > 0:
            return []  # constant series
    if np.isfinite(clip):
        med = _running_median(x, _MEDIAN_WINDOW)
        x = np.clip(x, med - clip * scale, med + clip * scale)
    y = (x - _median(x)) / scale

    # step 3: noise scale for the acceptance, the robust long-run variance
    # (fixed per series), never below the white-noise variance, 1 in units of y
    block = _block_length(n)
    lrv = max(_block_long_run_variance(y, block), 1.0)

    # steps 2 and 4: greedy candidate path per segment model, each with its own
    # number of change points
    mom = _Moments(y, max(c[0] for c in candidates))
    seeded: dict[int, tuple[np.ndarray, ...]] = {}
    for m in sorted(set(sizes.values())):
        seeded.update(_seeded_splits(mom, m, [c[0] for c in candidates if sizes[c[0]] == m]))
    # step 5: the segment model with the smaller criterion wins, the robust one
    # or, when the noise is taken as white (blocks of one point), the profile
    # likelihood, the efficient criterion under that assumption
    which = 1 if block == 1 else 0
    best: tuple[float, list[int]] | None = None
    for degree, beta, extra in candidates:
        m = sizes[degree]
        kmax = n // (2 * m) if max_changepoints is None else int(max_changepoints)
        exact = degree == min(c[0] for c in candidates if sizes[c[0]] == m)
        *crits, found = _select(mom, degree, m, seeded[degree], exact, lrv, beta, kmax)
        if best is None or crits[which] + extra < best[0]:
            best = (crits[which] + extra, found)
    return [int(index[c]) for c in best[1]]


def segment_levels(values: Any, cps: Sequence[int]) -> list[dict[str, float]]:
    """Robust level of each segment delimited by change points.

    Parameters
    ----------
    values : list, numpy.ndarray or polars.Series
        The series the change points were found in.
    cps : sequence of int
        Change points as returned by :func:`changepoints`.

    Returns
    -------
    list of dict
        One dict per segment with ``start``, ``stop`` (exclusive), ``n`` (valid
        points), ``median`` and ``mad_sd`` (NaN for a segment with no valid point).
    """
    x = _as_float_array(values)
    bounds = [0, *sorted(int(c) for c in cps), x.size]
    out: list[dict[str, float]] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        seg = x[a:b]
        seg = seg[np.isfinite(seg)]
        med = float(np.median(seg)) if seg.size else float("nan")
        out.append(
            {
                "start": a,
                "stop": b,
                "n": int(seg.size),
                "median": med,
                "mad_sd": _mad_sd(seg) if seg.size else float("nan"),
            }
        )
    return out
