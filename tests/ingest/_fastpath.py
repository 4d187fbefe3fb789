"""Shared check for importers with a column-wise fast path: it must build exactly what the record path builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchlab import ingest
from benchlab.errors import IngestError


def assert_batches_equal(a: ingest.Batch, b: ingest.Batch) -> None:
    assert (a.path, a.format, a.digest, a.skipped) == (b.path, b.format, b.digest, b.skipped)
    for t in ("runs", "results", "hardware", "models", "compatibility", "integration_tests"):
        x, y = getattr(a, t), getattr(b, t)
        assert x.schema == y.schema and x.equals(y, null_equal=True), (t, x.to_dicts(), y.to_dicts())


def fast_path_agrees(importer: Any, path: Path) -> bool:
    """Assert the fast path builds the record path's batch, or declines; whether it was taken.

    Every error is left to the record (exact) path, so on input the exact path
    rejects the fast path must decline.
    """
    fast = importer._read_fast(path)
    try:
        exact = importer._read_exact(path)
    except IngestError:
        assert fast is None, "the fast path accepted input the record path rejects"
        return False
    if fast is not None:
        assert_batches_equal(fast, exact)
    return fast is not None
