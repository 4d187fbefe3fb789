"""benchlab: analyse benchmark results in Jupyter.

Results from any tool are imported into one DuckDB store and handed to analysis
code as Polars frames in one schema (:mod:`benchlab.frame`).  Every number
keeps its source and says whether it was measured, simulated or predicted.

>>> import benchlab
>>> store = benchlab.open()            # $BENCHLAB_DB or the per-user store
>>> store.ingest(["results/"])         # any supported format
>>> store.history(model="bert-base-uncased", metric="latency")
"""

from __future__ import annotations

from benchlab.errors import BenchlabError, IngestError, QueryError, SchemaVersionError, StoreLockedError
from benchlab.frame import RESULTS_SCHEMA, series_key
from benchlab.store import IngestReport, Store, default_path, open

__version__ = "0.1.0"

__all__ = [
    "open",
    "Store",
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
