"""Build the HTML report of the demo store and print how long it took and how big it is.

Targets: the report of the demo store is built in at most 10 s and is at most 5 MB.

Usage::

    python benchmarks/report_build.py                 # build, print figures
    python benchmarks/report_build.py --cold          # also empty the Vega bundle cache first
    python benchmarks/report_build.py --browser --screenshot /tmp/screens/report.png

``--browser`` opens the page in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, see ``.ci/install-browser.sh``) and prints what it saw:
charts drawn, network requests, console errors.  The demo store is built in a
temporary folder unless ``--store`` names one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 10.0
TARGET_BYTES = 5_000_000


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (worker pools)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _browser(page: Path, screenshot: Path | None) -> dict[str, object]:
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
        "--disable-sync --no-first-run --window-size=1280,1400"
    ).split():
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        t0 = time.perf_counter()
        driver.get(page.resolve().as_uri())
        while driver.execute_script("return document.documentElement.getAttribute('data-benchlab-charts')") != "done":
            if time.perf_counter() - t0 > 120:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - t0
        states = driver.execute_script(
            "return Array.from(document.querySelectorAll('script[data-benchlab-chart]')).map(s => {"
            " const el = document.getElementById(s.getAttribute('data-benchlab-chart'));"
            " const svg = el && el.querySelector('svg');"
            " return [el && el.getAttribute('data-rendered'), svg ? svg.querySelectorAll(\"g[class^='mark-'] > *\").length : 0]; })"
        )
        requests = [
            json.loads(e["message"])["message"]["params"]["request"]["url"]
            for e in driver.get_log("performance")
            if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"
        ]
        console = driver.get_log("browser")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
        return {
            "render_seconds": round(seconds, 2),
            "charts": len(states),
            "charts_drawn": sum(1 for s, n in states if s == "ok" and n > 0),
            "requests": requests,
            "console_errors": [e["message"] for e in console if e["level"] == "SEVERE"],
            "console_warnings": len([e for e in console if e["level"] == "WARNING"]),
        }
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="demo store to use (built there if missing)")
    parser.add_argument("--out", type=Path, help="where to write the report (default: a temporary folder)")
    parser.add_argument("--cold", action="store_true", help="start with an empty Vega bundle cache")
    parser.add_argument("--browser", action="store_true", help="open the report in headless Chromium")
    parser.add_argument("--screenshot", type=Path, help="with --browser: save a screenshot here")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="benchlab-report-bench-"))
    if args.cold:
        os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    t_import, c_import = time.perf_counter(), _cpu()
    import benchlab.charts
    import benchlab.regress  # noqa: F401 - imported here so the build below is timed without imports
    from benchlab.demo import build_demo
    from benchlab.reporting import build_report

    import_seconds, import_cpu = time.perf_counter() - t_import, _cpu() - c_import
    t0 = time.perf_counter()
    store = build_demo(args.store or tmp / "demo.duckdb")
    demo_seconds = time.perf_counter() - t0
    stats = store.stats()
    out = args.out or tmp / "report.html"

    info: dict[str, object] = {}
    t0, c0 = time.perf_counter(), _cpu()
    build_report(store, out=out, info=info)
    first, first_cpu = time.perf_counter() - t0, _cpu() - c0
    t0 = time.perf_counter()
    build_report(store, out=out)
    second = time.perf_counter() - t0
    size = out.stat().st_size

    print(
        f"demo store: {stats['results']:,} results, {stats['series']:,} series, {stats['runs']} runs "
        f"({'reused' if demo_seconds < 1 else f'built in {demo_seconds:.1f} s'})"
    )
    print(f"imports (benchlab.reporting, charts, regress, demo): {import_seconds:.2f} s wall, {import_cpu:.2f} s CPU")
    print(
        f"report build, first in this process{' (cold bundle cache)' if args.cold else ''}: {first:.2f} s wall, "
        f"{first_cpu:.2f} s CPU (this process and its worker processes)"
    )
    print(f"report build, again in the same process: {second:.2f} s")
    print("  per section (first build): " + ", ".join(f"{k} {v:.2f} s" for k, v in info["seconds"].items()))  # type: ignore[union-attr]
    print(f"report size: {size / 1e6:.2f} MB ({size:,} bytes), {info['charts']} charts -> {out}")
    ok_time = import_seconds + first <= TARGET_SECONDS
    ok_size = size <= TARGET_BYTES
    print(
        f"target build <= {TARGET_SECONDS:.0f} s (imports + first build = {import_seconds + first:.2f} s): "
        f"{'PASS' if ok_time else 'FAIL'}"
    )
    print(f"target size <= {TARGET_BYTES / 1e6:.0f} MB: {'PASS' if ok_size else 'FAIL'}")
    if os.cpu_count():
        print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.browser:
        seen = _browser(out, args.screenshot)
        print(
            f"browser: {seen['charts_drawn']}/{seen['charts']} charts drawn in {seen['render_seconds']} s; "
            f"requests: {seen['requests']}; console errors: {seen['console_errors'] or 'none'}; "
            f"console warnings: {seen['console_warnings']}"
        )
        if args.screenshot:
            print(f"screenshot: {args.screenshot}")
    return 0 if ok_time and ok_size else 1


if __name__ == "__main__":
    sys.exit(main())
