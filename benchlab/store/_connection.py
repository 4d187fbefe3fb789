"""Short-lived DuckDB connections with a bounded wait on lock conflicts.

DuckDB lets one process at a time open a file for writing, and a writer
excludes readers in other processes.  benchlab therefore never keeps a
connection open between calls: each operation connects, works and closes, so a
notebook kernel holding a ``Store`` does not block ``benchlab ingest`` in a
shell, nor the reverse.  When the file is busy we retry with backoff for
``BENCHLAB_LOCK_TIMEOUT`` seconds (default 30), then raise
:class:`~benchlab.errors.StoreLockedError` naming the process that holds it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from benchlab.errors import StoreLockedError

_PID = re.compile(r"PID (\d+)")


def lock_timeout() -> float:
    try:
        return float(os.environ.get("BENCHLAB_LOCK_TIMEOUT", "30"))
    except ValueError:
        return 30.0


def _holder(message: str) -> str:
    m = _PID.search(message)
    if not m:
        return "another process"
    pid = int(m.group(1))
    try:
        cmd = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split())
    except OSError:
        cmd = ""
    return f"process {pid}" + (f" ({cmd[:120]})" if cmd else "")


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc)
    return "lock" in text.lower() and ("Conflicting" in text or "Could not set lock" in text)


@contextmanager
def connect(path: Path, *, read_only: bool, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path``, retrying while another process holds it; always closes."""
    deadline = time.monotonic() + (lock_timeout() if timeout is None else timeout)
    delay = 0.01
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreLockedError(
                    f"the store {path} is in use by {_holder(str(exc))} and stayed locked for "
                    f"{lock_timeout() if timeout is None else timeout:g} s; wait for it to finish "
                    "(or close the notebook kernel holding it) and try again"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    try:
        yield con
    finally:
        con.close()


def fetch(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> pl.DataFrame:
    """Run ``query`` with ``params`` and return the result as a Polars frame."""
    rel = con.sql(query, params=params)
    return rel.pl() if rel is not None else pl.DataFrame()
