"""Map tables: a result's links merged into roads, line segments into corridors, zone cells.

Roads are streets between two nodes with both directions together (car flows summed,
v/c the larger direction); corridors join consecutive stops with the passengers of every
line and both directions summed. The tables of a result are built once and kept while
the result lives.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ...scenario.result import link_lines_of
from .geometry import link_geometry, zone_cells

if TYPE_CHECKING:
    from ...scenario.result import ScenarioResult

_ROADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CORRIDORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CELLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def roads_of(result: ScenarioResult) -> pd.DataFrame:
    """:func:`road_table` of a result's links (built once per result)."""
    if result not in _ROADS:
        _ROADS[result] = road_table(result.tables["links"], lines=link_lines_of(result))
    return _ROADS[result]


def cells_of(result: ScenarioResult) -> list[np.ndarray]:
    """Zone cells of a result's zones table, in its order (built once per result)."""
    if result not in _CELLS:
        zones = result.tables["zones"]
        _CELLS[result] = zone_cells(zones["lon"].to_numpy(float), zones["lat"].to_numpy(float))
    return _CELLS[result]


def corridors_of(result: ScenarioResult) -> pd.DataFrame:
    """:func:`corridor_table` of a result's line segments (built once per result)."""
    if result not in _CORRIDORS:
        _CORRIDORS[result] = corridor_table(result.tables["segments"])
    return _CORRIDORS[result]


def road_table(links: pd.DataFrame, *, lines: np.ndarray | None = None) -> pd.DataFrame:
    """Directed links merged into roads: one row per street between two nodes (both directions).

    Returns
    -------
    DataFrame
        Indexed by ``road`` (``"u-v-way"``, u < v): ``name``, ``flow`` (cars, veh/h, both
        directions), ``flow_ab`` / ``flow_ba`` (per direction), ``bus_vph``, ``voc``
        (larger direction), ``capacity_vph`` (both directions), ``lanes`` (per
        direction, larger), ``closed`` (all directions closed), ``bus_lane`` (any),
        ``geometry`` (lon/lat array of the first direction).
    """
    if len(links) == 0:
        return pd.DataFrame(
            columns=[
                "name",
                "flow",
                "flow_ab",
                "flow_ba",
                "bus_vph",
                "voc",
                "capacity_vph",
                "lanes",
                "closed",
                "bus_lane",
                "geometry",
            ]
        )
    t = links.reset_index(drop=True)
    a = t["from_node"].to_numpy()
    b = t["to_node"].to_numpy()
    forward = a <= b
    u = np.where(forward, a, b)
    v = np.where(forward, b, a)
    # missing ways read "nan", as str() of a missing value always did in these ids
    way = t["way"].astype(str).fillna("nan") if "way" in t.columns else pd.Series("", index=t.index)
    flow = t["flow"].to_numpy(float)
    closed = t["closed"].to_numpy(bool) if "closed" in t.columns else np.zeros(len(t), bool)
    frame = pd.DataFrame(
        {
            "road": (
                pd.Series(u, index=t.index).astype(str)
                + "-"
                + pd.Series(v, index=t.index).astype(str)
                + "-"
                + way
            ).to_numpy(object),
            "name": t["name"].to_numpy(object) if "name" in t.columns else None,
            "flow": flow,
            "flow_ab": np.where(forward, flow, 0.0),
            "flow_ba": np.where(forward, 0.0, flow),
            "bus_vph": t["bus_vph"].to_numpy(float) if "bus_vph" in t.columns else 0.0,
            "voc": np.where(closed, 0.0, t["voc"].to_numpy(float)),
            "capacity_vph": np.where(closed, 0.0, t["capacity_vph"].to_numpy(float)),
            "lanes": t["lanes"].to_numpy(float),
            "closed": closed,
            "bus_lane": t["bus_lane"].to_numpy(bool) if "bus_lane" in t.columns else False,
            "geometry": link_geometry(t, lines),
        }
    )
    grouped = frame.groupby("road", sort=False)
    return grouped.agg(
        name=("name", "first"),
        flow=("flow", "sum"),
        flow_ab=("flow_ab", "sum"),
        flow_ba=("flow_ba", "sum"),
        bus_vph=("bus_vph", "sum"),
        voc=("voc", "max"),
        capacity_vph=("capacity_vph", "sum"),
        lanes=("lanes", "max"),
        closed=("closed", "all"),
        bus_lane=("bus_lane", "any"),
        geometry=("geometry", "first"),
    )


