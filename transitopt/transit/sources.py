"""One entry point for transit supply: a GTFS feed or the route relations of an OSM file."""

from __future__ import annotations

import os
from pathlib import Path

from .lines import TransitSupply
from .report import ImportReport


def is_gtfs(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a GTFS feed: a ``.zip`` file or a folder holding ``stops.txt``."""
    path = Path(path)
    return path.suffix.lower() == ".zip" or (path.is_dir() and (path / "stops.txt").exists())


def read_supply(
    source: str | os.PathLike,
    *,
    start: str = "07:00",
    end: str = "09:00",
    date: str | None = None,
    default_headway_s: float | None = None,
) -> tuple[TransitSupply, ImportReport]:
    """Transit lines from a GTFS zip or folder, or from the route relations of an OSM file.

    Parameters
    ----------
    source
        A GTFS ``.zip`` or folder (holding ``stops.txt``); otherwise an OSM file with
        public-transport route relations, or ``"helsinki"`` for the embedded extract.
    start, end
        Analysis period ``HH:MM`` (GTFS only; headways are averaged over it).
    date
        Service day ``YYYYMMDD`` (GTFS only); default: the busiest day of the feed.
    default_headway_s
        Headway in seconds for GTFS routes without any times (GTFS only).

    Returns
    -------
    (TransitSupply, ImportReport)
        The stops and lines, and what had to be repaired, skipped or assumed.
    """
    from ..network.sources import resolve_source
    from .gtfs import read_gtfs
    from .osm_routes import read_osm_routes

    path = Path(resolve_source(source))
    if is_gtfs(path):
        return read_gtfs(path, date=date, start=start, end=end, default_headway_s=default_headway_s)
    return read_osm_routes(path)
