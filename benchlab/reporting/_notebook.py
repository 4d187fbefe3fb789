"""Export a notebook as an offline HTML page (``benchlab export-notebook``).

The notebook is executed with ``nbclient`` and converted with nbconvert's
``HTMLExporter`` using ``templates/notebook.html.j2``, which extends the
"lab" template but drops everything it loads from a CDN (require.js, MathJax,
mermaid, the Jupyter widget renderer).  Before conversion every output is
rewritten so the page needs nothing else:

* **Charts.**  Vega-Lite/Vega outputs (``application/vnd.vegalite.v5+json``,
  ``…v6+json``, ``application/vnd.vega.v5+json``; also Altair 6's
  ``application/vnd.vegalite.v6.json``) and Altair's HTML outputs
  (Altair 5/6 emit HTML that fetches Vega from jsDelivr; the spec is read out of
  it) become a ``<div>`` plus the spec in ``<script type="application/json">``,
  drawn by the same inlined Vega bundle as the store report.
* **Widgets.**  Offline rendering of live ipywidgets would need the
  ``@jupyter-widgets/html-manager`` bundle, which no installed package ships,
  so widgets are shown as a *static snapshot* built from the widget state that
  nbclient saved: boxes, tabs and accordions keep their layout, controls show
  their description and value, ``Output`` widgets show their outputs (charts
  in them stay interactive), Altair's ``JupyterChart`` becomes a chart.  Each
  snapshot says so, and so does a note at the top of the page.
* **Everything else outside the file.**  ``<script src>``, stylesheets, images
  and frames with a remote URL -- or a relative one, which a single file cannot
  carry (nbconvert already embedded the local images it found) -- are removed
  (listed in the note) and JavaScript outputs
  are left out; the page's Content-Security-Policy blocks any request that
  remains.

Hand-written parts: the widget snapshot (no library renders widget state to
static HTML) and reading the spec out of Altair's HTML (one
``json.JSONDecoder.raw_decode`` at a fixed marker of Altair's template).
"""

from __future__ import annotations

import copy
import html as _html
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import escape

from benchlab.errors import BenchlabError
from benchlab.reporting import _assets

__all__ = ["altair_html_spec", "clean_markdown_html", "export_notebook", "offline_notebook_html"]

_TEMPLATES = Path(__file__).with_name("templates")
# "+json" is the registered form; Altair 6's "mimetype" renderer writes "….v6.json".
_VEGA_MIME = re.compile(r"^application/vnd\.vega(?:lite)?\.v\d+(?:\.\d+)?[+.]json$")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_ALTAIR_MARK = "(function(spec, embedOpt){"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_WIDGET_DEPTH = 20


@dataclass
class _Context:
    """State shared while one notebook's outputs are rewritten."""

    widget_state: dict[str, Any]
    n_charts: int = 0
    n_widgets: int = 0
    n_javascript: int = 0
    notes: list[str] = field(default_factory=list)

    def chart(self, spec: Any) -> str:
        self.n_charts += 1
        cid = f"benchlab-chart-{self.n_charts}"
        return (
            f'<div id="{cid}" class="benchlab-chart chart" role="img"></div>'
            f'<script type="application/json" data-benchlab-chart="{cid}">{_assets.script_json(spec)}</script>'
        )


# -- charts ------------------------------------------------------------------------------------------------
def altair_html_spec(html: str) -> dict[str, Any] | None:
    """The chart spec inside an HTML output written by Altair's ``html`` renderer, or ``None``.

    Altair's template ends with ``})(SPEC, EMBED_OPTIONS);`` after the marker
    ``(function(spec, embedOpt){``; ``SPEC`` is ``json.dumps`` output.
    """
    at = html.find(_ALTAIR_MARK)
    if at < 0:
        return None
    call = html.find("})(", at)
    if call < 0:
        return None
    try:
        spec, _ = json.JSONDecoder().raw_decode(html, call + 3)
    except json.JSONDecodeError:
        return None
    return spec if isinstance(spec, dict) else None


