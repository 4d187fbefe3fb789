"""The store report: content, escaping, offline guarantees, the report window and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import benchlab
from benchlab.cli import main
from benchlab.errors import BenchlabError
from benchlab.reporting import _assets, build_report, report, resolve_since
from benchlab.reporting._build import _optional, safe_url

sys.path.insert(0, str(Path(__file__).parent))
import _report_data as data


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> benchlab.Store:
    s = data.build_store(tmp_path_factory.mktemp("report") / "hostile.duckdb")
    data.triage_first_change(s)
    return s


@pytest.fixture(scope="module")
def page(store: benchlab.Store) -> str:
    html = build_report(store, title="Nightly <b>& friends</b>")
    assert isinstance(html, str)
    return html


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, d: str) -> None:
        if self._in_script is not None:
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + d)
        else:
            self.text.append(d)


def _strings(obj: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    return p


def test_report_has_every_section_and_the_regression(page: str) -> None:
    for key in ("summary", "regressions", "hardware", "compatibility", "predictions", "runs"):
        assert f'<section id="{key}">' in page
    # the 40 % step of the hostile model on cpu-x is reported, with its commit range and triage status
    assert "major" in page and "regression" in page
    assert f"{data.commit(data.STEP_AT - 1)[:12]} … {data.commit(data.STEP_AT)[:12]}" in page
    assert "acknowledged" in page
    assert "Everything in this section is PREDICTED" in page
    # predictions of measured cases are charted against them, even though the predicted run is newer
    predictions = page.split('<section id="predictions">')[1].split("</section>")[0]
    assert 'data-benchlab-chart="' in predictions
    assert "2 predicted case(s) with nothing measured to compare with" in predictions
    assert "tpu-next" in predictions and "0.6 … 1.3 (90%)" in predictions
    assert "predictions stored by benchlab.predict" in predictions
    # the stored prediction of a measured case is in the chart, traceable to the model that made it
    specs = [json.loads(body) for a, body in _parse(predictions).scripts if a.get("type") == "application/json"]
    assert any(f"{data.HOSTILE_PREDICTOR} 1.0 · training abc123de" in v for spec in specs for v in _strings(spec))
    assert page.count('<span class="badge simulated">simulated</span>') >= 2


def test_javascript_is_inlined_once_and_every_chart_has_a_spec(page: str) -> None:
    tags = _parse(page)
    code = [body for attrs, body in tags.scripts if "type" not in attrs]
    specs = [(attrs, body) for attrs, body in tags.scripts if attrs.get("type") == "application/json"]
    assert len(code) == 2  # the Vega bundle and the chart loader, nothing else
    assert page.count("window.vegaEmbed=") == 1
    assert len(specs) >= 5
    ids = {attrs["data-benchlab-chart"] for attrs, _ in specs}
    assert len(ids) == len(specs)
    divs = {a.get("id") for t, a in tags.tags if t == "div"}
    assert ids <= divs
    for _, body in specs:
        spec = json.loads(body)
        assert "vega-lite" in spec["$schema"]


def test_no_remote_script_style_or_image(page: str) -> None:
    assert _assets.find_remote_resources(page) == []
    for tag, attrs in _parse(page).tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            if tag in ("script", "link", "img", "iframe"):
                assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, value)
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_csp_forbids_network_and_allows_only_the_pages_scripts(page: str) -> None:
    tags = _parse(page)
    csp = next(a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    for attrs, body in tags.scripts:
        if "type" not in attrs:
            assert _assets.script_hash(body) in csp


def test_hostile_strings_are_text_not_markup(page: str) -> None:
    tags = _parse(page)
    # nothing an attacker wrote became a tag or an attribute
    assert not any(t == "img" for t, _ in tags.tags)
    assert not any(t == "svg" for t, _ in tags.tags)
    assert not any(k.startswith("on") for _, a in tags.tags for k in a)
    assert "window.__xss" not in "".join(body for a, body in tags.scripts if "type" not in a)
    # ... but it is all there, as text
    text = "".join(tags.text)
    assert data.HOSTILE_MODEL in text
    assert data.HOSTILE_HW in text
    assert data.HOSTILE_MESSAGE in text
    assert data.HOSTILE_NOTE in text
    assert data.HOSTILE_PREDICTOR in text
    assert "Nightly <b>& friends</b>" in text
    # and in the chart data, where </script> cannot close the element
    specs = [json.loads(body) for a, body in tags.scripts if a.get("type") == "application/json"]
    assert any(data.HOSTILE_MODEL in v for s in specs for v in _strings(s))
    for a, body in tags.scripts:
        if a.get("type") == "application/json":
            assert "<" not in body and ">" not in body


def test_only_http_links_become_links(page: str) -> None:
    hrefs = [a.get("href") for t, a in _parse(page).tags if t == "a"]
    assert data.GOOD_LINK in hrefs
    assert "https://issues.example.com/1" in hrefs
    assert not any(h and h.lower().startswith("javascript:") for h in hrefs)
    assert all(h.startswith(("#", "https://", "http://")) for h in hrefs if h)
    assert "javascript:window.__xss=6" in "".join(_parse(page).text)  # shown, not linked


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/x", True),
        ("HTTP://EXAMPLE.COM", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//example.com", False),
        ("https://exa\nmple.com", False),
        ("https:/example.com", False),
        (None, False),
    ],
)
def test_safe_url(url: object, ok: bool) -> None:
    assert (safe_url(url) is not None) is ok


@given(st.text())
def test_script_json_never_closes_a_script_and_round_trips(text: str) -> None:
    out = _assets.script_json({"name": text, "list": [text, "</script>"]})
    assert "<" not in out and ">" not in out and "&" not in out
    assert "\u2028" not in out and "\u2029" not in out
    assert json.loads(out) == {"name": text, "list": [text, "</script>"]}


def test_strip_remote_resources_removes_tags_and_keeps_the_rest() -> None:
    html = (
        '<p>a</p><script src="https://cdn.example.com/x.js"></script><script>var keep = 1;</script>'
        '<link rel="stylesheet" href="//fonts.example.com/f.css"><link rel="canonical" href="https://example.com/">'
        '<img src="data:image/png;base64,AA"><img alt="x" src="http://example.com/i.png"><a href="https://e.com">e</a>'
    )
    found = _assets.find_remote_resources(html)
    assert [(r.tag, r.url) for r in found] == [
        ("script", "https://cdn.example.com/x.js"),
        ("link", "//fonts.example.com/f.css"),
        ("img", "http://example.com/i.png"),
    ]
    cleaned, removed = _assets.strip_remote_resources(html)
    assert len(removed) == 3
    assert _assets.find_remote_resources(cleaned) == []
    assert "var keep = 1;" in cleaned and 'href="https://e.com"' in cleaned and "data:image/png" in cleaned
    assert "cdn.example.com" not in cleaned
    local = '<img src="plot.png"><img src="#frag"><img src="data:image/png;base64,AA"><script src="app.js"></script>'
    assert _assets.find_remote_resources(local) == []
    assert [r.url for r in _assets.find_remote_resources(local, relative=True)] == ["plot.png", "app.js"]


def test_resolve_since_accepts_dates_spans_and_commits(store: benchlab.Store) -> None:
    newest = data.START + dt.timedelta(days=data.N_RUNS - 1)
    w = resolve_since(store)
    assert w.since == newest - dt.timedelta(days=30) and w.inclusive
    assert resolve_since(store, "2w").since == newest - dt.timedelta(days=14)
    assert resolve_since(store, "2025-01-05").since == dt.datetime(2025, 1, 5, tzinfo=dt.UTC)
    assert resolve_since(store, dt.date(2025, 1, 5)).since == dt.datetime(2025, 1, 5, tzinfo=dt.UTC)
    w = resolve_since(store, data.commit(12)[:8])
    assert w.since == data.START + dt.timedelta(days=12) and not w.inclusive
    assert data.commit(12) in w.label


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("deadbeef", "neither a date"),
        ("2025-13-45", "looks like a date"),
        ("00", "matches"),  # prefix of many commits
        ("  ", "empty"),
    ],
)
def test_resolve_since_rejects_what_it_cannot_place(store: benchlab.Store, since: str, message: str) -> None:
    with pytest.raises(BenchlabError, match=message):
        resolve_since(store, since)


def test_since_a_commit_after_the_step_leaves_the_regression_out(store: benchlab.Store) -> None:
    before = build_report(store, since=data.commit(data.STEP_AT - 1))
    after = build_report(store, since=data.commit(data.STEP_AT))
    assert isinstance(before, str) and isinstance(after, str)
    assert "No regression or improvement was detected in the window." not in before
    assert "No regression or improvement was detected in the window." in after


def test_empty_store_builds_a_page_without_charts(tmp_path: Path) -> None:
    out = report(benchlab.open(tmp_path / "empty.duckdb"), out=tmp_path / "sub" / "r.html")
    assert out == tmp_path / "sub" / "r.html"
    html = out.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "The store holds no runs." in html
    assert "vegaEmbed" not in html and "<script" not in html
    assert len(html) < 50_000


def test_optional_module_missing_is_a_note_but_a_broken_module_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(_optional("benchlab.no_such_module", "x"), str)
    assert _optional("benchlab.regress", "no_such_function") == "benchlab.regress has no no_such_function"
    pkg = tmp_path / "brokenpkg_report"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import benchlab_dependency_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="benchlab_dependency_that_is_missing"):
        _optional("brokenpkg_report", "anything")


def test_cli_report_writes_the_file_and_reports_json(store: benchlab.Store, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.html"
    code = main(["report", "--store", str(store.path), "--out", str(out), "--since", "2025-01-20", "--json"])
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    assert info["path"] == str(out) and out.is_file()
    assert info["bytes"] == out.stat().st_size
    assert info["charts"] >= 5 and info["since"].startswith("2025-01-20")


def test_cli_report_user_mistakes_are_one_line(store: benchlab.Store, tmp_path: Path, capsys) -> None:
    assert main(["report", "--store", str(store.path), "--since", "not-a-rev", "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not-a-rev" in err
    assert not (tmp_path / "x.html").exists()
    assert main(["report", "--store", str(tmp_path / "missing.duckdb"), "--out", str(tmp_path / "y.html")]) == 2
    assert "no store" in capsys.readouterr().err
    assert not (tmp_path / "missing.duckdb").exists()


def test_a_chart_the_data_cannot_fill_becomes_a_visible_note() -> None:
    import polars as pl

    from benchlab import charts as bc
    from benchlab.reporting._build import ChartBlock, NoteBlock, _Charts

    made = _Charts()
    # comparison() refuses a frame that does not say what kind of numbers it compares
    note = made.make(lambda: bc.comparison(pl.DataFrame({"ratio": [1.2]})))
    assert isinstance(note, NoteBlock) and note.text.startswith("Chart left out: comparison()")
    ok = made.make(lambda: bc.comparison(pl.DataFrame({"ratio": [1.2]}), provenance="measured"))
    assert isinstance(ok, ChartBlock) and ok.id == "chart-1"
    with pytest.raises(ZeroDivisionError):  # anything else is a bug and is not hidden
        made.make(lambda: 1 / 0)
