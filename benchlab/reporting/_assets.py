"""Everything a report page needs inline: the Vega JavaScript, the chart loader, CSS.

The JavaScript (Vega, Vega-Lite and vega-embed) comes from the installed
``vl-convert-python`` package (:func:`vl_convert.javascript_bundle`), which
ships all three libraries and bundles them without touching the network.  The
bundle is embedded *once* per page; every chart is a JSON spec in a
``<script type="application/json">`` element that the small loader below hands
to ``vegaEmbed``.  Building the bundle takes a few seconds, so it is cached in
memory and on disk (``$XDG_CACHE_HOME/benchlab``), keyed by the vl-convert and
Vega-Lite versions.

The page's CSS lives in ``templates/_style.html.j2``.  Also here: JSON that is safe inside a ``<script>`` element, the
Content-Security-Policy with hashes of the page's own scripts, and a scanner
for remote resources (``<script src=https://…>`` and friends) that both report
builders use to keep their output free of them.  The scanner is hand-written on
top of :class:`html.parser.HTMLParser` (standard library) because all it needs
is tag positions; a full sanitizer (bleach) would rewrite the whole document.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from benchlab.errors import BenchlabError

__all__ = [
    "RENDER_JS",
    "RemoteResource",
    "csp_policy",
    "find_remote_resources",
    "script_hash",
    "script_json",
    "strip_remote_resources",
    "vega_bundle",
    "vegalite_version",
]

log = logging.getLogger(__name__)


# -- the Vega bundle -------------------------------------------------------------
def vegalite_version() -> str | None:
    """The Vega-Lite ``major.minor`` to bundle: Altair's, if vl-convert has it.

    ``None`` means vl-convert's newest.
    """
    import altair as alt

    vl_convert = _vl_convert()
    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def _vl_convert() -> Any:
    try:
        import vl_convert
    except ModuleNotFoundError as exc:
        if exc.name != "vl_convert":
            raise
        raise BenchlabError(
            "HTML reports need the package vl-convert-python, which carries the Vega JavaScript they embed; "
            "install it with `pip install vl-convert-python` (or `pip install 'benchlab[notebooks]'`)"
        ) from None
    return vl_convert


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "benchlab"


def _make_safe_for_script(js: str) -> str:
    # A literal "</script" or "<!--" would end or derail the <script> element.
    # Inside JS strings and regexes "\/" and "\!" mean "/" and "!", so the
    # rewrite keeps the code's meaning (the current bundle contains neither).
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


@functools.cache
def vega_bundle() -> str:
    """JavaScript defining ``window.vega``, ``window.vegaLite`` and ``window.vegaEmbed``.

    Produced offline by ``vl_convert.javascript_bundle`` for the Vega-Lite
    version Altair writes, cached in memory and on disk.

    Returns
    -------
    str
        Script text, safe to place between ``<script>`` and ``</script>``.
    """
    vl_convert = _vl_convert()
    vl = vegalite_version()
    key = f"{vl_convert.__version__}-{vl or 'latest'}"
    cached = _cache_dir() / f"vega-bundle-{key}.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    js = _make_safe_for_script(vl_convert.javascript_bundle(vl_version=vl))
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(js, encoding="utf-8")
        os.replace(tmp, cached)
    except OSError as exc:
        # The cache only saves time; an unwritable cache directory is not an error.
        log.info("could not cache the Vega bundle in %s: %s", cached.parent, exc)
    return js


# -- the chart loader --------------------------------------------------------------
#: Renders every ``<script type="application/json" data-benchlab-chart="ID">``
#: into the element with that id.  Failures are shown in the page *and* logged
#: with ``console.error`` (the browser tests fail on console errors).  When all
#: charts have settled, ``<html data-benchlab-charts="done">`` is set so tests
#: (and people debugging) can tell the page is complete.
RENDER_JS = """(function () {
  "use strict";
  var options = {
    renderer: "svg",
    actions: {export: true, source: false, compiled: false, editor: false}
  };
  function fail(target, id, err) {
    if (target) {
      target.setAttribute("data-rendered", "error");
      var p = document.createElement("p");
      p.className = "chart-error";
      p.textContent = "This chart could not be drawn: " + err;
      target.appendChild(p);
    }
    console.error("benchlab: chart " + id + " failed: " + err);
  }
  function renderAll() {
    var specs = document.querySelectorAll("script[type='application/json'][data-benchlab-chart]");
    var pending = [];
    Array.prototype.forEach.call(specs, function (el) {
      var id = el.getAttribute("data-benchlab-chart");
      var target = document.getElementById(id);
      if (!target) { fail(null, id, "no element with this id"); return; }
      if (typeof window.vegaEmbed !== "function") { fail(target, id, "Vega is missing"); return; }
      var spec;
      try { spec = JSON.parse(el.textContent); } catch (err) { fail(target, id, err); return; }
      pending.push(window.vegaEmbed(target, spec, options).then(function () {
        target.setAttribute("data-rendered", "ok");
      }, function (err) { fail(target, id, err); }));
    });
    Promise.all(pending).then(function () {
      document.documentElement.setAttribute("data-benchlab-charts", "done");
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }
})();"""


def script_json(obj: Any) -> str:
    """JSON text that can sit inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u003c`` … so no value (a model
    named ``</script><script>…``) can close the element or open a comment; the
    JSON parses to exactly the same data.  U+2028/U+2029 are escaped too.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def script_hash(text: str) -> str:
    """CSP source expression (``'sha256-…'``) allowing an inline script with this exact text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def csp_policy(script_hashes: list[str] | None) -> str:
    """A Content-Security-Policy that forbids every network request.

    Parameters
    ----------
    script_hashes : list of str or None
        Hashes (:func:`script_hash`) of the only inline scripts allowed to run;
        ``None`` allows any inline script (notebook exports, whose outputs may
        carry their own scripts).

    Notes
    -----
    ``'unsafe-eval'`` is needed because Vega compiles its expressions with
    ``Function``; inline styles are needed by Vega's SVG output and
    vega-embed's stylesheet.  ``default-src 'none'`` blocks fetches, images,
    fonts and frames from anywhere except ``data:``/``blob:`` URIs.
    """
    scripts = " ".join(script_hashes) if script_hashes is not None else "'unsafe-inline'"
    return (
        "default-src 'none'; "
        f"script-src {scripts} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


# -- remote resources ------------------------------------------------------------------
_URL_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "source": ("src", "srcset"),
    "embed": ("src",),
    "object": ("data",),
}
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_LOCAL_SCHEMES = re.compile(r"^\s*(?:data|blob):", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^\s*[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\()?\s*['\"]?\s*(?:https?:)?//", re.IGNORECASE)


@dataclass(frozen=True)
class RemoteResource:
    """A tag that would make the browser fetch something from elsewhere."""

    tag: str
    url: str
    start: int
    end: int


class _Scanner(HTMLParser):
    def __init__(self, text: str, relative: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.relative = relative
        self._line_starts = [0]
        for m in re.finditer("\n", text):
            self._line_starts.append(m.end())
        self.found: list[RemoteResource] = []
        self._open_script: RemoteResource | None = None

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = _URL_ATTRS.get(tag)
        if not names:
            return
        if tag == "link":
            rel = (dict(attrs).get("rel") or "").lower()
            # Hyperlink-ish relations (canonical, author …) are not fetched.
            if not any(r in rel for r in ("stylesheet", "preload", "prefetch", "modulepreload", "icon", "manifest")):
                return
        for name, value in attrs:
            if name in names and value and self._fetches(value):
                start = self._offset()
                text = self.get_starttag_text() or ""
                res = RemoteResource(tag, value.strip(), start, start + len(text))
                if tag == "script":
                    self._open_script = res  # extend to the closing tag
                else:
                    self.found.append(res)
                return

    def _fetches(self, value: str) -> bool:
        v = value.strip()
        if _LOCAL_SCHEMES.match(v):
            return False
        if _REMOTE.match(v):
            return True
        if not self.relative or v.startswith("#"):
            return False
        # A relative reference (the page's own folder) or an explicit file: URL.
        return _ANY_SCHEME.match(v) is None or v.lower().startswith("file:")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._open_script is not None:
            start = self._offset()
            end = self.text.find(">", start) + 1
            r = self._open_script
            self.found.append(RemoteResource(r.tag, r.url, r.start, end))
            self._open_script = None

    def handle_data(self, data: str) -> None:
        if self.lasttag == "style" and _CSS_IMPORT.search(data):
            start = self._offset()
            self.found.append(RemoteResource("style", _CSS_IMPORT.search(data).group(0), start, start))  # type: ignore[union-attr]


def find_remote_resources(html: str, *, relative: bool = False) -> list[RemoteResource]:
    """Tags in ``html`` that load something over the network (scripts, styles, images, frames).

    Links (``<a href>``) are not resources and are not reported.  With
    ``relative=True`` relative references (``img src="plot.png"``) count too:
    a single-file page cannot carry the files they point to.
    """
    scanner = _Scanner(html, relative)
    scanner.feed(html)
    scanner.close()
    if scanner._open_script is not None:  # unterminated <script src=…>
        r = scanner._open_script
        scanner.found.append(RemoteResource(r.tag, r.url, r.start, len(html)))
    return sorted(scanner.found, key=lambda r: r.start)


def strip_remote_resources(html: str, *, relative: bool = False) -> tuple[str, list[RemoteResource]]:
    """Remove every remote resource tag (a remote ``<script>`` with its body).

    Returns the cleaned HTML and what was removed.  ``@import`` of remote CSS
    is reported but left in place (the page's CSP blocks it).  ``relative`` as
    in :func:`find_remote_resources`.
    """
    found = find_remote_resources(html, relative=relative)
    out: list[str] = []
    pos = 0
    for r in found:
        if r.end <= r.start or r.start < pos:
            continue
        out.append(html[pos : r.start])
        out.append(f"<!-- benchlab: removed remote {r.tag} (offline report) -->")
        pos = r.end
    out.append(html[pos:])
    return "".join(out), found
