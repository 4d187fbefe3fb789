"""The committed notebooks are clean, parameterised, short, and what notebooks/_build.py generates.

Running them is nbval's job (``pytest --nbval-lax … notebooks/``); this checks the files.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ["01_explore", "02_regressions", "03_prediction", "04_validation", "05_report"]
MARK = "# NBVAL_CHECK_OUTPUT"
MAX_CODE_CELLS = 15


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_nb_build", NOTEBOOKS / "_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_the_five_notebooks_are_there_and_nothing_else() -> None:
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == EXPECTED
    assert not list(NOTEBOOKS.rglob(".ipynb_checkpoints/*.ipynb"))


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_clean(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert set(nb.metadata) <= {"kernelspec", "language_info"}, "personal or tool metadata in the notebook"
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    n_code = 0
    for cell in nb.cells:
        assert set(cell.metadata) <= {"tags"}, f"{name}: cell metadata {dict(cell.metadata)}"
        if cell.cell_type != "code":
            continue
        n_code += 1
        marked = cell.source.lstrip().startswith(MARK)
        if not marked:
            assert cell.execution_count is None, f"{name}: stale execution count"
            assert cell.outputs == [], f"{name}: outputs stored on an unchecked cell:\n{cell.source[:80]}"
            continue
        # nbval compares only cells that ran: a checked cell carries the count of a top-to-bottom run
        assert cell.execution_count == n_code, f"{name}: execution count {cell.execution_count}, expected {n_code}"
        assert cell.outputs, f"{name}: a {MARK} cell without its expected output"
        for out in cell.outputs:
            assert out.output_type in ("stream", "execute_result")
            assert out.get("execution_count") in (None, n_code)
            if out.output_type == "stream":
                assert out.name == "stdout", f"{name}: stderr stored as expected output"
            for mime in out.get("data", {}):
                assert mime in ("text/plain",), f"{name}: {mime} output in a checked cell (not deterministic)"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_has_title_and_parameters_cell_first(name: str) -> None:
    nb = _read(name)
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert second.cell_type == "code" and second.metadata.get("tags") == ["parameters"]
    assert re.match(r"^STORE = None\s+# ", second.source)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_is_a_short_narrative(name: str) -> None:
    nb = _read(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert 3 <= len(code) <= MAX_CODE_CELLS
    assert len(markdown) >= len(code) // 2, "more code than story"
    assert max(len(c.source.splitlines()) for c in code) <= 15, "a code cell is too long to read"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_links_resolve(name: str) -> None:
    text = "\n".join(c.source for c in _read(name).cells if c.cell_type == "markdown")
    for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", text):
        assert (NOTEBOOKS / target).is_file(), target


def test_notebooks_are_what_the_builder_writes() -> None:
    builder = _load_builder()
    assert list(builder.NOTEBOOKS) == EXPECTED
    for name in EXPECTED:
        built, committed = builder.build(name), _read(name)
        assert [(c.cell_type, c.source) for c in built.cells] == [(c.cell_type, c.source) for c in committed.cells], (
            f"{name}.ipynb differs from notebooks/_build.py; run python notebooks/_build.py --outputs"
        )


def test_sanitize_file_parses() -> None:
    text = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    sections = re.findall(r"^\[(.+)\]\nregex: (.+)\nreplace: (.+)$", text, flags=re.M)
    assert len(sections) >= 3
    for _, regex, _ in sections:
        re.compile(regex)
    durations = next(r for n, r, _ in sections if n == "durations")
    assert (
        re.sub(durations, "<D>", "built in 4.5 s, 120 ms; 28 models, 3 series")
        == "built in <D>, <D>; 28 models, 3 series"
    )
