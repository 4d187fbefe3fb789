"""Session setup shared by the unit tests and the notebooks that nbval runs.

The notebooks build the demo store on first use.  A test run must neither
depend on nor overwrite the demo store of the person running it, so the session
gets its own (``$BENCHLAB_DEMO_DB`` in a temporary folder, inherited by the
notebook kernels) unless the caller set one.  The terminal summary prints how
long each notebook took, the figure the notebooks' time budget is judged on.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

_OWN_DEMO_DIR: str | None = None
NOTEBOOK_BUDGET_S = 120.0


def pytest_configure(config: pytest.Config) -> None:
    global _OWN_DEMO_DIR
    if not os.environ.get("BENCHLAB_DEMO_DB"):
        _OWN_DEMO_DIR = tempfile.mkdtemp(prefix="benchlab-test-demo-")
        os.environ["BENCHLAB_DEMO_DB"] = str(Path(_OWN_DEMO_DIR) / "demo.duckdb")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _OWN_DEMO_DIR is not None:
        shutil.rmtree(_OWN_DEMO_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    per_notebook: dict[str, float] = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for rep in reports:
            nodeid = getattr(rep, "nodeid", "")
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb") and isinstance(getattr(rep, "duration", None), float):
                per_notebook[path] += rep.duration  # setup (kernel start), cells and teardown
    if not per_notebook:
        return
    terminalreporter.section("notebook durations (nbval, kernel start included)")
    for path in sorted(per_notebook):
        terminalreporter.write_line(f"{per_notebook[path]:7.1f} s  {path}")
    total = sum(per_notebook.values())
    verdict = "within" if total <= NOTEBOOK_BUDGET_S else "OVER"
    terminalreporter.write_line(f"{total:7.1f} s  all notebooks ({verdict} the {NOTEBOOK_BUDGET_S:.0f} s budget)")
