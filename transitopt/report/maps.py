"""Maps of scenario results: link flow change, v/c, line loads, accessibility change, winners/losers.

Each map is first built as a :class:`MapLayer` — plain data: one lon/lat geometry per
feature (a road, a transit corridor between two stops, a zone), its value, a colour
class and a hover text — from a result's tables. The same layer draws as an interactive
plotly figure for the HTML report (:func:`layer_figure`) and as a PNG for slides
(:func:`write_maps`). The maps use no background tiles, so they need no network.

Roads are drawn per street between two nodes (both directions together): car flows are
summed over the directions, v/c is the larger of the two. Transit corridors join
consecutive stops in a straight line, with the passengers of every line and both
directions summed. Zones are drawn as cells: the Voronoi cell of the zone's centre cut
to a square as wide as the median spacing between neighbouring centres (for a regular
grid of zones this is exactly the grid cell).
"""

from __future__ import annotations

import math
import os
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from .._io import atomic_path
from ..metrics.congestion import VOC_BINS

if TYPE_CHECKING:
    from ..scenario.result import ScenarioResult

#: metres per degree of latitude (mean)
_M_PER_DEG = 111_195.0

#: colours of the v/c classes of :data:`~transitopt.metrics.congestion.VOC_BINS`
VOC_COLOURS = ("#1a9850", "#a6d96a", "#fee08b", "#f46d43", "#a50026")
#: diverging colours (decrease → increase) for changes of flow
_DECREASE = ("#08519c", "#4292c6", "#9ecae1")
_INCREASE = ("#fc9272", "#de2d26", "#99000d")
#: diverging fills (loss → gain) for changes of accessibility
_LOSS = ("#b2182b", "#ef8a62", "#fddbc7")
_GAIN = ("#d1e5f0", "#67a9cf", "#2166ac")
_NEUTRAL = "#c8c8c8"
#: a change of accessibility smaller than this (jobs) is "no change" (solver rounding)
_NO_CHANGE_JOBS = 1e-6
_BACKGROUND = "#d9d9d9"
#: most features per map with a hover text (a large city's maps would otherwise weigh megabytes each)
MAX_HOVER = 5000
#: outline of marked roads (bus lanes)
_MARK = "#7b2cbf"
_FONT_FAMILY = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


class MapClass(NamedTuple):
    """One legend entry: features of a class share colour, line width (px) and dash."""

    label: str
    colour: str
    width: float = 1.5
    dash: str = "solid"


