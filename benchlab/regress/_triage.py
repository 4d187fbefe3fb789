"""Triage: record what a person decided about a detected change, in the store.

Triage is append-only (table ``triage``, schema version 2): each call adds a
row, the history is kept, and the latest row of a ``change_id`` is its status.
A triaged change -- whatever the status -- is not raised again by
:func:`~benchlab.regress.detect_store` nor counted by the gate.

Statuses (:data:`TRIAGE_STATUSES`):

``acknowledged``
    seen, someone is on it;
``expected``
    an intended trade-off (a new feature costs time);
``false_alarm``
    noise, a machine hiccup, not a real change;
``fixed``
    the regression was fixed (the fix shows up as an improvement).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import polars as pl

from benchlab.errors import BenchlabError
from benchlab.store import _regress

if TYPE_CHECKING:
    from benchlab.store import Store

__all__ = ["TRIAGE_STATUSES", "TriageError", "triage", "triage_history", "triage_status"]

TRIAGE_STATUSES: tuple[str, ...] = ("acknowledged", "expected", "false_alarm", "fixed")
_CHANGE_FIELDS = (
    "series_key", "provenance", "kind", "first_bad_commit", "first_bad_timestamp",
    "last_good_commit", "last_good_timestamp",
)  # fmt: skip


class TriageError(BenchlabError):
    """A triage request cannot be recorded (unknown change, bad status or link)."""


def _status(status: str) -> str:
    s = str(status).strip().lower().replace("-", "_").replace(" ", "_")
    if s == "falsealarm":
        s = "false_alarm"
    if s not in TRIAGE_STATUSES:
        raise TriageError(f"unknown triage status {status!r}; use one of {', '.join(TRIAGE_STATUSES)}")
    return s


def validate_link(link: str | None) -> str | None:
    """Return ``link`` if it is an absolute http(s) URL, else raise :class:`TriageError`."""
    if link is None:
        return None
    text = str(link).strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in text):
        raise TriageError(f"link {link!r} is not an http(s) URL; give e.g. https://github.com/org/repo/issues/12")
    return text


def _from_change(change: Mapping[str, Any] | pl.DataFrame) -> dict[str, Any]:
    if isinstance(change, pl.DataFrame):
        if change.height != 1:
            raise TriageError(f"triage one change at a time; got a frame with {change.height} rows")
        change = change.row(0, named=True)
    if not change.get("change_id"):
        raise TriageError("the change has no 'change_id'; pass a row of detect() or gate() output")
    fields = {k: change.get(k) for k in _CHANGE_FIELDS}
    # A gate row: its contender commit is the first bad one, the baseline the last good.
    if fields["first_bad_commit"] is None:
        fields["first_bad_commit"] = change.get("contender_commit")
    if fields["last_good_commit"] is None:
        fields["last_good_commit"] = change.get("baseline_commit")
    return {"change_id": str(change["change_id"]), **fields}


def _lookup(store: Store, change_id: str, series_key: str | None) -> dict[str, Any] | None:
    """The change's fields from earlier triage or, failing that, from detection."""
    known = _regress.latest_triage(store, change_ids=[change_id])
    if known.height:
        row = known.row(0, named=True)
        return {"change_id": change_id, **{k: row[k] for k in _CHANGE_FIELDS}}
    from benchlab.regress._detect import detect_store

    # Every change point, whatever its size: the id depends only on the series
    # and the first bad point, so any detection threshold yields the same ids.
    # With a series key only that series needs searching.
    where: dict[str, Any] = {} if series_key is None else {"series_key": series_key}
    found = detect_store(store, min_effect=0.0, alpha=1.0, include_triaged=True, **where).filter(
        pl.col("change_id") == change_id
    )
    return _from_change(found) if found.height else None


def triage(
    store: Store,
    change: str | Mapping[str, Any] | pl.DataFrame,
    status: str,
    note: str | None = None,
    link: str | None = None,
    author: str | None = None,
    *,
    series_key: str | None = None,
) -> pl.DataFrame:
    """Record a decision about a change.

    Parameters
    ----------
    store : Store
        Where the decision is kept.
    change : str, mapping or one-row frame
        A ``change_id`` (as printed by ``benchlab detect`` / ``benchlab gate``),
        or a row of :func:`~benchlab.regress.detect` /
        :func:`~benchlab.regress.gate` output.  A bare id is looked up in earlier
        triage, then among the changes detected in the store; an id that is in
        neither (e.g. a gate finding on a commit not in the store) needs
        ``series_key``.
    status : {"acknowledged", "expected", "false_alarm", "fixed"}
        The decision.
    note : str, optional
        Free text.
    link : str, optional
        An http(s) URL (issue, pull request); anything else is refused.
    author : str, optional
        Who decided.
    series_key : str, optional
        The series of a change that cannot be looked up.

    Returns
    -------
    polars.DataFrame
        The stored row (``triage_id``, ``created_at`` …).

    Raises
    ------
    TriageError
        Unknown status, a link that is not http(s), or an unknown change id.
    """
    s = _status(status)
    url = validate_link(link)
    if isinstance(change, str):
        cid = change.strip()
        if not cid:
            raise TriageError("empty change id")
        fields = _lookup(store, cid, series_key)
        if fields is None:
            if series_key is None:
                raise TriageError(
                    f"no change with id {cid!r} in the store (see `benchlab detect`); to triage a change "
                    "reported by `benchlab gate` on results not in the store, also give its series key "
                    "(--series KEY)"
                )
            fields = {"change_id": cid, **dict.fromkeys(_CHANGE_FIELDS), "series_key": series_key}
    else:
        fields = _from_change(change)
    if series_key is not None and fields.get("series_key") not in (None, series_key):
        raise TriageError(f"change {fields['change_id']} belongs to series {fields['series_key']}, not {series_key}")
    for k in ("first_bad_timestamp", "last_good_timestamp"):
        v = fields.get(k)
        if isinstance(v, float) and math.isnan(v):
            fields[k] = None
    row = {**fields, "status": s, "note": note, "link": url, "author": author}
    return _regress.insert_triage(store, row)


def triage_history(store: Store, change_id: str | None = None) -> pl.DataFrame:
    """Every triage decision, oldest first (of one change if ``change_id`` is given)."""
    return _regress.triage_rows(store, change_id)


def triage_status(
    store: Store, change_ids: list[str] | None = None, *, series_keys: list[str] | None = None
) -> pl.DataFrame:
    """The current (latest) triage row of each change, optionally restricted."""
    return _regress.latest_triage(store, change_ids=change_ids, series_keys=series_keys)