def _is_chart_spec(value: Any) -> bool:
    return isinstance(value, dict) and "vega" in str(value.get("$schema", ""))


# -- widgets -----------------------------------------------------------------------------------------------
def _widget_ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return value[len("IPY_MODEL_") :]
    return None


def _widget_value_text(name: str, state: dict[str, Any]) -> str | None:
    labels = state.get("_options_labels")
    index = state.get("index")
    if labels is not None and index is not None:
        if isinstance(index, list):
            return ", ".join(str(labels[i]) for i in index if isinstance(i, int) and 0 <= i < len(labels))
        if isinstance(index, int) and 0 <= index < len(labels):
            return str(labels[index])
        return "—"
    if "value" not in state:
        return None
    value = state["value"]
    if isinstance(value, bool):
        return "☑ yes" if value else "☐ no"
    if isinstance(value, list):
        return " … ".join(str(v) for v in value)
    if isinstance(value, dict):
        return None  # binary payloads (images, files) have no useful text
    return str(value)


def _widget_html(
    ctx: _Context, model_id: str, fallback: str | None, depth: int = 0, seen: frozenset[str] = frozenset()
) -> str:
    """Static HTML of one widget and its children."""
    entry = ctx.widget_state.get(model_id)
    if entry is None or depth > _MAX_WIDGET_DEPTH or model_id in seen:
        text = fallback or "interactive widget"
        return f'<pre class="benchlab-snapshot">{escape(text)}</pre>'
    seen = seen | {model_id}
    name = str(entry.get("model_name", ""))
    state = entry.get("state", {}) or {}
    desc = state.get("description") or ""

    def children(key: str = "children") -> list[str]:
        return [
            _widget_html(ctx, ref, None, depth + 1, seen)
            for ref in (_widget_ref(c) for c in state.get(key) or [])
            if ref is not None
        ]

    if _is_chart_spec(state.get("spec")):  # altair.JupyterChart
        return ctx.chart(state["spec"])
    if name in ("HBoxModel", "GridBoxModel"):
        inner = "".join(f'<div style="flex: 1 1 auto; min-width: 0">{c}</div>' for c in children())
        return f'<div style="display: flex; flex-wrap: wrap; gap: 8px">{inner}</div>'
    if name in ("VBoxModel", "BoxModel"):
        return "<div>" + "".join(children()) + "</div>"
    if name in ("TabModel", "AccordionModel", "StackModel"):
        titles = state.get("titles") or []
        selected = state.get("selected_index")
        parts = []
        for i, c in enumerate(children()):
            title = titles[i] if i < len(titles) and titles[i] else f"page {i + 1}"
            open_ = " open" if selected in (None, i) else ""
            parts.append(f"<details{open_}><summary>{escape(title)}</summary>{c}</details>")
        return "<div>" + "".join(parts) + "</div>"
    if name == "OutputModel":
        return "<div>" + "".join(_outputs_html(ctx, state.get("outputs") or [])) + "</div>"
    if name in ("HTMLModel", "HTMLMathModel"):
        # The notebook's own HTML, trusted as much as its text/html outputs.
        label = f"<b>{escape(desc)}</b> " if desc else ""
        return f"<div>{label}{state.get('value') or ''}</div>"
    if name == "LabelModel":
        return f"<div>{escape(state.get('value') or '')}</div>"
    if name in ("FloatProgressModel", "IntProgressModel") and isinstance(state.get("value"), int | float):
        lo, hi, v = state.get("min", 0) or 0, state.get("max", 100) or 100, state["value"]
        label = f"<b>{escape(desc)}</b> " if desc else ""
        pct = 100 * (v - lo) / (hi - lo) if hi != lo else 100
        return (
            f'<div class="benchlab-snapshot">{label}<progress max="100" value="{pct:.0f}"></progress> {pct:.0f}%</div>'
        )
    if name in ("ButtonModel", "ToggleButtonModel"):
        return f'<button type="button" disabled>{escape(desc or state.get("icon") or "button")}</button>'
    if name.endswith("Model") and str(entry.get("model_module", "")).startswith("@jupyter-widgets/"):
        value = _widget_value_text(name, state)
        if value is not None and "Slider" in name and "min" in state and "max" in state:
            value += f" (range {state['min']} … {state['max']})"
        if value is not None:
            label = f"<b>{escape(desc)}</b>: " if desc else ""
            return f'<div class="benchlab-snapshot">{label}{escape(value)}</div>'
        if name in ("LayoutModel", "StyleModel") or name.endswith("StyleModel"):
            return ""
    text = fallback or f"{name or 'widget'} ({entry.get('model_module', 'unknown module')})"
    return f'<pre class="benchlab-snapshot">{escape(text)}</pre>'


