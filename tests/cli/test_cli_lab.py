"""``benchlab lab``: builds the demo store, sets BENCHLAB_DB for the kernel, starts JupyterLab."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from benchlab.cli import main
from benchlab.cli.lab import FIRST_NOTEBOOK, find_notebooks, lab_command

ROOT = Path(__file__).resolve().parents[2]


def test_check_builds_the_demo_and_points_the_kernel_at_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    demo = tmp_path / "demo.duckdb"
    monkeypatch.setenv("BENCHLAB_DEMO_DB", str(demo))
    monkeypatch.delenv("BENCHLAB_DB", raising=False)
    monkeypatch.chdir(ROOT)
    assert main(["lab", "--check", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert demo.is_file() and info["demo_built"] is True
    assert info["benchlab_db"] == str(demo) and info["benchlab_db_kept"] is False
    assert Path(info["notebooks"]) == ROOT / "notebooks"
    assert FIRST_NOTEBOOK in info["notebook_files"]
    assert info["command"][-1] == f"notebooks/{FIRST_NOTEBOOK}"
    # a second run reuses the store, and a BENCHLAB_DB the user set wins
    monkeypatch.setenv("BENCHLAB_DB", str(tmp_path / "mine.duckdb"))
    assert main(["lab", "--check", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["demo_built"] is False
    assert info["benchlab_db"] == str(tmp_path / "mine.duckdb") and info["benchlab_db_kept"] is True


def test_jupyter_command_passes_options_through() -> None:
    nbs = find_notebooks(ROOT / "notebooks")
    cmd = lab_command(nbs, no_browser=True, port=8899, extra=("--ServerApp.token=x",))
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={ROOT}" in cmd
    assert "--no-browser" in cmd and "--port=8899" in cmd and "--ServerApp.token=x" in cmd
    assert cmd[-1] == f"notebooks/{FIRST_NOTEBOOK}"
    assert "--no-browser" not in lab_command(nbs)
    assert ("--allow-root" in cmd) == (os.geteuid() == 0)  # JupyterLab refuses root without it


def test_missing_notebooks_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--check", "--notebooks", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no benchlab notebooks found") and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_lab_starts_jupyterlab_serving_the_notebooks_on_the_demo_store(tmp_path: Path) -> None:
    """The README's main job for real: a JupyterLab server that serves notebook 01, kernel env on the demo."""
    pytest.importorskip("jupyterlab")
    exe = Path(sys.executable).parent / "benchlab"
    if not exe.is_file():
        pytest.skip(f"the benchlab console script is not installed next to {sys.executable}")
    port, token = _free_port(), "benchlab-test-token"
    env = {k: v for k, v in os.environ.items() if k != "BENCHLAB_DB"}
    env.update(BENCHLAB_DEMO_DB=str(tmp_path / "demo.duckdb"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.Popen(
        [str(exe), "lab", "--no-browser", "--port", str(port), f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/contents/notebooks/{FIRST_NOTEBOOK}?content=0"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline, model = time.monotonic() + 90, None
        while model is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "benchlab lab exited"
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    model = json.loads(resp.read())
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert model is not None, "JupyterLab did not answer within 90 s"
        assert model["type"] == "notebook" and model["path"] == f"notebooks/{FIRST_NOTEBOOK}"
        assert (tmp_path / "demo.duckdb").is_file(), "the demo store was not built before JupyterLab started"
        environ = Path(f"/proc/{proc.pid}/environ")
        if environ.exists():  # the server replaced benchlab's process: kernels inherit this environment
            pairs = dict(e.split("=", 1) for e in environ.read_bytes().decode().split("\0") if "=" in e)
            assert pairs["BENCHLAB_DB"] == str(tmp_path / "demo.duckdb")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
