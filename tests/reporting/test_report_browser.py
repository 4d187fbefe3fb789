"""The report and a notebook export opened in a real headless Chromium, offline.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/install-browser.sh``).
Selenium Manager is never asked for anything: the driver and the browser are
given by path and ``SE_OFFLINE`` is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from benchlab.reporting import build_report, export_notebook

sys.path.insert(0, str(Path(__file__).parent))
import _report_data as data

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
    "--disable-sync --no-first-run --window-size=1280,1400"
).split()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs Debian's chromium and chromium-driver at /usr/bin (run .ci/install-browser.sh)",
    ),
]

# Installed before any page script runs: records alerts and CSP violations instead of showing them.
_WATCH = """
window.__alerts = [];
window.alert = window.confirm = window.prompt = function (m) { window.__alerts.push(String(m)); };
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    d = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _WATCH})
    try:
        yield d
    finally:
        d.quit()


def open_page(driver: Any, path: Path, timeout: float = 60) -> dict[str, Any]:
    """Load ``path`` and wait until every chart settled; returns what the browser saw."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(path.resolve().as_uri())
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.documentElement.getAttribute('data-benchlab-charts')") != "done":
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.3)  # let late console messages arrive
    charts = driver.execute_script(
        """
        return Array.from(document.querySelectorAll("script[data-benchlab-chart]")).map(function (s) {
          var el = document.getElementById(s.getAttribute("data-benchlab-chart"));
          var svg = el && el.querySelector("svg");
          var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
          return {id: s.getAttribute("data-benchlab-chart"), rendered: el && el.getAttribute("data-rendered"),
                  items: svg ? svg.querySelectorAll("g[class^='mark-'] > path, g[class^='mark-'] > line, "
                                                    + "g[class^='mark-'] > text, g[class^='mark-'] > rect").length : 0,
                  width: box.width, height: box.height};
        });
        """
    )
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    return {
        "done": driver.execute_script("return document.documentElement.getAttribute('data-benchlab-charts')"),
        "charts": charts,
        "console": driver.get_log("browser"),
        "requests": requests,
        "resources": driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"),
        "xss": driver.execute_script("return [window.__xss, window.__js_ran]"),
        "alerts": driver.execute_script("return window.__alerts"),
        "csp": driver.execute_script("return window.__csp"),
        "url": driver.current_url,
    }


def assert_offline_and_clean(seen: dict[str, Any], n_charts: int) -> None:
    assert seen["done"] == "done"
    assert len(seen["charts"]) == n_charts
    for c in seen["charts"]:
        assert c["rendered"] == "ok", c
        assert c["items"] > 0 and c["width"] > 50 and c["height"] > 20, c
    errors = [e for e in seen["console"] if e["level"] == "SEVERE"]
    assert errors == []
    # the page itself is the only request; nothing else was fetched or even attempted
    assert [u for u in seen["requests"] if not u.startswith("data:")] == [seen["url"]]
    assert [u for u in seen["resources"] if not u.startswith("data:")] == []
    assert seen["csp"] == []
    assert seen["xss"] == [None, None]
    assert seen["alerts"] == []


def test_report_renders_every_chart_offline_and_runs_no_injected_script(driver: Any, tmp_path: Path) -> None:
    store = data.build_store(tmp_path / "hostile.duckdb")
    info: dict[str, Any] = {}
    page = build_report(store, out=tmp_path / "report.html", info=info)
    seen = open_page(driver, Path(page))
    assert info["charts"] >= 5
    assert_offline_and_clean(seen, info["charts"])
    # the hostile model name is on the page as text
    assert data.HOSTILE_MODEL in driver.find_element("tag name", "body").text


def test_notebook_export_renders_charts_offline(driver: Any, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Export <img src=x onerror='window.__xss=1'> ![r](https://example.com/r.png)"),
        nbformat.v4.new_code_cell(
            "import altair as alt, polars as pl, ipywidgets as w\n"
            "df = pl.DataFrame({'m': ['</script><script>window.__xss=2</script>', 'b'], 'v': [1.0, 2.0]})\n"
            "alt.Chart(df).mark_bar().encode(x='m:N', y='v:Q')"
        ),
        nbformat.v4.new_code_cell(
            "o = w.Output()\nwith o:\n    display(alt.Chart(df).mark_point().encode(x='v:Q', y='m:N'))\n"
            "w.VBox([w.IntSlider(value=3, description='n'), o])"
        ),
        nbformat.v4.new_code_cell(
            "from IPython.display import HTML, Javascript, display\n"
            "display(HTML('<script src=\"https://cdn.example.com/x.js\"></script>ok'))\n"
            "display(Javascript('window.__js_ran = 1'))"
        ),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    out = export_notebook(path, timeout=120)
    seen = open_page(driver, out)
    assert_offline_and_clean(seen, 2)
