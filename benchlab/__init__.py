"""benchlab: analyse benchmark results in Jupyter.

Results from any tool are imported into one DuckDB store and handed to analysis
code as Polars frames in one schema (:mod:`benchlab.frame`).  Every number
keeps its source and says whether it was measured, simulated or predicted.

>>> import benchlab
>>> store = benchlab.open()            # $BENCHLAB_DB or the per-user store
>>> store.ingest(["results/"])         # any supported format
>>> store.history(model="bert-base-uncased", metric="latency")
>>> store.detect(metric="latency")      # change points, direction-aware, untriaged
>>> benchlab.changepoints([1.0, 1.1, 0.9, 1.0, 1.05, 2.0, 2.1, 1.9, 2.0, 2.05])
[5]

Analysis entry points (``changepoints``, ``report``, ``PerformanceModel``) are
imported on first use, so ``import benchlab`` and the CLI stay fast.
"""

from __future__ import annotations

from benchlab.errors import BenchlabError, IngestError, QueryError, SchemaVersionError, StoreLockedError
from benchlab.frame import RESULTS_SCHEMA, series_key
from benchlab.store import IngestReport, Store, default_path, open

__version__ = "0.1.0"

# name -> module that defines it; loaded on first attribute access (PEP 562)
_LAZY = {
    "changepoints": "benchlab.regress",
    "report": "benchlab.reporting",
    "PerformanceModel": "benchlab.predict",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'benchlab' has no attribute {name!r}")


__all__ = [
    "open",
    "Store",
    "changepoints",
    "report",
    "PerformanceModel",
    "IngestReport",
    "default_path",
    "RESULTS_SCHEMA",
    "series_key",
    "BenchlabError",
    "IngestError",
    "QueryError",
    "SchemaVersionError",
    "StoreLockedError",
    "__version__",
]
