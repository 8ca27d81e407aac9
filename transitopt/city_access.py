"""Accessibility of a whole city from one OSM file: zones, land use, network and lines.

This is the one-call path behind ``transitopt access``: it lays a hexagon grid over the
street network, estimates residents and jobs from OSM buildings and POIs
(:func:`transitopt.demand.landuse.read_landuse`), and measures how many jobs each zone
reaches by walking, by car at free flow, or by public transport (OSM route relations
or a GTFS feed, frequency-based optimal strategies).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ._errors import InputFileError
from .accessibility import CUTOFFS_MIN, accessibility, population_weighted, transit_accessibility
from .demand.landuse import read_landuse, zone_totals
from .network.sources import EMBEDDED_DEFAULT, embedded_default_path, load_network
from .zones import grid_zones

Mode = Literal["walk", "car", "transit"]
MODES: tuple[str, ...] = ("walk", "car", "transit")


@dataclass(frozen=True)
class CityAccessibility:
    """Accessibility per zone and its population-weighted city average.

    Attributes
    ----------
    zones : GeoDataFrame
        One row per zone: ``zone``, ``x``, ``y``, hexagon ``geometry``, ``population``,
        the opportunity total, and ``{opportunity}_{T}min`` / ``{opportunity}_gravity``.
    city_average : Series
        Population-weighted mean of each accessibility column.
    mode : str
    opportunity : str
    """

    zones: Any
    city_average: pd.Series
    mode: str
    opportunity: str


def city_accessibility(
    source: str | os.PathLike,
    *,
    mode: Mode = "walk",
    cell_size_m: float = 250.0,
    cutoffs_min: Any = CUTOFFS_MIN,
    opportunity: str = "jobs",
    transit: str | os.PathLike | None = None,
    profile: str = "generic",
) -> CityAccessibility:
    """Jobs (or another land-use column) reachable from each zone of the city in ``source``.

    Parameters
    ----------
    source
        OSM file (``.osm``, ``.osm.bz2``, ``.osm.pbf``) or ``"helsinki"``; its buildings
        and POIs give residents and jobs.
    mode
        ``"walk"`` (walk network), ``"car"`` (drive network, free-flow times) or
        ``"transit"`` (walk network plus lines, optimal-strategies door-to-door times).
    cell_size_m
        Hexagon size (m).
    cutoffs_min
        Cumulative-opportunity cutoffs (minutes).
    opportunity
        Land-use column to count: ``"jobs"``, ``"population"``, ``"pois"`` or a POI category.
    transit
        For ``mode="transit"``: a GTFS zip/folder; default the OSM route relations of ``source``.
    profile
        Imputation profile for the street network.
    """
    from .transit import build_transit_graph, read_gtfs, read_osm_routes

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    path = embedded_default_path() if str(source).lower() == EMBEDDED_DEFAULT else Path(source)
    if not path.is_file():
        raise InputFileError(
            f"{path}: accessibility needs an OSM file (buildings and POIs give the opportunities)"
        )
    network = load_network(path, network_type="drive" if mode == "car" else "walk", profile=profile)
    zones = grid_zones(network, cell_size_m=cell_size_m, shape="hexagon", geometry=True)
    points = read_landuse(path).points()
    if opportunity not in points.columns:
        numeric = [c for c in points.columns if c not in ("x", "y", "geometry")]
        raise ValueError(f"unknown opportunity {opportunity!r}; expected one of {numeric}")
    totals = zone_totals(zones, points, columns=sorted({"population", opportunity}))
    zones = zones.merge(totals, left_on="zone", right_index=True, how="left")
    if mode == "transit":
        supply, _report = read_gtfs(transit) if transit is not None else read_osm_routes(path)
        graph = build_transit_graph(supply, zones=zones[["zone", "x", "y"]], walk_network=network)
        table = transit_accessibility(
            graph, zones[["zone", opportunity]], cutoffs_min=cutoffs_min, columns=[opportunity]
        )
    else:
        table = accessibility(
            network,
            zones[["zone", "x", "y"]],
            points[["x", "y", opportunity]],
            cutoffs_min=cutoffs_min,
            columns=[opportunity],
        )
    measures = [c for c in table.columns if c.startswith(f"{opportunity}_")]
    result = zones.merge(table[["zone", *measures]], on="zone", how="inner")
    average = population_weighted(result, "population", columns=measures)
    return CityAccessibility(zones=result, city_average=average, mode=mode, opportunity=opportunity)
