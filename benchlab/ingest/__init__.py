"""Importers: one module per source format, found automatically.

An importer is an object with

``name``
    short format name used by ``--format`` (``native-json``, ``asv`` …);
``description``
    one line for ``benchlab formats``;
``priority``
    sniffing order, higher first (specific formats before generic ones);
``folder``
    ``True`` if a whole folder is one source (asv's ``results/``);
``sniff(path) -> bool``
    cheap check whether the file (or folder) is in this format;
``read(path) -> Batch``
    parse, raising :class:`~benchlab.errors.IngestError` for bad input;
``sources(folder)`` (optional, folder importers only)
    split a claimed folder into separate sources, each a ``Path`` (read by
    this importer) or a ``(Path, Importer)`` pair.  Each is then read and
    written on its own, so one bad file in an asv ``results/`` folder fails
    alone while the others are imported.  Without it the folder is one source.

A module in this package that defines ``IMPORTERS = [...]`` is registered on
first use: adding a format is adding one module.
"""

from __future__ import annotations

import glob
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from benchlab.errors import IngestError
from benchlab.ingest._batch import Batch, BatchBuilder, file_digest, parse_timestamp

__all__ = [
    "Importer",
    "Batch",
    "BatchBuilder",
    "file_digest",
    "parse_timestamp",
    "importers",
    "get_importer",
    "detect",
    "discover",
    "read",
]


@runtime_checkable
class Importer(Protocol):
    """The interface every format module implements (see module docstring)."""

    name: str
    description: str
    priority: int
    folder: bool

    def sniff(self, path: Path) -> bool: ...

    def read(self, path: Path) -> Batch: ...


_REGISTRY: dict[str, Importer] | None = None


def importers() -> list[Importer]:
    """All registered importers, in sniffing order."""
    global _REGISTRY
    if _REGISTRY is None:
        found: dict[str, Importer] = {}
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            for imp in getattr(module, "IMPORTERS", ()):
                found[imp.name] = imp
        _REGISTRY = found
    return sorted(_REGISTRY.values(), key=lambda i: (-i.priority, i.name))


def get_importer(name: str) -> Importer:
    """The importer called ``name``; a :class:`IngestError` lists the known ones."""
    for imp in importers():
        if imp.name == name:
            return imp
    known = ", ".join(i.name for i in importers())
    raise IngestError(name, None, f"unknown format {name!r}; known formats: {known}")


def detect(path: str | Path) -> Importer | None:
    """The importer that recognises ``path``, or ``None``."""
    p = Path(path)
    for imp in importers():
        if p.is_dir() != imp.folder:
            continue
        try:
            if imp.sniff(p):
                return imp
        except (OSError, ValueError, UnicodeDecodeError):
            # A sniffer peeks at bytes; unreadable bytes just mean "not mine".
            continue
    return None


def _expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    for raw in paths:
        text = str(raw)
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise IngestError(text, None, "the pattern matches no file")
            yield from map(Path, matches)
        else:
            yield Path(text)


def discover(
    paths: Iterable[str | Path], format: str | None = None
) -> tuple[list[tuple[Path, Importer]], list[tuple[Path, str]]]:
    """Expand files, folders and globs into ``(source, importer)`` pairs.

    A folder is first offered to folder importers as a whole (asv results);
    otherwise its files are sniffed one by one.  Files inside a folder that no
    importer recognises are returned in the second list with the reason; a file
    named explicitly that nobody recognises is an error in that list too.

    Returns
    -------
    sources, unrecognised
    """
    forced = get_importer(format) if format else None
    sources: list[tuple[Path, Importer]] = []
    unknown: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def claim(p: Path, imp: Importer) -> None:
        # A folder importer may split its folder into several sources (asv: one per
        # result file), so that one bad file fails alone; see ``sources`` above.
        split = getattr(imp, "sources", None) if p.is_dir() else None
        if split is None:
            sources.append((p, imp))
            return
        try:
            parts = list(split(p))
        except OSError as exc:
            unknown.append((p, f"cannot list the folder: {exc.strerror or exc}"))
            return
        for item in parts:
            sp, si = item if isinstance(item, tuple) else (item, imp)
            if sp not in seen:
                seen.add(sp)
                sources.append((sp, si))

    def visit(p: Path, explicit: bool) -> None:
        if p in seen:
            return
        seen.add(p)
        if not p.exists():
            unknown.append((p, "no such file or folder"))
            return
        if forced is not None and (p.is_dir() == forced.folder) and (explicit or forced.sniff(p)):
            claim(p, forced)
            return
        imp = None if forced is not None else detect(p)
        if imp is not None:
            claim(p, imp)
        elif p.is_dir():
            for child in sorted(p.iterdir()):
                if not child.name.startswith("."):
                    visit(child, False)
        elif explicit:
            unknown.append((p, "no importer recognises this file; use --format NAME (see `benchlab formats`)"))
        elif _looks_like_data(p):
            unknown.append((p, "not a recognised benchmark format (skipped)"))

    for p in _expand(paths):
        visit(p, True)
    return sources, unknown


_DATA_SUFFIXES = {".json", ".jsonl", ".ndjson", ".csv", ".parquet", ".js", ".txt", ".duckdb"}


def _looks_like_data(p: Path) -> bool:
    # Only report files that could plausibly be results; READMEs and licences
    # in a data folder are not worth a line in the summary.
    return p.suffix.lower() in _DATA_SUFFIXES and not p.name.lower().startswith(("readme", "license"))


def read(path: str | Path, format: str | None = None) -> Batch:
    """Read one source into a :class:`Batch` without touching any store."""
    p = Path(path)
    imp = get_importer(format) if format else detect(p)
    if imp is None:
        raise IngestError(p, None, "no importer recognises this file; use format=NAME")
    return imp.read(p)
