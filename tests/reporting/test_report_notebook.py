"""``benchlab export-notebook``: execution, chart and widget rewriting, offline guarantees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from benchlab.cli import main
from benchlab.errors import BenchlabError
from benchlab.reporting import _assets, export_notebook
from benchlab.reporting._notebook import altair_html_spec, clean_markdown_html, offline_notebook_html

HOSTILE = "</script><script>window.__xss=1</script>"

CELLS = [
    (
        "markdown",
        "# Results <script>window.__xss=2</script>\n\n![remote](https://example.com/badge.png) "
        "[ok](https://example.com) [bad](javascript:window.__xss=3) $x^2$",
    ),
    (
        "code",
        "import altair as alt\nimport polars as pl\n"
        f"df = pl.DataFrame({{'model': [{HOSTILE!r}, 'b'], 'ms': [1.0, 2.0]}})\n"
        "alt.Chart(df).mark_bar().encode(x='model:N', y='ms:Q')  # Altair's default HTML renderer",
    ),
    # the registered Vega-Lite mimetype (JupyterLab, Altair 5's "mimetype" renderer)
    (
        "code",
        "display({'application/vnd.vegalite.v5+json': alt.Chart(df).mark_point().encode(x='ms:Q', y='model:N')"
        ".to_dict(), 'text/plain': 'chart'}, raw=True)",
    ),
    (
        "code",
        "import ipywidgets as w\nout = w.Output()\nwith out:\n    display(alt.Chart(df).mark_line().encode(x='ms:Q', y='ms:Q'))\n"
        "w.VBox([w.IntSlider(value=7, min=1, max=9, description='batch'), "
        "w.Dropdown(options=['fp16', 'int8'], value='int8', description='precision'), out])",
    ),
    (
        "code",
        "from IPython.display import HTML, Javascript, display\n"
        "display(HTML('<script src=\"https://cdn.example.com/lib.js\"></script><p>remote script removed</p>'))\n"
        "display(Javascript('window.__js_ran = 1'))\nprint('SECRET_INPUT_MARKER' if False else 'printed')",
    ),
]


def _notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(src) if kind == "markdown" else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    return nb


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("nb")
    path = folder / "demo.ipynb"
    nbformat.write(_notebook(CELLS), path)
    out = export_notebook(path, timeout=120)
    assert out == folder / "demo.html"
    return out.read_text(encoding="utf-8")


def _specs(html: str) -> list[str]:
    return re.findall(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', html, re.S)


def test_charts_from_html_mimetype_and_output_widgets_share_one_bundle(exported: str) -> None:
    specs = _specs(exported)
    assert len(specs) == 3  # HTML renderer, mimetype renderer, chart inside an Output widget
    for s in specs:
        assert "<" not in s
        assert "vega-lite" in json.loads(s)["$schema"]
    assert any(HOSTILE in str(v) for s in specs for v in json.loads(s)["datasets"].values())
    assert exported.count("window.vegaEmbed=") == 1
    assert "cdn.jsdelivr.net" not in exported and "require.min.js" not in exported


def test_nothing_remote_is_left_and_the_removal_is_reported(exported: str) -> None:
    assert _assets.find_remote_resources(exported) == []
    assert "cdn.example.com" in exported  # named in the note, not loaded
    note = re.search(r'<p class="benchlab-export-note">([^<]*outside this file[^<]*)</p>', exported)
    assert (
        note and "https://cdn.example.com/lib.js" in note.group(1) and "https://example.com/badge.png" in note.group(1)
    )
    assert "JavaScript output(s) were left out" in exported
    assert "window.__js_ran" not in exported


def test_inputs_are_hidden_by_default(exported: str) -> None:
    assert "SECRET_INPUT_MARKER" not in exported
    assert "printed" in exported


def test_widgets_become_labelled_static_snapshots(exported: str) -> None:
    assert "<b>batch</b>: 7 (range 1 … 9)" in exported
    assert "<b>precision</b>: int8" in exported
    assert "Static snapshot of an interactive widget" in exported
    assert "interactive widget(s) are shown as static snapshots" in exported


def test_markdown_is_sanitized(exported: str) -> None:
    assert "window.__xss=2" in exported  # shown as text ...
    assert re.search(r"<script[^>]*>[^<]*window\.__xss=2", exported) is None  # ... never as a script
    assert "&lt;script" in exported
    assert 'href="https://example.com"' in exported
    assert "javascript:" not in exported
    assert "Math is shown as LaTeX source" in exported


def test_show_input_and_saved_outputs_without_execution(tmp_path: Path) -> None:
    nb = _notebook([("code", "print('visible code')")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="saved output\n")]
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    code = main(
        ["export-notebook", str(path), "--no-execute", "--show-input", "--out", str(tmp_path / "o.html"), "--json"]
    )
    assert code == 0
    html = (tmp_path / "o.html").read_text(encoding="utf-8")
    assert "visible" in html and "saved output" in html
    assert "<script>" not in html  # no charts: no JavaScript at all
    assert "default-src 'none'" in html


def test_vegalite_v5_output_is_drawn_and_altair_html_is_parsed() -> None:
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "mark": "point",
        "data": {"values": [{"a": HOSTILE}]},
    }
    nb = _notebook([("code", "x")])
    nb.cells[0].outputs = [
        nbformat.v4.new_output("display_data", data={"application/vnd.vegalite.v5+json": spec, "text/plain": "chart"})
    ]
    html = offline_notebook_html(nb)
    assert [json.loads(s) for s in _specs(html)] == [spec]
    altair_html = '<div id="altair-viz-1"></div><script>(function(spec, embedOpt){ x })({"a": [1, {"b": "})("}]}, {"mode": "vega-lite"});</script>'
    assert altair_html_spec(altair_html) == {"a": [1, {"b": "})("}]}
    assert altair_html_spec("<p>not altair</p>") is None


def test_clean_markdown_html_keeps_structure_and_drops_active_content() -> None:
    html = (
        '<h2 id="t">T</h2><p onclick="x()">a <a href="javascript:alert(1)">j</a> <a href="#s">s</a></p>'
        '<img src="data:image/png;base64,AA" alt="z"><img src="data:text/html;base64,AA"><table><tr><td>1</td></tr></table>'
    )
    out = clean_markdown_html(html)
    assert '<h2 id="t">T</h2>' in out and '<a href="#s">s</a>' in out and "<td>1</td>" in out
    assert 'src="data:image/png;base64,AA"' in out
    assert "onclick" not in out and "javascript:" not in out and "data:text/html" not in out


def test_errors_name_the_notebook_and_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(BenchlabError, match="bad.ipynb: not a notebook"):
        export_notebook(bad)
    assert main(["export-notebook", str(tmp_path / "nope.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    failing = tmp_path / "failing.ipynb"
    nbformat.write(_notebook([("code", "x = 1"), ("code", "raise ValueError('boom <b>')")]), failing)
    with pytest.raises(BenchlabError, match=r"failing.ipynb: cell 2 failed .*ValueError: boom <b>"):
        export_notebook(failing, timeout=60)
    assert not (tmp_path / "failing.html").exists()
