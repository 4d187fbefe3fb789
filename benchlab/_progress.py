"""Progress bars that render in a terminal and in Jupyter (via rich)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def progress_iter(items: Sequence[T], *, enabled: bool, description: str) -> Iterator[T]:
    """Iterate ``items`` with a rich progress bar when ``enabled`` (and >1 item)."""
    if not enabled or len(items) < 2:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=description, transient=True)