# -- markdown ---------------------------------------------------------------------------------------------
_MD_TAGS = frozenset(
    "a abbr b blockquote br caption code dd del details div dl dt em h1 h2 h3 h4 h5 h6 hr i img input kbd li "
    "ol p pre s span strong sub summary sup table tbody td tfoot th thead tr u ul".split()
)
_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*):", re.IGNORECASE)


def _md_attribute(tag: str, name: str, value: str) -> bool:
    """Which attributes survive in Markdown cells (links only to http(s)/mailto/anchors)."""
    if name in ("class", "id", "title", "align"):
        return True
    scheme = _SCHEME.match(value).group(1).lower() if _SCHEME.match(value) else ""  # type: ignore[union-attr]
    if tag == "a" and name == "href":
        return scheme in ("", "http", "https", "mailto")
    if tag == "img" and name == "src":
        # embedded attachments are data:image/…; remote images are removed later (and listed)
        return scheme in ("", "http", "https") or value.strip().lower().startswith("data:image/")
    if tag == "img" and name in ("alt", "width", "height"):
        return True
    if tag in ("td", "th") and name in ("colspan", "rowspan"):
        return True
    if tag == "input" and name in ("type", "checked", "disabled"):
        return True
    return tag == "ol" and name == "start"


def clean_markdown_html(html: str) -> str:
    """Sanitize the HTML of a Markdown cell, as JupyterLab does: no scripts, handlers or odd links.

    Disallowed tags are shown as text (``<script>`` appears literally and runs
    nothing).  Uses ``bleach``, which nbconvert already depends on.
    """
    import bleach

    return bleach.clean(
        html,
        tags=_MD_TAGS,
        attributes=_md_attribute,
        protocols=["http", "https", "mailto", "data"],
        strip=False,
        strip_comments=True,
    )


# -- outputs -----------------------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _rewrite(ctx: _Context, output: dict[str, Any]) -> dict[str, Any] | None:
    """The output with charts and widgets replaced by offline HTML (``None``: unchanged)."""
    data = output.get("data")
    if not isinstance(data, dict):
        return None
    for mime in sorted(data):
        if _VEGA_MIME.match(mime):
            return _as_html(output, ctx.chart(data[mime]))
    html = data.get("text/html")
    if html is not None:
        spec = altair_html_spec(_text(html))
        if spec is not None:
            return _as_html(output, ctx.chart(spec))
    view = data.get(_WIDGET_VIEW)
    if isinstance(view, dict) and view.get("model_id"):
        ctx.n_widgets += 1
        fallback = _text(data["text/plain"]) if "text/plain" in data else None
        body = _widget_html(ctx, str(view["model_id"]), fallback)
        note = '<p class="benchlab-snapshot-note">Static snapshot of an interactive widget (its state when the notebook ran).</p>'
        return _as_html(output, f'<div class="benchlab-widget">{body}{note}</div>')
    if "application/javascript" in data and "text/html" not in data:
        ctx.n_javascript += 1
    return None