@dataclass(frozen=True)
class MapLayer:
    """A thematic map: features with values, colour classes and hover texts.

    Attributes
    ----------
    key : str
        Short id used in file names (``"flow_change"``, ``"voc"``, ...).
    title : str
        Map title.
    scenario : str
        Scenario the map shows (for a change map: the alternative).
    kind : {"lines", "zones"}
        Line features (roads, corridors) or polygon features (zones).
    geometry : list of (n, 2) arrays
        lon/lat (degrees) per feature; polygons are closed rings.
    value : (f,) array
        The mapped value per feature.
    classes : (f,) int array
        Index into ``legend`` per feature.
    legend : tuple of MapClass
        Classes in legend order.
    legend_title : str
        Heading of the legend (says what the value and its unit are).
    hover : list of str
        Hover text per feature (may hold ``<br>`` line breaks).
    width : (f,) array or None
        Line width (px) per feature when it varies within a class (line loads).
    background : list of (n, 2) arrays
        Grey context lines (the street network), drawn without hover.
    note : str
        One sentence under the map.
    ids : list of str
        A stable id per feature (``road:…``, ``corridor:…``, ``zone:…``): features of
        the same id have the same geometry in every map, so a report stores it once.
    background_ids : list of str
        Ids of the ``background`` lines.
    marks : list of int
        Features to outline on top (roads that got a bus lane), with ``marks_label`` in
        the legend.
    pins : list of int
        Features to pin with a cross at their centre, visible at any zoom (closed
        roads, often a few metres long), with ``pins_label`` in the legend.
    """

    key: str
    title: str
    scenario: str
    kind: str
    geometry: list[np.ndarray] = field(repr=False)
    value: np.ndarray = field(repr=False)
    classes: np.ndarray = field(repr=False)
    legend: tuple[MapClass, ...] = field(repr=False)
    legend_title: str = ""
    hover: list[str] = field(default_factory=list, repr=False)
    width: np.ndarray | None = field(default=None, repr=False)
    background: list[np.ndarray] = field(default_factory=list, repr=False)
    note: str = ""
    ids: list[str] = field(default_factory=list, repr=False)
    background_ids: list[str] = field(default_factory=list, repr=False)
    marks: list[int] = field(default_factory=list, repr=False)
    marks_label: str = ""
    pins: list[int] = field(default_factory=list, repr=False)
    pins_label: str = ""

    def widths(self) -> np.ndarray:
        """Line width per feature (px)."""
        if self.width is not None:
            return np.asarray(self.width, dtype=float)
        per_class = np.array([c.width for c in self.legend], dtype=float)
        return per_class[self.classes] if len(self.classes) else np.zeros(0)

    def centres(self) -> np.ndarray:
        """(f, 2) a point on each feature: the middle vertex of a line, the mean of a ring."""
        out = np.empty((len(self.geometry), 2))
        for i, g in enumerate(self.geometry):
            if self.kind == "zones":
                out[i] = g[:-1].mean(axis=0) if len(g) > 1 else g[0]
            else:
                out[i] = _midpoint(g)
        return out

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the features and the background."""
        parts = [g for g in (*self.geometry, *self.background) if len(g)]
        if not parts:
            return (0.0, 0.0, 1.0, 1.0)
        xy = np.concatenate(parts)
        xy = xy[np.isfinite(xy).all(axis=1)]
        return (
            float(xy[:, 0].min()),
            float(xy[:, 1].min()),
            float(xy[:, 0].max()),
            float(xy[:, 1].max()),
        )


# ---------------------------------------------------------------------------- geometry
def _midpoint(line: np.ndarray) -> np.ndarray:
    """The point halfway along a polyline (planar, lon/lat)."""
    if len(line) == 1:
        return line[0]
    step = np.hypot(*np.diff(line, axis=0).T)
    total = step.sum()
    if total <= 0:
        return line[0]
    cum = np.r_[0.0, np.cumsum(step)]
    k = min(int(np.searchsorted(cum, total / 2.0, side="right")) - 1, len(step) - 1)
    t = (total / 2.0 - cum[k]) / step[k] if step[k] > 0 else 0.0
    return line[k] + t * (line[k + 1] - line[k])


def link_geometry(links: pd.DataFrame) -> list[np.ndarray]:
    """lon/lat polyline per link: ``geometry_wkt`` where present, else ``x0, y0`` → ``x1, y1``."""
    straight = np.stack([links[c].to_numpy(float) for c in ("x0", "y0", "x1", "y1")], axis=1)
    out = [row.reshape(2, 2) for row in straight]
    if "geometry_wkt" in links.columns:
        import shapely

        wkt = links["geometry_wkt"].to_numpy(object)
        has = np.array([isinstance(w, str) and w.startswith("LINESTRING") for w in wkt], dtype=bool)
        if has.any():
            geoms = shapely.from_wkt(wkt[has])
            coords, index = shapely.get_coordinates(geoms, return_index=True)
            splits = np.flatnonzero(np.diff(index)) + 1
            for i, xy in zip(np.flatnonzero(has), np.split(coords, splits), strict=True):
                out[i] = xy
    return out


def zone_cells(lon: np.ndarray, lat: np.ndarray) -> list[np.ndarray]:
    """Closed lon/lat ring per zone: its Voronoi cell cut to a square of the median spacing."""
    import shapely
    from scipy.spatial import cKDTree

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = lon.size
    if n == 0:
        return []
    lon0, lat0 = float(lon.mean()), float(lat.mean())
    kx = _M_PER_DEG * math.cos(math.radians(lat0))
    xy = np.column_stack([(lon - lon0) * kx, (lat - lat0) * _M_PER_DEG])
    if n > 1:
        spacing = cKDTree(xy).query(xy, k=2)[0][:, 1]
        side = float(np.median(spacing[spacing > 0])) if np.any(spacing > 0) else 500.0
    else:
        side = 500.0
    half = side / 2.0
    squares = shapely.box(xy[:, 0] - half, xy[:, 1] - half, xy[:, 0] + half, xy[:, 1] + half)
    cells = squares
    if n > 2:
        try:
            frame = shapely.box(*(xy.min(axis=0) - side), *(xy.max(axis=0) + side))
            voronoi = shapely.get_parts(
                shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=frame, ordered=True)
            )
            if len(voronoi) == n:
                cells = shapely.intersection(voronoi, squares)
        except Exception:  # degenerate layouts (all points on a line): squares are fine
            cells = squares
    rings = []
    for cell, square in zip(cells, squares, strict=True):
        if cell is None or cell.is_empty or cell.geom_type != "Polygon":
            cell = square
        ring = np.asarray(cell.exterior.coords)
        rings.append(np.column_stack([ring[:, 0] / kx + lon0, ring[:, 1] / _M_PER_DEG + lat0]))
    return rings


# ---------------------------------------------------------------------------- tables
_ROADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CORRIDORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CELLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _roads(result: ScenarioResult) -> pd.DataFrame:
    if result not in _ROADS:
        _ROADS[result] = road_table(result.tables["links"])
    return _ROADS[result]


def _cells(result: ScenarioResult) -> list[np.ndarray]:
    """Zone cells of a result's zones table, in its order."""
    if result not in _CELLS:
        zones = result.tables["zones"]
        _CELLS[result] = zone_cells(zones["lon"].to_numpy(float), zones["lat"].to_numpy(float))
    return _CELLS[result]


def _corridors(result: ScenarioResult) -> pd.DataFrame:
    if result not in _CORRIDORS:
        _CORRIDORS[result] = corridor_table(result.tables["segments"])
    return _CORRIDORS[result]


