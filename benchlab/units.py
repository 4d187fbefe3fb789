"""Unit parsing and normalization.

Every result keeps the unit and value it arrived with (``orig_unit``,
``orig_value``) and is stored in one canonical unit per dimension, so that a
latency written in µs by one tool and in s by another lands on one axis:

===========  =================  ==========================================
dimension    canonical unit     accepted spellings (case-insensitive)
===========  =================  ==========================================
time         ``ms``             ns, us, µs, μs, ms, s, sec, seconds, min, h
rate         ``<item>/s``       items/s, samples/s, tokens/s, queries/s,
                                iter/sec, ops/s, req/s, fps, qps, …; per ms,
                                per us and per min are rescaled to per second
memory       ``MB`` (10⁶ B)     B, bytes, kB, KB, KiB, MB, MiB, GB, GiB, TB
energy       ``J``              J, mJ, kJ, Wh
power        ``W``              W, mW, kW
ratio        ``%`` / ``x``      %, percent, x, ratio
count        ``count``          count, items, (empty), 1
===========  =================  ==========================================

Throughput units keep their item (``tokens/s`` and ``samples/s`` are different
quantities and are never merged).  An unknown unit is an error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Unit", "parse_unit", "UnknownUnitError", "default_direction"]


class UnknownUnitError(ValueError):
    """The unit string is not one benchlab knows how to normalize."""


@dataclass(frozen=True)
class Unit:
    """A parsed unit: its canonical spelling and the factor to get there.

    ``canonical_value = value * factor``.
    """

    canonical: str
    factor: float
    dimension: str

    def convert(self, value: float) -> float:
        """``value`` in the canonical unit.

        Small factors divide by their exact reciprocal (``1400 / 1000`` is 1.4,
        ``1400 * 0.001`` is not).
        """
        return value / (1.0 / self.factor) if self.factor < 1 else value * self.factor


_TIME = {
    "ns": 1e-6, "nsec": 1e-6, "nanosecond": 1e-6, "nanoseconds": 1e-6,
    "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "usec": 1e-3, "microsecond": 1e-3, "microseconds": 1e-3,
    "ms": 1.0, "msec": 1.0, "millisecond": 1.0, "milliseconds": 1.0,
    "s": 1e3, "sec": 1e3, "secs": 1e3, "second": 1e3, "seconds": 1e3,
    "min": 6e4, "minute": 6e4, "minutes": 6e4,
    "h": 3.6e6, "hr": 3.6e6, "hour": 3.6e6, "hours": 3.6e6,
}  # fmt: skip
_MEMORY = {
    "b": 1e-6, "byte": 1e-6, "bytes": 1e-6,
    "kb": 1e-3, "kib": 1024 / 1e6,
    "mb": 1.0, "mib": 1024**2 / 1e6,
    "gb": 1e3, "gib": 1024**3 / 1e6,
    "tb": 1e6, "tib": 1024**4 / 1e6,
}  # fmt: skip
_ENERGY = {"j": 1.0, "joule": 1.0, "joules": 1.0, "mj": 1e-3, "kj": 1e3, "wh": 3600.0}
_POWER = {"w": 1.0, "watt": 1.0, "watts": 1.0, "mw": 1e-3, "kw": 1e3}
_RATIO = {"%": ("%", 1.0), "percent": ("%", 1.0), "x": ("x", 1.0), "ratio": ("x", 1.0)}
_COUNT = {"count": 1.0, "": 1.0, "1": 1.0, "n": 1.0, "iterations": 1.0}
# A rate's denominator: seconds per that time unit.
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0}
# Bare rate spellings with an implied item.
_RATE_ALIASES = {
    "fps": "frames/s", "qps": "queries/s", "ops": "ops/s", "iops": "ops/s",
    "rps": "requests/s", "tps": "tokens/s", "hz": "ops/s",
    "throughput": "items/s",
}  # fmt: skip
# Plural item names so that "sample/s" and "samples/s" are one unit.
_ITEM_ALIASES = {
    "item": "items", "sample": "samples", "token": "tokens", "query": "queries",
    "iter": "iter", "iters": "iter", "iteration": "iter", "iterations": "iter",
    "op": "ops", "operation": "ops", "operations": "ops", "req": "requests",
    "request": "requests", "frame": "frames", "image": "images", "img": "images",
    "it": "iter", "batch": "batches",
}  # fmt: skip
_RATE_RE = re.compile(r"^([a-z_ ]+?)\s*(?:/|per\s+|_per_)\s*([a-zµμ]+)$")


@lru_cache(maxsize=512)
def parse_unit(text: str | None) -> Unit:
    """Parse a unit string into its canonical form.

    Parameters
    ----------
    text : str or None
        The unit as a tool wrote it (``"ms"``, ``"MiB"``, ``"iter/sec"``, ``"µs"``).

    Returns
    -------
    Unit
        Canonical unit, multiplicative factor and dimension.

    Raises
    ------
    UnknownUnitError
        If the unit is not recognised.
    """
    raw = "" if text is None else str(text).strip()
    key = raw.lower().replace("μ", "µ")
    if key in _TIME:
        return Unit("ms", _TIME[key], "time")
    if key in _MEMORY:
        return Unit("MB", _MEMORY[key], "memory")
    if key in _ENERGY:
        return Unit("J", _ENERGY[key], "energy")
    if key in _POWER:
        return Unit("W", _POWER[key], "power")
    if key in _RATIO:
        canonical, factor = _RATIO[key]
        return Unit(canonical, factor, "ratio")
    if key in _COUNT:
        return Unit("count", 1.0, "count")
    key = _RATE_ALIASES.get(key, key)
    m = _RATE_RE.match(key)
    if m:
        item, per = m.group(1).strip().replace(" ", "_"), m.group(2)
        if item in _TIME:
            raise UnknownUnitError(f"unknown unit {raw!r} (time per time)")
        if item in _MEMORY and per in _PER:
            # Bandwidth: MB/s, GiB/s ...
            return Unit("MB/s", _MEMORY[item] / _PER[per], "rate")
        if per in _PER:
            item = _ITEM_ALIASES.get(item, item)
            return Unit(f"{item}/s", 1.0 / _PER[per], "rate")
    raise UnknownUnitError(f"unknown unit {raw!r}")


def default_direction(unit: Unit) -> str:
    """Which way is better for a unit: ``"higher"`` for rates, else ``"lower"``."""
    return "higher" if unit.dimension == "rate" else "lower"
