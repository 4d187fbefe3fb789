"""Self-contained HTML reports that open offline.

:func:`build_report` (also :func:`report`) writes one HTML file describing a
store: summary, regressions in a window, hardware comparison, compatibility and
predictions.  :func:`export_notebook` executes a notebook and writes it as the
same kind of page.  Both inline the Vega JavaScript once, draw every chart with
it, escape every string from the data and load nothing from the network (a
Content-Security-Policy in the page forbids it).
"""

from __future__ import annotations

from benchlab.reporting._build import DEFAULT_WINDOW_DAYS, Window, build_report, resolve_since
from benchlab.reporting._notebook import export_notebook

#: Alias of :func:`build_report`.
report = build_report

__all__ = ["build_report", "report", "export_notebook", "resolve_since", "Window", "DEFAULT_WINDOW_DAYS"]
