"""The Binder configuration installs benchlab from this checkout and is self-consistent."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
BADGE = re.compile(r"https://mybinder\.org/v2/gh/([^/\s]+)/([^/\s]+)/([^?\s)]+)\?urlpath=([^\s)]+)")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_postbuild_installs_benchlab_from_the_checkout() -> None:
    post = BINDER / "postBuild"
    text = post.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in text
    assert re.search(r"pip install [^\n]*[\"']?\.\[notebooks\][\"']?", text), "postBuild must pip install .[notebooks]"
    assert "benchlab lab --check" in text  # builds the demo store into the image


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_scripts_are_executable_bash(script: str) -> None:
    path = BINDER / script
    mode = path.stat().st_mode
    assert mode & stat.S_IXUSR and mode & stat.S_IXOTH, f"binder/{script} must be executable (git keeps the bit)"
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to syntax-check with")
    subprocess.run([bash, "-n", str(path)], check=True)


def test_start_keeps_the_command_and_a_user_set_store() -> None:
    text = (BINDER / "start").read_text()
    assert text.rstrip().endswith('exec "$@"')
    assert 'if [ -z "${BENCHLAB_DB:-}" ]' in text


def test_start_sets_benchlab_db_to_the_demo_store(tmp_path: Path) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    env = {k: v for k, v in os.environ.items() if k != "BENCHLAB_DB"}
    # Binder's `python` is the one benchlab is installed into: this interpreter here.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["BENCHLAB_DEMO_DB"] = str(tmp_path / "demo.duckdb")
    out = subprocess.run([bash, str(BINDER / "start"), "sh", "-c", 'echo "$BENCHLAB_DB"'], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert out == str(tmp_path / "demo.duckdb")
    env["BENCHLAB_DB"] = "/data/mine.duckdb"
    out = subprocess.run([bash, str(BINDER / "start"), "sh", "-c", 'echo "$BENCHLAB_DB"'], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert out == "/data/mine.duckdb"


def test_requirements_match_pyproject() -> None:
    project = _pyproject()["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["notebooks"]}
    lines = [
        ln for ln in (BINDER / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    listed = {_name(ln) for ln in lines}
    assert listed == wanted, (
        f"binder/requirements.txt: missing {sorted(wanted - listed)}, extra {sorted(listed - wanted)}"
    )
    assert not any(ln.strip().startswith(("-e", ".")) for ln in lines), "benchlab itself is installed by postBuild"


def test_runtime_satisfies_requires_python() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert m, runtime
    floor = re.search(r">=\s*3\.(\d+)", _pyproject()["project"]["requires-python"])
    assert floor and int(m.group(1)) >= int(floor.group(1))


def test_demo_data_ships_with_the_package() -> None:
    # postBuild installs a wheel, not an editable checkout: the demo spec must be inside it
    force = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"].get("force-include", {})
    assert force.get("data") == "benchlab/_demo_data"
    assert (ROOT / "data" / "suite.json").is_file()


@pytest.mark.parametrize("doc", ["notebooks/README.md", "README.md"])
def test_launch_badges_open_an_existing_notebook(doc: str) -> None:
    path = ROOT / doc
    if not path.is_file():
        pytest.skip(f"{doc} not present")
    badges = BADGE.findall(path.read_text())
    if doc == "notebooks/README.md":
        assert badges, "notebooks/README.md carries the launch badge"
    for _owner, _repo, branch, urlpath in badges:
        assert branch == "main"
        target = urlpath.removeprefix("lab/tree/")
        assert urlpath.startswith("lab/tree/") and (ROOT / target).is_file(), urlpath


def test_badge_url_is_well_formed() -> None:
    url = BADGE.search((ROOT / "notebooks" / "README.md").read_text())
    assert url is not None
    parts = urlsplit(url.group(0))
    assert parts.path == "/v2/gh/benchlab/benchlab/main"
    assert parse_qs(parts.query)["urlpath"] == ["lab/tree/notebooks/01_explore.ipynb"]
