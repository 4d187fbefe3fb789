"""``benchlab lab``: open the curated notebooks in JupyterLab on the demo store.

The README's "main job": one command builds the simulated demo store on first
use, points the kernel at it (``$BENCHLAB_DB``, unless you already set one) and
starts JupyterLab on ``notebooks/01_explore.ipynb``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import click

from benchlab.cli._common import emit_json, json_option
from benchlab.errors import BenchlabError

FIRST_NOTEBOOK = "01_explore.ipynb"


def find_notebooks(explicit: Path | None = None) -> Path:
    """The folder of curated notebooks.

    ``explicit`` if given; else ``./notebooks`` when it holds the first notebook;
    else the ``notebooks/`` folder of the source checkout benchlab runs from.
    """
    candidates = (
        [explicit]
        if explicit is not None
        else [Path.cwd() / "notebooks", Path(__file__).resolve().parents[2] / "notebooks"]
    )
    for c in candidates:
        if c is not None and (c / FIRST_NOTEBOOK).is_file():
            return c.resolve()
    where = ", ".join(str(c) for c in candidates if c is not None)
    raise BenchlabError(
        f"no benchlab notebooks found (looked for {FIRST_NOTEBOOK} in {where}); run from a benchlab checkout "
        "or pass --notebooks DIR"
    )


def lab_command(
    notebooks: Path, *, no_browser: bool = False, port: int | None = None, extra: tuple[str, ...] = ()
) -> list[str]:
    """The ``jupyter lab`` command line: served from the notebooks' parent, opening the first notebook."""
    root = notebooks.parent
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}"]
    if no_browser:
        cmd.append("--no-browser")
    if port is not None:
        cmd.append(f"--port={port}")
    if _running_as_root():
        # JupyterLab refuses root without this flag; root is the norm in containers and CI
        cmd.append("--allow-root")
    cmd += list(extra)
    cmd.append(str((notebooks / FIRST_NOTEBOOK).relative_to(root)))
    return cmd


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@click.command("lab", context_settings={"ignore_unknown_options": True})
@click.option("--no-browser", is_flag=True, help="Do not open a browser (passed to JupyterLab).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port for JupyterLab (passed through).")
@click.option(
    "--notebooks",
    "notebooks_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the curated notebooks (default: ./notebooks or the checkout's notebooks/).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Only build the demo store and check that the notebooks are there; start nothing (for CI).",
)
@json_option
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED)
def lab(
    no_browser: bool, port: int | None, notebooks_dir: Path | None, check: bool, as_json: bool,
    jupyter_args: tuple[str, ...],
) -> None:  # fmt: skip
    """Open the benchlab notebooks in JupyterLab, on the demo store.

    Builds the SIMULATED demo store on first use (a few seconds), sets
    $BENCHLAB_DB for the notebook kernel to it unless $BENCHLAB_DB is already
    set, and starts JupyterLab on notebooks/01_explore.ipynb.  Arguments after
    the options go to JupyterLab unchanged.
    """
    from benchlab import demo

    notebooks = find_notebooks(notebooks_dir)
    if not check and importlib.util.find_spec("jupyterlab") is None:
        raise BenchlabError(
            "JupyterLab is not installed; install the notebook extras: pip install 'benchlab[notebooks]'"
        )
    if not as_json:
        click.echo("preparing the demo store (simulated data; built on first use) …", err=True)
    store, built = demo.ensure_demo()
    env = dict(os.environ)
    kept = bool(env.get("BENCHLAB_DB"))
    if not kept:
        env["BENCHLAB_DB"] = str(store.path)
    cmd = lab_command(notebooks, no_browser=no_browser, port=port, extra=jupyter_args)
    info = {
        "demo_store": str(store.path),
        "demo_built": built,
        "benchlab_db": env["BENCHLAB_DB"],
        "benchlab_db_kept": kept,
        "notebooks": str(notebooks),
        "notebook_files": sorted(p.name for p in notebooks.glob("*.ipynb")),
        "command": cmd,
    }
    if check:
        if as_json:
            emit_json(info)
        else:
            click.echo(f"demo store: {store.path} ({'built' if built else 'up to date'})")
            click.echo(f"BENCHLAB_DB for the kernel: {env['BENCHLAB_DB']}" + (" (already set, kept)" if kept else ""))
            click.echo(f"notebooks: {notebooks} ({len(info['notebook_files'])} notebooks)")
            click.echo("would run: " + " ".join(cmd))
        return
    click.echo(f"starting JupyterLab on {notebooks / FIRST_NOTEBOOK} (BENCHLAB_DB={env['BENCHLAB_DB']})", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(cmd[0], cmd, env)  # replaces this process: Ctrl-C stops JupyterLab directly


COMMANDS = [lab]
