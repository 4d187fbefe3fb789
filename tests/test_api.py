"""The top-level API: the analysis entry points are reachable from ``benchlab`` itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

import benchlab


def test_changepoints_is_exported_and_takes_lists_arrays_and_series() -> None:
    values = [10.0, 10.2, 9.9, 10.1, 10.0, 9.8, 10.1, 10.0, 15.0, 15.2, 14.9, 15.1, 15.0, 14.8, 15.1, 15.0]
    assert benchlab.changepoints(values) == [8]
    assert benchlab.changepoints(np.array(values)) == [8]
    assert benchlab.changepoints(pl.Series(values)) == [8]


def test_report_is_the_function_and_performance_model_the_class() -> None:
    from benchlab.predict import PerformanceModel
    from benchlab.reporting import build_report

    assert benchlab.report is build_report
    assert benchlab.PerformanceModel is PerformanceModel
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        benchlab.nope  # noqa: B018


def test_import_benchlab_does_not_load_the_analysis_stack() -> None:
    """The CLI starts quickly: scipy and the report templates load on first use only."""
    code = "import sys, benchlab; print(sorted(m for m in ('scipy', 'benchlab.reporting', 'benchlab.predict') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
