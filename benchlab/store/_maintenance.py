"""Integrity check, statistics, verified backup/restore and compaction."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from benchlab.errors import BenchlabError
from benchlab.store import _schema
from benchlab.store._connection import connect

if TYPE_CHECKING:
    from benchlab.store import Store

# (kind, description, SQL counting the offending rows, SQL showing a few of them)
_CHECKS: list[tuple[str, str, str]] = [
    ("orphan", "results whose run does not exist",
     "SELECT r.run_id AS id FROM results r ANTI JOIN runs ru ON ru.run_id = r.run_id"),
    ("orphan", "runs whose source does not exist",
     "SELECT ru.run_id AS id FROM runs ru ANTI JOIN sources s ON s.source_id = ru.source_id"),
    ("orphan", "results on hardware missing from the catalogue",
     "SELECT DISTINCT r.hardware AS id FROM results r ANTI JOIN hardware h ON h.name = r.hardware "
     "WHERE r.hardware IS NOT NULL"),
    ("duplicate", "the same case and metric twice in one run",
     "SELECT run_id || ':' || series_key AS id FROM results GROUP BY run_id, series_key HAVING count(*) > 1"),
    ("impossible", "values that are negative, NaN or infinite",
     "SELECT run_id::VARCHAR || ':' || series_key AS id FROM results WHERE NOT isfinite(value) OR value < 0"),
    ("impossible", "spread statistics out of order (min > median or median > max)",
     "SELECT run_id::VARCHAR || ':' || series_key AS id FROM results WHERE min > median OR median > max"),
    ("impossible", "non-positive batch size",
     "SELECT run_id::VARCHAR || ':' || series_key AS id FROM results WHERE batch_size <= 0"),
    ("impossible", "runs that end before they start",
     "SELECT run_id::VARCHAR AS id FROM runs WHERE ended_at < started_at"),
    ("impossible", "direction other than lower/higher",
     "SELECT run_id::VARCHAR AS id FROM results WHERE direction NOT IN ('lower', 'higher')"),
    ("mismatch", "source result counts that differ from the rows present",
     "SELECT s.path AS id FROM sources s LEFT JOIN (SELECT ru.source_id, count(r.run_id) AS n FROM runs ru "
     "LEFT JOIN results r ON r.run_id = ru.run_id GROUP BY ru.source_id) c ON c.source_id = s.source_id "
     "WHERE coalesce(c.n, 0) <> s.n_results"),
]  # fmt: skip


def check(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    rows = []
    for kind, what, q in _CHECKS:
        n, examples = con.execute(f"SELECT count(*), list(id ORDER BY id)[1:5] FROM ({q})").fetchone()  # type: ignore[misc]
        if n:
            rows.append({"kind": kind, "problem": what, "count": n, "examples": [str(e) for e in examples]})
    return pl.DataFrame(
        rows, schema={"kind": pl.Utf8, "problem": pl.Utf8, "count": pl.Int64, "examples": pl.List(pl.Utf8)}
    )


def stats(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Any]:
    one = lambda q: con.execute(q).fetchone()[0]  # noqa: E731
    by_prov = dict(con.execute("SELECT provenance, count(*) FROM runs GROUP BY ALL ORDER BY 1").fetchall())
    by_format = dict(con.execute("SELECT format, count(*) FROM sources GROUP BY ALL ORDER BY 1").fetchall())
    first, last = con.execute("SELECT min(started_at), max(started_at) FROM runs").fetchone()  # type: ignore[misc]
    return {
        "path": str(path),
        "schema_version": _schema.current_version(con, path),
        "size_bytes": path.stat().st_size if path.exists() else 0,
        "sources": one("SELECT count(*) FROM sources"),
        "runs": one("SELECT count(*) FROM runs"),
        "results": one("SELECT count(*) FROM results"),
        "series": one("SELECT count(DISTINCT series_key) FROM results"),
        "models": one("SELECT count(*) FROM models"),
        "hardware": one("SELECT count(*) FROM hardware"),
        "compatibility_records": one("SELECT count(*) FROM compatibility"),
        "integration_tests": one("SELECT count(*) FROM integration_tests"),
        "runs_by_provenance": by_prov,
        "sources_by_format": by_format,
        "first_run": None if first is None else first.isoformat(),
        "last_run": None if last is None else last.isoformat(),
    }


def fingerprint(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every table's rows."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]  # fmt: skip
    out = {}
    for t in tables:
        # Table names come from the catalogue, not from a user.
        n, h = con.execute(f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{t}" t').fetchone()  # type: ignore[misc]
        out[t] = (int(n), int(h))
    return out


def _verify(a: Path, b: Path) -> None:
    with connect(a, read_only=True) as ca, connect(b, read_only=True) as cb:
        fa, fb = fingerprint(ca), fingerprint(cb)
    if fa != fb:
        diff = sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))
        raise BenchlabError(f"verification failed: {a} and {b} differ in table(s) {', '.join(diff)}")


def _copy_database(src: Path, dest: Path) -> None:
    """Write a consistent copy of ``src`` to ``dest`` while holding the write lock."""
    with connect(src, read_only=False) as con:
        con.execute("CHECKPOINT")
        shutil.copyfile(src, dest)


def backup(store: Store, dest: Path) -> Path:
    if dest.is_dir():
        dest = dest / store.path.name
    if dest.resolve() == store.path.resolve():
        raise BenchlabError("the backup destination is the store itself")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    _copy_database(store.path, tmp)
    _verify(store.path, tmp)
    os.replace(tmp, dest)
    return dest


def restore(store: Store, source: Path) -> None:
    if not source.exists():
        raise BenchlabError(f"no backup at {source}")
    with connect(source, read_only=True) as con:
        version = _schema.current_version(con, source)
    if version == 0:
        raise BenchlabError(f"{source} is not a benchlab store")
    _schema.check_supported(version, source)
    tmp = store.path.with_name(store.path.name + ".restoring")
    shutil.copyfile(source, tmp)
    _verify(source, tmp)
    # Hold the write lock on the live file while swapping so no writer is mid-transaction.
    with connect(store.path, read_only=False):
        os.replace(tmp, store.path)
    wal = store.path.with_name(store.path.name + ".wal")
    if wal.exists():
        wal.unlink()
    store._ensure_schema()


def optimize(store: Store) -> dict[str, int]:
    before = store.path.stat().st_size
    fd, name = tempfile.mkstemp(suffix=".duckdb", dir=store.path.parent)
    os.close(fd)
    os.unlink(name)
    tmp = Path(name)
    try:
        with connect(store.path, read_only=False) as con:
            con.execute("CHECKPOINT")
            # The path is a temp file we created; ATTACH takes no parameters.
            con.execute(f"ATTACH '{tmp}' AS compact")
            name = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
            con.execute(f'COPY FROM DATABASE "{name}" TO compact')
            con.execute("DETACH compact")
            _verify_open(con, tmp)
            os.replace(tmp, store.path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"before_bytes": before, "after_bytes": store.path.stat().st_size}


def _verify_open(con: duckdb.DuckDBPyConnection, other: Path) -> None:
    mine = fingerprint(con)
    with duckdb.connect(str(other), read_only=True) as c2:
        theirs = fingerprint(c2)
    if mine != theirs:
        raise BenchlabError("optimize: the compacted copy does not match the store; nothing was changed")