def corridor_table(segments: pd.DataFrame) -> pd.DataFrame:
    """Transit line segments merged into corridors: one row per pair of consecutive stops.

    Returns
    -------
    DataFrame
        Indexed by ``corridor`` (the two stop ids, sorted): ``geometry`` (lon/lat line
        of its first segment, see :func:`segment_lines`), ``load`` (pax/h,
        every line and both directions), ``capacity_per_hour`` (both directions),
        ``load_ratio`` (largest segment load / capacity) and ``lines`` (names).
    """
    if len(segments) == 0:
        return pd.DataFrame(
            columns=["geometry", "load", "capacity_per_hour", "load_ratio", "lines"]
        )
    s = segments.reset_index(drop=True)
    a = s["from_stop"].astype(str).to_numpy()
    b = s["to_stop"].astype(str).to_numpy()
    frame = pd.DataFrame(
        {
            "corridor": [f"{x}|{y}" if x <= y else f"{y}|{x}" for x, y in zip(a, b, strict=True)],
            "geometry": segment_lines(s),
            "load": s["load"].to_numpy(float),
            "capacity_per_hour": s["capacity_per_hour"].to_numpy(float),
            "load_ratio": s["load_ratio"].to_numpy(float),
            "line_name": (s["mode"].astype(str) + " " + s["name"].astype(str)).to_numpy()
            if {"mode", "name"} <= set(s.columns)
            else s["line"].astype(str).to_numpy(),
        }
    )
    grouped = frame.groupby("corridor", sort=False)
    table = grouped.agg(
        geometry=("geometry", "first"),
        load=("load", "sum"),
        capacity_per_hour=("capacity_per_hour", "sum"),
        load_ratio=("load_ratio", "max"),
    )
    table["lines"] = grouped["line_name"].agg(
        lambda names: ", ".join(sorted(set(names), key=natural_key))
    )
    return table


def segment_lines(segments: pd.DataFrame) -> list[np.ndarray]:
    """lon/lat polyline per segment: its street route (``geometry_wkt``) where it has one,
    else the straight line between its stops (trams, rail, segments off the streets)."""
    ends = segments[["from_lon", "from_lat", "to_lon", "to_lat"]].to_numpy(float)
    out = [row.reshape(2, 2) for row in ends]
    if "geometry_wkt" not in segments.columns:
        return out
    wkt = segments["geometry_wkt"].to_numpy(object)
    has = np.array([isinstance(w, str) and w.startswith("LINESTRING") for w in wkt], dtype=bool)
    if has.any():
        import shapely

        coords, index = shapely.get_coordinates(shapely.from_wkt(wkt[has]), return_index=True)
        splits = np.flatnonzero(np.diff(index)) + 1
        for i, xy in zip(np.flatnonzero(has), np.split(coords, splits), strict=True):
            out[i] = xy
    return out


def natural_key(text: str) -> tuple:
    """Sort key that orders the numbers in ``text`` by value (line "2" before "10")."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def access_threshold(zones: pd.DataFrame) -> str | None:
    """The middle ``jobs_transit_<T>min`` column of a zones table (the map's default budget)."""
    columns = access_columns(zones)
    return columns[len(columns) // 2] if columns else None


def access_columns(zones: pd.DataFrame) -> list[str]:
    """The ``jobs_transit_<T>min`` columns of a zones table, by increasing ``T``."""
    columns = [c for c in zones.columns if re.fullmatch(r"jobs_transit_[0-9.]+min", c)]
    return sorted(columns, key=lambda c: float(c.removeprefix("jobs_transit_").removesuffix("min")))


def streets_of(result: ScenarioResult) -> list[np.ndarray]:
    """The roads of a result as lon/lat lines (the grey context of a map); none without links."""
    return list(roads_of(result)["geometry"]) if "links" in result.tables else []


def street_ids_of(result: ScenarioResult) -> list[str]:
    """Feature ids of :func:`streets_of`."""
    return feature_ids("road", roads_of(result).index) if "links" in result.tables else []


def feature_ids(kind: str, index: Iterable) -> list[str]:
    """Stable ids ``"<kind>:<index>"`` of map features (``road:…``, ``corridor:…``, ``zone:…``)."""
    if isinstance(index, pd.Index):  # its values at once: an Arrow-backed index iterates slowly
        index = index.tolist()
    return [f"{kind}:{i}" for i in index]
