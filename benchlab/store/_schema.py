"""Schema versions and forward migrations.

Migrations are the numbered files ``migrations/NNN_name.sql``.  A store records
its version in ``benchlab_schema``; opening an older store applies the missing
migrations in one transaction, and a store from a newer benchlab is refused.
"""

from __future__ import annotations

from importlib import resources

import duckdb

from benchlab.errors import SchemaVersionError


def migrations() -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for every migration shipped, in order."""
    found = []
    for entry in resources.files("benchlab.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append((int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return migrations()[-1][0]


def current_version(con: duckdb.DuckDBPyConnection, path: object) -> int:
    """The store's schema version; 0 for an empty database file."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "benchlab_schema" not in tables:
        if tables:
            raise SchemaVersionError(
                f"{path} is a DuckDB file but not a benchlab store (tables: {', '.join(sorted(tables)[:6])}); "
                "to import a legacy ipfs_accelerate database use `benchlab ingest` on it"
            )
        return 0
    row = con.execute("SELECT max(version) FROM benchlab_schema").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def check_supported(version: int, path: object) -> None:
    if version > latest_version():
        raise SchemaVersionError(
            f"{path} has schema version {version}, but this benchlab knows versions up to "
            f"{latest_version()}; upgrade benchlab to open it"
        )


def migrate(con: duckdb.DuckDBPyConnection, path: object) -> int:
    """Apply the missing migrations in one transaction; returns the new version."""
    con.execute("BEGIN TRANSACTION")
    try:
        version = current_version(con, path)
        check_supported(version, path)
        if version == 0:
            con.execute(
                "CREATE TABLE benchlab_schema (version INTEGER NOT NULL, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
        for number, name, sql in migrations():
            if number > version:
                con.execute(sql)
                con.execute("INSERT INTO benchlab_schema (version, name) VALUES (?, ?)", [number, name])
                version = number
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return version