def _as_html(output: dict[str, Any], html: str) -> dict[str, Any]:
    new = copy.deepcopy(output)
    new["data"] = {"text/html": html}
    new["metadata"] = {}
    return new


def _outputs_html(ctx: _Context, outputs: Iterable[dict[str, Any]]) -> Iterable[str]:
    """HTML of the outputs inside an ``Output`` widget (a small subset of nbconvert's rendering)."""
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            yield f"<pre>{escape(_ANSI.sub('', _text(out.get('text', ''))))}</pre>"
            continue
        if kind == "error":
            tb = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
            yield f'<pre class="benchlab-snapshot">{escape(tb or out.get("ename", "error"))}</pre>'
            continue
        new = _rewrite(ctx, out) or out
        data = new.get("data", {})
        if "text/html" in data:
            yield _text(data["text/html"])
        elif "image/png" in data:
            yield f'<img alt="" src="data:image/png;base64,{escape(_text(data["image/png"]).strip())}">'
        elif "image/svg+xml" in data:
            yield f'<img alt="" src="data:image/svg+xml;charset=utf-8,{_html.escape(_url_quote(_text(data["image/svg+xml"])))}">'
        elif "text/markdown" in data:
            yield f"<pre>{escape(_text(data['text/markdown']))}</pre>"
        elif "text/plain" in data:
            yield f"<pre>{escape(_ANSI.sub('', _text(data['text/plain'])))}</pre>"


def _url_quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _prepare(nb: Any) -> _Context:
    """Rewrite every output of ``nb`` in place; returns what was found."""
    state = nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    ctx = _Context(widget_state=dict(state))
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            new = _rewrite(ctx, out)
            outputs.append(new if new is not None else out)
        cell["outputs"] = outputs
    nb.metadata.pop("widgets", None)
    return ctx


# -- execution and export -------------------------------------------------------------------------------------
def _require_jupyter() -> None:
    """A clear error instead of an ImportError when the notebook extras are missing."""
    import importlib.util

    missing = [m for m in ("nbformat", "nbclient", "nbconvert", "bleach") if importlib.util.find_spec(m) is None]
    if missing:
        raise BenchlabError(
            f"exporting notebooks needs {', '.join(missing)}; install them with `pip install 'benchlab[notebooks]'`"
        )


def _read(path: Path) -> Any:
    _require_jupyter()
    import nbformat

    if not path.is_file():
        raise BenchlabError(f"{path}: no such notebook")
    try:
        return nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchlabError(f"{path}: not a notebook (not valid JSON: {exc})") from None
    except nbformat.reader.NotJSONError as exc:
        raise BenchlabError(f"{path}: not a notebook ({exc})") from None
    except nbformat.ValidationError as exc:
        raise BenchlabError(f"{path}: invalid notebook ({exc.message})") from None


def _execute(nb: Any, path: Path, *, timeout: int, kernel_name: str | None) -> None:
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    try:
        client.execute()
    except NoSuchKernel:
        raise BenchlabError(
            f"{path}: the notebook needs the Jupyter kernel {kernel!r}, which is not installed; "
            "pass --kernel or install it"
        ) from None
    except CellExecutionError as exc:
        cell = next(
            (i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))),
            None,
        )
        where = f"cell {cell + 1}" if cell is not None else "a cell"
        raise BenchlabError(f"{path}: {where} failed while executing the notebook: {exc.ename}: {exc.evalue}") from None
    except CellTimeoutError:
        raise BenchlabError(f"{path}: a cell ran longer than {timeout} s; raise --timeout") from None
    except DeadKernelError as exc:
        raise BenchlabError(f"{path}: the kernel died while executing the notebook ({exc})") from None