def road_table(links: pd.DataFrame) -> pd.DataFrame:
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
    way = t["way"].astype(str).to_numpy() if "way" in t.columns else np.full(len(t), "")
    flow = t["flow"].to_numpy(float)
    closed = t["closed"].to_numpy(bool) if "closed" in t.columns else np.zeros(len(t), bool)
    frame = pd.DataFrame(
        {
            "road": [f"{x}-{y}-{w}" for x, y, w in zip(u, v, way, strict=True)],
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
            "geometry": link_geometry(t),
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
        Indexed by ``corridor`` (the two stop ids, sorted): ``from_name``/``to_name``
        are not known here, so ``geometry`` (straight lon/lat line), ``load`` (pax/h,
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
            "geometry": [
                np.array([[x0, y0], [x1, y1]])
                for x0, y0, x1, y1 in s[["from_lon", "from_lat", "to_lon", "to_lat"]].to_numpy(
                    float
                )
            ],
            "load": s["load"].to_numpy(float),
            "capacity_per_hour": s["capacity_per_hour"].to_numpy(float),
            "load_ratio": s["load_ratio"].to_numpy(float),
            "line_name": s["name"].astype(str).to_numpy()
            if "name" in s.columns
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
        lambda names: ", ".join(sorted(set(names), key=_natural))
    )
    return table


def _natural(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def access_threshold(zones: pd.DataFrame) -> str | None:
    """The middle ``jobs_transit_<T>min`` column of a zones table (the map's default budget)."""
    columns = access_columns(zones)
    return columns[len(columns) // 2] if columns else None


# ---------------------------------------------------------------------------- classes
def nice_number(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is >= ``x`` (``x`` > 0)."""
    if not np.isfinite(x) or x <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(x))
    for step in (1.0, 2.0, 5.0, 10.0):
        if step * power >= x * (1 - 1e-12):
            return step * power
    return 10.0 * power


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or x == int(x) else f"{x:,.2g}"


def diverging_classes(
    values: np.ndarray,
    *,
    minimum: float,
    low: tuple[str, ...],
    high: tuple[str, ...],
    unit: str,
    widths: tuple[float, ...] = (4.5, 3.0, 2.0),
    neutral: float | None = None,
) -> tuple[np.ndarray, tuple[MapClass, ...]]:
    """Seven classes symmetric about 0 with "nice" limits: 3 of decrease, a neutral class, 3 of increase.

    The limits are ``c1 < c2 < c3`` with ``c3`` about half, ``c2`` a fifth and ``c1`` a
    twentieth of the largest absolute value (never below ``minimum``); ``|v| <= c1`` is
    "little change". With ``neutral``, ``c1 = neutral`` and the middle class is "no
    change" (for changes where any change matters, such as accessibility). Class ``k``
    holds ``edges[k-1] < v <= edges[k]`` of the edges ``-c3, -c2, -c1, c1, c2, c3``.
    """
    values = np.nan_to_num(np.asarray(values, dtype=float))
    top = float(np.abs(values).max()) if values.size else 0.0
    c1 = float(neutral) if neutral is not None else max(nice_number(top * 0.05), minimum)
    c2 = max(nice_number(top * 0.2), 2 * c1, minimum)
    c3 = max(nice_number(top * 0.5), 2 * c2)
    edges = np.array([-c3, -c2, -c1, c1, c2, c3])
    classes = np.searchsorted(edges, values, side="left")
    if neutral is None:
        inner = (
            f"−{_fmt(c2)} to −{_fmt(c1)}",
            f"within ±{_fmt(c1)} {unit}",
            f"+{_fmt(c1)} to +{_fmt(c2)}",
        )
    else:
        inner = (f"−{_fmt(c2)} to 0", "no change", f"0 to +{_fmt(c2)}")
    legend = (
        MapClass(f"≤ −{_fmt(c3)}", low[0], widths[0]),
        MapClass(f"−{_fmt(c3)} to −{_fmt(c2)}", low[1], widths[1]),
        MapClass(inner[0], low[2], widths[2]),
        MapClass(inner[1], _NEUTRAL, 1.0),
        MapClass(inner[2], high[0], widths[2]),
        MapClass(f"+{_fmt(c2)} to +{_fmt(c3)}", high[1], widths[1]),
        MapClass(f"> +{_fmt(c3)}", high[2], widths[0]),
    )
    return classes.astype(np.int64), legend


# ---------------------------------------------------------------------------- layers
def flow_change_layer(base: ScenarioResult, alternative: ScenarioResult) -> MapLayer:
    """Change of car flow per road (veh/h, both directions), alternative − baseline."""
    b = _roads(base)
    a = _roads(alternative)
    roads = pd.concat(
        [b[["name", "geometry"]], a.loc[~a.index.isin(b.index), ["name", "geometry"]]]
    )
    fb = b["flow"].reindex(roads.index, fill_value=0.0).to_numpy(float)
    fa = a["flow"].reindex(roads.index, fill_value=0.0).to_numpy(float)
    closed = a["closed"].reindex(roads.index, fill_value=False).to_numpy(bool)
    added = ~roads.index.isin(b.index)
    bus_lane = a["bus_lane"].reindex(roads.index, fill_value=False).to_numpy(bool) & ~b[
        "bus_lane"
    ].reindex(roads.index, fill_value=False).to_numpy(bool)
    change = fa - fb
    classes, legend = diverging_classes(
        change, minimum=10.0, low=_DECREASE, high=_INCREASE, unit="veh/h"
    )
    legend = (*legend, MapClass("closed in the alternative", "#000000", 2.0, "dot"))
    classes = np.where(closed, len(legend) - 1, classes)
    hover = []
    for name, x0, x1, d, c, n, bl in zip(
        roads["name"], fb, fa, change, closed, added, bus_lane, strict=True
    ):
        tag = " (closed)" if c else " (new road)" if n else " (new bus lane)" if bl else ""
        hover.append(
            f"<b>{_label(name)}</b>{tag}<br>cars {x0:,.0f} → {x1:,.0f} veh/h<br>change {d:+,.0f} veh/h"
        )
    return MapLayer(
        key="flow_change",
        title=f"Car flow change: {alternative.name} vs {base.name}",
        scenario=alternative.name,
        kind="lines",
        geometry=list(roads["geometry"]),
        ids=_ids("road", roads.index),
        value=change,
        classes=classes,
        legend=legend,
        marks=np.flatnonzero(bus_lane).tolist(),
        marks_label="new bus lane",
        pins=np.flatnonzero(closed).tolist(),
        pins_label="closed road",
        legend_title="change of cars per hour<br>(both directions)",
        hover=hover,
        note="Red: more cars than in the baseline; blue: fewer. Width grows with the size of the change.",
    )


def voc_layer(result: ScenarioResult, *, base: ScenarioResult | None = None) -> MapLayer:
    """Volume/capacity ratio per road (larger direction), with the baseline's value in the hover."""
    roads = _roads(result)
    voc = roads["voc"].to_numpy(float)
    edges = np.asarray(VOC_BINS, dtype=float)
    classes = np.clip(np.searchsorted(edges, voc, side="right") - 1, 0, edges.size - 2)
    labels = [
        f"{edges[i]:g} – {edges[i + 1]:g}" if np.isfinite(edges[i + 1]) else f"≥ {edges[i]:g}"
        for i in range(edges.size - 1)
    ]
    widths = (1.2, 1.8, 2.6, 3.6, 4.6)
    legend = tuple(
        MapClass(label, colour, w)
        for label, colour, w in zip(labels, VOC_COLOURS, widths, strict=True)
    )
    legend = (*legend, MapClass("closed", "#000000", 1.5, "dot"))
    closed = roads["closed"].to_numpy(bool)
    classes = np.where(closed, len(legend) - 1, classes)
    before = _roads(base)["voc"].reindex(roads.index) if base is not None else None
    hover = []
    for k, row in enumerate(roads.itertuples()):
        text = (
            f"<b>{_label(row.name)}</b>{' (closed)' if row.closed else ''}"
            f"{' (bus lane)' if row.bus_lane else ''}<br>v/c {row.voc:.2f}"
        )
        if before is not None and np.isfinite(before.iloc[k]):
            text += f" (baseline {before.iloc[k]:.2f})"
        text += (
            f"<br>cars {row.flow:,.0f} veh/h, buses {row.bus_vph:,.0f}/h<br>"
            f"capacity {row.capacity_vph:,.0f} veh/h, {row.lanes:g} lane(s)"
        )
        hover.append(text)
    return MapLayer(
        key="voc",
        title=f"Volume / capacity: {result.name}",
        scenario=result.name,
        kind="lines",
        geometry=list(roads["geometry"]),
        ids=_ids("road", roads.index),
        value=voc,
        classes=classes.astype(np.int64),
        legend=legend,
        marks=np.flatnonzero(roads["bus_lane"].to_numpy(bool)).tolist(),
        marks_label="bus lane",
        pins=np.flatnonzero(closed).tolist(),
        pins_label="closed road",
        legend_title="volume / capacity<br>(cars + buses as PCU)",
        hover=hover,
        note="Ratio of the peak-hour flow (cars plus buses in PCU) to the capacity, the busier direction of each street.",
    )


def line_load_layer(result: ScenarioResult, *, base: ScenarioResult | None = None) -> MapLayer:
    """Passengers per hour between consecutive stops (all lines, both directions); colour by crowding."""
    corridors = _corridors(result)
    load = corridors["load"].to_numpy(float)
    ratio = corridors["load_ratio"].to_numpy(float)
    edges = np.array([0.0, 0.5, 0.8, 1.0, np.inf])
    classes = np.clip(
        np.searchsorted(edges, np.nan_to_num(ratio), side="right") - 1, 0, edges.size - 2
    )
    legend = (
        MapClass("load / capacity < 0.5", "#4575b4", 2.0),
        MapClass("0.5 – 0.8", "#fdae61", 2.0),
        MapClass("0.8 – 1.0", "#f46d43", 2.0),
        MapClass("over capacity", "#a50026", 2.0),
    )
    top = nice_number(float(load.max())) if load.size and load.max() > 0 else 1.0
    width = 1.0 + 9.0 * np.sqrt(np.clip(load / top, 0.0, 1.0))
    width = np.round(width * 2.0) / 2.0  # half-pixel steps: few plotly traces
    before = _corridors(base)["load"].reindex(corridors.index) if base is not None else None
    hover = []
    for k, row in enumerate(corridors.itertuples()):
        text = f"<b>{row.lines}</b><br>{row.load:,.0f} pax/h (both directions)"
        if before is not None:
            old = before.iloc[k]
            text += (
                f"<br>baseline {old:,.0f} pax/h ({row.load - old:+,.0f})"
                if np.isfinite(old)
                else "<br>new corridor"
            )
        text += f"<br>busiest direction: load/capacity {row.load_ratio:.2f}"
        hover.append(text)
    background = list(_roads(result)["geometry"]) if "links" in result.tables else []
    return MapLayer(
        key="line_loads",
        title=f"Transit line loads: {result.name}",
        scenario=result.name,
        kind="lines",
        geometry=list(corridors["geometry"]),
        ids=_ids("corridor", corridors.index),
        value=load,
        classes=classes.astype(np.int64),
        legend=legend,
        legend_title=f"crowding (width: passengers/h,<br>max {top:,.0f})",
        hover=hover,
        width=width,
        background=background,
        background_ids=_background_ids(result),
        note="Straight lines between consecutive stops; width grows with passengers per hour, colour shows crowding.",
    )


def _zone_frame(base: ScenarioResult, alternative: ScenarioResult, column: str) -> pd.DataFrame:
    zb = base.tables["zones"].set_index("zone")
    za = alternative.tables["zones"].set_index("zone").reindex(zb.index)
    return pd.DataFrame(
        {
            "lon": zb["lon"],
            "lat": zb["lat"],
            "population": zb["population"],
            "base": zb[column].astype(float),
            "alt": za[column].astype(float),
        }
    )


def access_change_layer(
    base: ScenarioResult, alternative: ScenarioResult, *, column: str | None = None
) -> MapLayer:
    """Change of jobs reachable by transit per zone (``column``, default :func:`access_threshold`)."""
    column = column or access_threshold(base.tables["zones"])
    if column is None:
        raise KeyError("the zones table has no jobs_transit_<T>min column")
    minutes = column.removeprefix("jobs_transit_").removesuffix("min")
    z = _zone_frame(base, alternative, column)
    change = (z["alt"] - z["base"]).to_numpy(float)
    classes, legend = diverging_classes(
        change,
        minimum=1.0,
        low=_LOSS,
        high=_GAIN,
        unit="jobs",
        widths=(1.0, 1.0, 1.0),
        neutral=_NO_CHANGE_JOBS,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(z["base"] > 0, 100.0 * change / z["base"], np.nan)
    hover = [
        f"<b>zone {zone}</b> ({pop:,.0f} residents)<br>jobs within {minutes} min by transit:<br>"
        + (
            f"{b:,.0f} (no change)"
            if abs(d) <= _NO_CHANGE_JOBS
            else f"{b:,.0f} → {a:,.0f} ({d:+,.0f}{'' if not np.isfinite(p) else f', {p:+.1f} %'})"
        )
        for zone, pop, b, a, d, p in zip(
            z.index, z["population"], z["base"], z["alt"], change, pct, strict=True
        )
    ]
    return MapLayer(
        key="access_change",
        title=f"Jobs within {minutes} min by transit: change, {alternative.name}",
        scenario=alternative.name,
        kind="zones",
        geometry=_cells(base),
        ids=_ids("zone", z.index),
        value=change,
        classes=classes,
        legend=legend,
        legend_title=f"change of jobs reachable<br>within {minutes} min by transit",
        hover=hover,
        background=_background(base),
        background_ids=_background_ids(base),
        note="Blue: residents of the zone reach more jobs by transit than in the baseline; red: fewer.",
    )


def winners_losers_layer(
    base: ScenarioResult, alternative: ScenarioResult, *, column: str | None = None
) -> MapLayer:
    """Zones that gain, lose or keep their transit accessibility (``column``), with residents."""
    from ..metrics.equity import gains_losses

    column = column or access_threshold(base.tables["zones"])
    if column is None:
        raise KeyError("the zones table has no jobs_transit_<T>min column")
    minutes = column.removeprefix("jobs_transit_").removesuffix("min")
    z = _zone_frame(base, alternative, column)
    b = z["base"].to_numpy(float)
    a = z["alt"].to_numpy(float)
    pop = z["population"].to_numpy(float)
    classes = np.zeros(len(z), dtype=np.int64)
    for i in range(len(z)):  # the same rule as the headline counts (metrics.equity.gains_losses)
        one = gains_losses(b[i : i + 1], a[i : i + 1], pop[i : i + 1])
        classes[i] = 0 if one["zones_gain"] else 2 if one["zones_lose"] else 1
    totals = gains_losses(b, a, pop)
    legend = (
        MapClass(
            f"gain: {_zones(totals['zones_gain'])}, {totals['population_gain']:,.0f} residents",
            "#1a9850",
        ),
        MapClass(f"no change: {_zones(totals['zones_same'])}", "#dcdcdc"),
        MapClass(
            f"lose: {_zones(totals['zones_lose'])}, {totals['population_lose']:,.0f} residents",
            "#d73027",
        ),
    )
    verdict = ("gains", "no change", "loses")
    hover = [
        f"<b>zone {zone}</b>: {verdict[c]}<br>{p:,.0f} residents<br>jobs within {minutes} min by transit "
        f"{x:,.0f} → {y:,.0f}"
        for zone, c, p, x, y in zip(z.index, classes, pop, b, a, strict=True)
    ]
    return MapLayer(
        key="winners_losers",
        title=f"Winners and losers (transit, {minutes} min): {alternative.name}",
        scenario=alternative.name,
        kind="zones",
        geometry=_cells(base),
        ids=_ids("zone", z.index),
        value=a - b,
        classes=classes,
        legend=legend,
        legend_title=f"jobs within {minutes} min<br>by transit",
        hover=hover,
        background=_background(base),
        background_ids=_background_ids(base),
        note="A zone gains (loses) when its residents reach more (fewer) jobs by transit within the time budget.",
    )


def _zones(count: int) -> str:
    return f"{count} zone{'' if count == 1 else 's'}"


def _background(result: ScenarioResult) -> list[np.ndarray]:
    return list(_roads(result)["geometry"]) if "links" in result.tables else []


def _background_ids(result: ScenarioResult) -> list[str]:
    return _ids("road", _roads(result).index) if "links" in result.tables else []


def _ids(kind: str, index) -> list[str]:
    return [f"{kind}:{i}" for i in index]


def _label(name) -> str:
    if (
        name is None
        or (isinstance(name, float) and not np.isfinite(name))
        or str(name) in ("", "None", "nan")
    ):
        return "unnamed street"
    return str(name).strip("[]").replace("'", "")


@dataclass(frozen=True)
class MapView:
    """One map of the report: one layer, or variants of it to switch between (time budgets).

    Attributes
    ----------
    layers : tuple of MapLayer
        The variants; they share features and differ in value.
    labels : tuple of str
        Button label per variant (empty for a single layer).
    default : int
        The variant shown first (and drawn in the PNG).
    """

    layers: tuple[MapLayer, ...]
    labels: tuple[str, ...] = ()
    default: int = 0

    @property
    def layer(self) -> MapLayer:
        """The default variant."""
        return self.layers[self.default]


def access_columns(zones: pd.DataFrame) -> list[str]:
    """The ``jobs_transit_<T>min`` columns of a zones table, by increasing ``T``."""
    columns = [c for c in zones.columns if re.fullmatch(r"jobs_transit_[0-9.]+min", c)]
    return sorted(columns, key=lambda c: float(c.removeprefix("jobs_transit_").removesuffix("min")))


def _by_budget(make, base: ScenarioResult, alternative: ScenarioResult) -> MapView:
    columns = access_columns(base.tables["zones"])
    layers = tuple(make(base, alternative, column=c) for c in columns)
    labels = tuple(f"{c.removeprefix('jobs_transit_').removesuffix('min')} min" for c in columns)
    return MapView(layers=layers, labels=labels, default=len(columns) // 2)


def report_maps(
    base: ScenarioResult, alternatives: Sequence[ScenarioResult]
) -> list[tuple[str, list[MapView]]]:
    """The maps of a comparison, grouped by scenario: ``[(section title, maps), ...]``.

    The baseline gets v/c and line loads; each alternative gets car flow change, v/c,
    line loads, change of transit accessibility by zone and winners/losers (these two
    for each time budget, the middle one shown first). Maps whose tables are empty (no
    road links, no transit lines, no zones) are left out.
    """
    has_links = len(base.tables.get("links", ())) > 0
    has_lines = len(base.tables.get("segments", ())) > 0
    has_zones = bool(access_columns(base.tables.get("zones", pd.DataFrame())))
    maps = []
    if has_links:
        maps.append(MapView((voc_layer(base),)))
    if has_lines:
        maps.append(MapView((line_load_layer(base),)))
    sections = [(f"Baseline: {base.name}", maps)]
    for alt in alternatives:
        maps = []
        if has_links and len(alt.tables.get("links", ())) > 0:
            maps += [
                MapView((flow_change_layer(base, alt),)),
                MapView((voc_layer(alt, base=base),)),
            ]
        if len(alt.tables.get("segments", ())) > 0:
            maps.append(MapView((line_load_layer(alt, base=base if has_lines else None),)))
        if has_zones:
            maps += [
                _by_budget(access_change_layer, base, alt),
                _by_budget(winners_losers_layer, base, alt),
            ]
        sections.append((f"Alternative: {alt.name}", maps))
    return sections


# ---------------------------------------------------------------------------- plotly
class GeometryStore:
    """Polylines stored once per report and referenced by index from every map.

    A map trace that draws features ``[i, j, ...]`` of the store carries ``"_geo": [i,
    j, ...]`` instead of ``x``/``y``; the page expands it (the features joined with
    gaps) before plotting. The street network then appears once in the page, not once
    per map.
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self.x: list[list[float]] = []
        self.y: list[list[float]] = []

    def add(self, key: str, coords: np.ndarray) -> int:
        """Index of the polyline ``key`` (stored on first use)."""
        if key not in self._index:
            self._index[key] = len(self.x)
            self.x.append(np.round(coords[:, 0], 6).tolist())
            self.y.append(np.round(coords[:, 1], 6).tolist())
        return self._index[key]

    def __len__(self) -> int:
        return len(self.x)

    def to_dict(self) -> dict:
        """``{"x": [[lon, ...], ...], "y": [[lat, ...], ...]}``."""
        return {"x": self.x, "y": self.y}


def _xy(parts: list[np.ndarray], keys: list[str] | None, store: GeometryStore | None) -> dict:
    """Trace coordinates: ``_geo`` indices into ``store``, or ``x``/``y`` joined with gaps."""
    if store is not None and keys is not None and len(keys) == len(parts):
        return {"_geo": [store.add(k, g) for k, g in zip(keys, parts, strict=True)]}
    x: list = []
    y: list = []
    for g in parts:
        if x:
            x.append(None)
            y.append(None)
        x += np.round(g[:, 0], 6).tolist()
        y += np.round(g[:, 1], 6).tolist()
    return {"x": x, "y": y}


def _layer_traces(
    layer: MapLayer,
    store: GeometryStore | None,
    *,
    background: bool = True,
    max_hover: int = MAX_HOVER,
) -> list[dict]:
    """Plotly traces (plain dicts) of one layer: context streets, one trace per class and width, hover points
    (at most ``max_hover``: those of the largest absolute values)."""
    traces: list[dict] = []
    widths = layer.widths()
    ids = layer.ids if len(layer.ids) == len(layer.geometry) else None
    back_ids = layer.background_ids if len(layer.background_ids) == len(layer.background) else None
    context = {
        "type": "scatter",
        "mode": "lines",
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "streets",
    }
    if background and layer.kind == "lines" and layer.background:
        traces.append(
            {
                **context,
                **_xy(layer.background, back_ids, store),
                "line": {"color": _BACKGROUND, "width": 0.8},
            }
        )
    # the strongest classes last (on top): order by line width, then class index
    for k in sorted(range(len(layer.legend)), key=lambda c: (layer.legend[c].width, c)):
        cls = layer.legend[k]
        members = np.flatnonzero(layer.classes == k)
        visible = True if len(members) else "legendonly"
        common = {
            "type": "scatter",
            "mode": "lines",
            "name": cls.label,
            "legendgroup": str(k),
            "legendrank": k,
            "hoverinfo": "skip",
            "visible": visible,
        }
        if layer.kind == "zones":
            traces.append(
                {
                    **common,
                    **_xy(
                        [layer.geometry[i] for i in members],
                        [ids[i] for i in members] if ids else None,
                        store,
                    ),
                    "fill": "toself",
                    "fillcolor": cls.colour,
                    "line": {"color": "#ffffff", "width": 0.6},
                }
            )
            continue
        groups = np.unique(widths[members]) if len(members) else np.array([cls.width])
        for j, w in enumerate(groups):
            which = members[widths[members] == w]
            traces.append(
                {
                    **common,
                    **_xy(
                        [layer.geometry[i] for i in which],
                        [ids[i] for i in which] if ids else None,
                        store,
                    ),
                    "showlegend": j == 0,
                    "line": {"color": cls.colour, "width": float(w), "dash": cls.dash},
                }
            )
    if background and layer.kind == "zones" and layer.background:
        traces.append(
            {
                **context,
                **_xy(layer.background, back_ids, store),
                "line": {"color": "#8a8a8a", "width": 0.5},
            }
        )
    if layer.marks:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": layer.marks_label,
                "hoverinfo": "skip",
                "legendrank": len(layer.legend) + 1,
                **_xy(
                    [layer.geometry[i] for i in layer.marks],
                    [ids[i] for i in layer.marks] if ids else None,
                    store,
                ),
                "line": {"color": _MARK, "width": 1.6, "dash": "dash"},
            }
        )
    if layer.pins:
        at = layer.centres()[layer.pins]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": layer.pins_label,
                "hoverinfo": "skip",
                "legendrank": len(layer.legend) + 2,
                "x": np.round(at[:, 0], 6).tolist(),
                "y": np.round(at[:, 1], 6).tolist(),
                "marker": {
                    "symbol": "x-thin",
                    "size": 11,
                    "line": {"width": 2.5, "color": "#000000"},
                },
            }
        )
    if len(layer.geometry):
        centres = layer.centres()
        keep = np.arange(len(centres))
        if (
            len(keep) > max_hover
        ):  # large networks: details for the features with the largest values
            keep = np.sort(
                np.argsort(-np.abs(np.nan_to_num(layer.value)), kind="stable")[:max_hover]
            )
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "details",
                "showlegend": False,
                "x": np.round(centres[keep, 0], 6).tolist(),
                "y": np.round(centres[keep, 1], 6).tolist(),
                "marker": {
                    "size": 10 if layer.kind == "lines" else 18,
                    "opacity": 0.0,
                    "color": "#000000",
                },
                "hovertext": [layer.hover[i] for i in keep],
                "hovertemplate": "%{hovertext}<extra></extra>",
            }
        )
    return traces


def map_figure(
    view: MapView | MapLayer, *, store: GeometryStore | None = None, height: int = 560
) -> dict:
    """An interactive map as a plotly figure dict: pan, wheel zoom, hover details, legend to toggle classes.

    Longitude and latitude are plain x/y axes at the local aspect ratio: no tiles, no geo
    projection, nothing fetched from the network. A view with several variants gets a
    button per variant (the time budget of an accessibility map). With a ``store``, the
    traces reference its polylines (``_geo``) instead of holding coordinates.
    """
    if isinstance(view, MapLayer):
        view = MapView((view,))
    layer = view.layer
    data: list[dict] = []
    # context streets once, shared by all variants
    if layer.background:
        back_ids = (
            layer.background_ids if len(layer.background_ids) == len(layer.background) else None
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "hoverinfo": "skip",
                "showlegend": False,
                "name": "streets",
                **_xy(layer.background, back_ids, store),
                "line": {
                    "color": _BACKGROUND if layer.kind == "lines" else "#8a8a8a",
                    "width": 0.8 if layer.kind == "lines" else 0.5,
                },
            }
        )
    first = len(data)
    spans = []
    for i, variant in enumerate(view.layers):
        traces = _layer_traces(variant, store, background=False)
        shown = [t.get("visible", True) for t in traces]
        if i != view.default:
            for t in traces:
                t["visible"] = False
        spans.append((len(data), len(data) + len(traces), shown))
        data += traces
    if layer.kind == "zones" and data[:first]:
        data = data[first:] + data[:first]  # streets over the zone fills
        spans = [(a - first, b - first, shown) for a, b, shown in spans]
    x0, y0, x1, y1 = layer.bounds()
    lat0 = (y0 + y1) / 2.0
    pad_x, pad_y = 0.03 * (x1 - x0 or 0.01), 0.03 * (y1 - y0 or 0.01)
    layout = {
        "title": {"text": layer.title, "font": {"size": 15}, "x": 0.01, "xanchor": "left"},
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 44 if len(view.layers) < 2 else 84, "b": 8},
        "plot_bgcolor": "#fbfbfb",
        "paper_bgcolor": "#ffffff",
        "dragmode": "pan",
        "hovermode": "closest",
        "hoverdistance": 30,
        "font": {"family": _FONT_FAMILY, "size": 12},
        "legend": {
            "title": {"text": layer.legend_title},
            "bgcolor": "rgba(255,255,255,0.85)",
            "bordercolor": "#dddddd",
            "borderwidth": 1,
            "x": 0.99,
            "xanchor": "right",
            "y": 0.99,
            "yanchor": "top",
            "font": {"size": 11},
        },
        "xaxis": {"visible": False, "range": [x0 - pad_x, x1 + pad_x]},
        "yaxis": {
            "visible": False,
            "range": [y0 - 2.5 * pad_y, y1 + pad_y],
            "scaleanchor": "x",
            "scaleratio": 1.0 / math.cos(math.radians(lat0)),
        },
        **_scale_bar(x0, y0, x1, y1, lat0),
    }
    if len(view.layers) > 1:
        buttons = []
        for variant, label, (start, stop, shown) in zip(
            view.layers, view.labels, spans, strict=True
        ):
            mask: list = [True] * len(data)
            for a, b, _ in spans:
                mask[a:b] = [False] * (b - a)
            mask[start:stop] = shown
            buttons.append(
                {
                    "label": label,
                    "method": "update",
                    "args": [
                        {"visible": mask},
                        {"title.text": variant.title, "legend.title.text": variant.legend_title},
                    ],
                }
            )
        layout["updatemenus"] = [
            {
                "type": "buttons",
                "direction": "right",
                "buttons": buttons,
                "active": view.default,
                "showactive": True,
                "x": 0.01,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "pad": {"t": 2, "b": 2},
                "font": {"size": 11},
            }
        ]
    return {"data": data, "layout": layout}


def _scale_bar(x0: float, y0: float, x1: float, y1: float, lat0: float) -> dict:
    """Layout ``shapes`` and ``annotations`` of a scale bar in the lower left corner (data units: true when zoomed)."""
    m_per_deg_x = _M_PER_DEG * math.cos(math.radians(lat0))
    width_m = (x1 - x0) * m_per_deg_x
    if width_m <= 0:
        return {}
    length = nice_number(width_m / 6.0)
    if length > width_m / 4.0:
        length /= 2.0
    dx = length / m_per_deg_x
    bx, by = x0, y0 - 0.03 * (y1 - y0 or 0.01)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return {
        "shapes": [
            {
                "type": "line",
                "x0": bx,
                "x1": bx + dx,
                "y0": by,
                "y1": by,
                "line": {"color": "#333333", "width": 3},
            }
        ],
        "annotations": [
            {
                "x": bx + dx,
                "y": by,
                "text": label,
                "showarrow": False,
                "xanchor": "left",
                "xshift": 6,
                "font": {"size": 11, "color": "#333333"},
            }
        ],
    }


# ---------------------------------------------------------------------------- PNG
def _draw_png(layer: MapLayer, path: Path, *, dpi: int = 150) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    x0, y0, x1, y1 = layer.bounds()
    lat0 = (y0 + y1) / 2.0
    aspect = 1.0 / math.cos(math.radians(lat0))
    ratio = (y1 - y0) * aspect / max(x1 - x0, 1e-9)
    # fixed layout (no tight bounding box: one draw per file): the map on the left, the legend on the right
    width_in, map_share = 11.0, 0.68
    height_in = min(max(width_in * map_share * ratio / 0.86, 5.0), 14.0)
    fig = plt.figure(figsize=(width_in, height_in))
    ax = fig.add_axes((0.01, 0.06, map_share, 0.86))
    widths = layer.widths()
    if layer.kind == "lines" and layer.background:
        ax.add_collection(
            LineCollection(layer.background, colors=_BACKGROUND, linewidths=0.6, zorder=1)
        )
    handles = []
    for k in sorted(range(len(layer.legend)), key=lambda c: (layer.legend[c].width, c)):
        cls = layer.legend[k]
        members = np.flatnonzero(layer.classes == k)
        if layer.kind == "zones":
            if len(members):
                ax.add_collection(
                    PolyCollection(
                        [layer.geometry[i] for i in members],
                        facecolors=cls.colour,
                        edgecolors="white",
                        linewidths=0.5,
                        zorder=2,
                    )
                )
            handles.append((k, Patch(facecolor=cls.colour, edgecolor="#999999", label=cls.label)))
        else:
            if len(members):
                ax.add_collection(
                    LineCollection(
                        [layer.geometry[i] for i in members],
                        colors=cls.colour,
                        linewidths=widths[members] * 0.75,
                        linestyles="dotted" if cls.dash == "dot" else "solid",
                        capstyle="round",
                        zorder=2 + cls.width,
                    )
                )
            handles.append(
                (
                    k,
                    Line2D(
                        [],
                        [],
                        color=cls.colour,
                        linewidth=cls.width * 0.75,
                        linestyle=":" if cls.dash == "dot" else "-",
                        label=cls.label,
                    ),
                )
            )
    if layer.kind == "zones" and layer.background:
        ax.add_collection(
            LineCollection(layer.background, colors="#777777", linewidths=0.4, zorder=5)
        )
    if layer.marks:
        ax.add_collection(
            LineCollection(
                [layer.geometry[i] for i in layer.marks],
                colors=_MARK,
                linewidths=1.2,
                linestyles="dashed",
                zorder=20,
            )
        )
        handles.append(
            (
                len(layer.legend),
                Line2D([], [], color=_MARK, linewidth=1.2, linestyle="--", label=layer.marks_label),
            )
        )
    if layer.pins:
        at = layer.centres()[layer.pins]
        ax.scatter(at[:, 0], at[:, 1], marker="x", s=60, linewidths=2.0, color="#000000", zorder=30)
        handles.append(
            (
                len(layer.legend) + 1,
                Line2D(
                    [],
                    [],
                    color="#000000",
                    marker="x",
                    linestyle="none",
                    markersize=7,
                    markeredgewidth=2.0,
                    label=layer.pins_label,
                ),
            )
        )
    handles.sort(key=lambda h: h[0])
    legend_title = layer.legend_title.replace("<br>", "\n")
    fig.legend(
        handles=[h for _, h in handles],
        title=legend_title,
        loc="upper left",
        bbox_to_anchor=(map_share + 0.03, 0.92),
        fontsize=9,
        title_fontsize=10,
        frameon=False,
        alignment="left",
    )
    pad_x, pad_y = 0.03 * (x1 - x0 or 0.01), 0.03 * (y1 - y0 or 0.01)
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    ax.set_aspect(aspect)
    ax.set_axis_off()
    m_per_deg_x = _M_PER_DEG * math.cos(math.radians(lat0))
    width_m = (x1 - x0) * m_per_deg_x
    if width_m > 0:
        length = nice_number(width_m / 6.0)
        if length > width_m / 4.0:
            length /= 2.0
        ax.plot(
            [x0, x0 + length / m_per_deg_x],
            [y0 - pad_y / 2] * 2,
            color="#333333",
            linewidth=3,
            zorder=10,
        )
        ax.annotate(
            f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m",
            (x0 + length / m_per_deg_x, y0 - pad_y / 2),
            textcoords="offset points",
            xytext=(5, 0),
            ha="left",
            va="center",
            fontsize=9,
            color="#333333",
        )
    # titles as figure text: cheaper than axes titles, whose placement lays out the (hidden) axes
    fig.text(0.01, 1.0 - 0.25 / height_in, layer.title, fontsize=13, va="top")
    fig.text(0.01, 0.12 / height_in, layer.note, fontsize=8, color="#555555", va="bottom")
    with atomic_path(path) as tmp:
        fig.savefig(
            tmp, dpi=dpi, format="png", pil_kwargs={"compress_level": 2}
        )  # fast; maps compress well
    plt.close(fig)
    return path


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (lower case, ``-`` between words)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "scenario"


def write_maps(
    base: ScenarioResult,
    alternatives: list[ScenarioResult],
    folder: str | os.PathLike,
    *,
    dpi: int = 150,
) -> list[Path]:
    """PNG maps for slides: the maps of the HTML report, one file each.

    Parameters
    ----------
    base
        The baseline result.
    alternatives
        Results to compare with it.
    folder
        Output folder (created). Each file is written atomically; existing files of the
        same name are replaced.
    dpi
        Resolution of the PNGs (dots per inch; the figures are 11 inches wide).

    Returns
    -------
    list of Path
        ``<nn>-<scenario>-<map>.png`` in the order of the report: the baseline's v/c
        and line loads, then per alternative car flow change, v/c, line loads,
        accessibility change by zone and winners/losers.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    used: set[str] = set()
    for index, (_, views) in enumerate(report_maps(base, alternatives)):
        for layer in (view.layer for view in views):
            stem = f"{index:02d}-{slug(layer.scenario)}-{layer.key.replace('_', '-')}"
            while stem in used:
                stem += "-2"
            used.add(stem)
            paths.append(_draw_png(layer, folder / f"{stem}.png", dpi=dpi))
    return paths
