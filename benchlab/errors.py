"""Exceptions benchlab raises for problems a user can fix.

Every error here carries a message meant for a person: what went wrong, where,
and how to fix it.  The CLI prints these without a traceback; anything else that
escapes is a bug in benchlab.
"""

from __future__ import annotations

__all__ = [
    "BenchlabError",
    "IngestError",
    "SchemaVersionError",
    "StoreLockedError",
    "QueryError",
]


class BenchlabError(Exception):
    """Base class of every error benchlab raises on purpose."""


class IngestError(BenchlabError):
    """A source could not be imported; nothing of it was written.

    Parameters
    ----------
    path : str
        The file or folder that was being read.
    location : str or None
        Where in the source the problem is: ``"line 12"``, ``"record 3"``,
        ``"benchmarks[4].real_time"``.  ``None`` when it concerns the whole source.
    reason : str
        What is wrong, in one sentence.
    """

    def __init__(self, path: object, location: str | None, reason: str) -> None:
        self.path = str(path)
        self.location = location
        self.reason = reason
        where = f"{self.path}: {location}" if location else self.path
        super().__init__(f"{where}: {reason}")


class SchemaVersionError(BenchlabError):
    """The store was written by a newer benchlab (or is not a benchlab store)."""


class StoreLockedError(BenchlabError):
    """Another process holds the store file for writing and did not let go in time."""


class QueryError(BenchlabError):
    """A query helper was called with arguments that cannot be answered."""