def _notes_html(ctx: _Context, removed: list[_assets.RemoteResource], math: bool) -> str:
    notes = []
    if ctx.n_widgets:
        notes.append(
            f"{ctx.n_widgets} interactive widget(s) are shown as static snapshots of their state when the notebook "
            "ran; open the notebook in Jupyter to use them."
        )
    if ctx.n_javascript:
        notes.append(f"{ctx.n_javascript} JavaScript output(s) were left out of this offline export.")
    if removed:
        urls = ", ".join(sorted({r.url for r in removed}))
        notes.append(f"{len(removed)} resource(s) outside this file were removed so the page works offline: {urls}.")
    if math:
        notes.append("Math is shown as LaTeX source: MathJax is not bundled in offline exports.")
    return "".join(f'<p class="benchlab-export-note">{escape(n)}</p>' for n in notes)


_MATH = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\$\$")


def offline_notebook_html(nb: Any, *, show_input: bool = False, title: str | None = None) -> str:
    """Convert an (executed) notebook node to offline HTML.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook; it is modified (outputs rewritten, widget state dropped).
    show_input : bool
        Show code cells' input (hidden by default).
    title : str, optional
        Page title; default the notebook's ``title`` metadata or "notebook".
    """
    _require_jupyter()
    from nbconvert import HTMLExporter

    ctx = _prepare(nb)
    math = any(c.get("cell_type") == "markdown" and _MATH.search(_text(c.get("source", ""))) for c in nb.cells)
    if title:
        nb.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="lab",
        template_file=str(_TEMPLATES / "notebook.html.j2"),
        exclude_input=not show_input,
        exclude_input_prompt=not show_input,
        exclude_output_prompt=not show_input,
        embed_images=True,
    )
    exporter.register_filter("benchlab_clean_markdown", clean_markdown_html)
    bundle = _assets.vega_bundle() if ctx.n_charts else ""
    marker = "<!-- benchlab-export-notes -->"
    resources = {
        "metadata": {"name": title or nb.metadata.get("title") or "notebook"},
        "benchlab": {
            "csp": escape(_assets.csp_policy(None)),
            "version": escape(_version()),
            "notes": marker,
            "n_charts": ctx.n_charts,
            "bundle": bundle,
            "render_js": _assets.RENDER_JS,
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body, removed = _assets.strip_remote_resources(body, relative=True)
    body = body.replace(marker, _notes_html(ctx, removed, math), 1)
    left = _assets.find_remote_resources(body, relative=True)
    if left:  # strip_remote_resources removes every tag it finds; anything left is a bug here
        raise RuntimeError(f"offline export still loads remote resources: {[r.url for r in left]}")
    return body


def _version() -> str:
    from benchlab import __version__

    return __version__


def export_notebook(
    notebook: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    show_input: bool = False,
    execute: bool = True,
    timeout: int = 600,
    kernel_name: str | None = None,
    title: str | None = None,
) -> Path:
    """Execute a notebook and write it as one offline HTML page.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.
    out : path, optional
        Where to write; default the notebook's path with ``.html``.
    show_input : bool
        Show code cells (hidden by default: the page is a report).
    execute : bool
        Run the notebook first (default); ``False`` exports the saved outputs.
    timeout : int
        Seconds one cell may run.
    kernel_name : str, optional
        Kernel to run it with; default the notebook's own kernel, else ``python3``.
    title : str, optional
        Page title.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    BenchlabError
        If the file is not a notebook, its kernel is missing, or a cell fails.
    """
    path = Path(notebook)
    nb = _read(path)
    if execute:
        _execute(nb, path, timeout=timeout, kernel_name=kernel_name)
    html = offline_notebook_html(nb, show_input=show_input, title=title or nb.metadata.get("title") or path.stem)
    dest = Path(out) if out is not None else path.with_suffix(".html")
    if dest.resolve() == path.resolve():
        raise BenchlabError(f"{dest}: refusing to overwrite the notebook itself; pass --out")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(html, encoding="utf-8")
    return dest
