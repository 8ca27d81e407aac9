"""Hail-and-ride lines: boarding points along the route instead of stops only.

Angkot and similar paratransit stop wherever a passenger hails them or asks to get off.
A line flagged ``Line.hail_and_ride`` is given, for the transit graph, virtual boarding
points along its route so that the usual walk access of the graph (zone to every stop
within walking distance) reaches the route near its nearest point:

* each segment between consecutive stops, of length ``L`` along its geometry, is cut
  into ``ceil(L / spacing_m)`` equal pieces; the cut points become stops of that line
  only (ids ``"<line id>~<k>"``), so the points are at most ``spacing_m`` apart along the
  route and any point of the route is at most ``spacing_m / 2`` from one of them: the
  walk to the route is over-estimated by at most ``spacing_m / 2``;
* the segment's running time is split over the pieces in proportion to their length
  (the vehicle runs at one speed between two stops); the dwell at the line's own
  intermediate stops is added to the piece leaving that stop, and the densified line has
  no dwell at its points (the vehicle stops only when hailed), so end-to-end times are
  unchanged;
* the geometry of a segment is the polyline given for it (the street path), else the
  straight line between its stops.

The transit assignment and accessibility then treat the points as stops: boarding has the
line's frequency, walk transfers between the points and other stops are the usual ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..geo import haversine_m
from .lines import Line

if TYPE_CHECKING:
    from .graph import TransitGraph

#: separator between a line id and the number of one of its boarding points
POINT_SEPARATOR = "~"


def boarding_points(
    line: Line,
    stop_lonlat: np.ndarray,
    running_times_s: np.ndarray,
    *,
    spacing_m: float,
    polylines: Sequence[np.ndarray | None] | None = None,
) -> tuple[Line, pd.DataFrame]:
    """The line with boarding points every ``spacing_m`` or less along its route.

    Parameters
    ----------
    line
        A hail-and-ride line.
    stop_lonlat : (n, 2) float64
        Longitude and latitude (degrees) of the line's stops, in ``line.stop_ids`` order.
    running_times_s : (n - 1,) float64
        In-vehicle time (s) between consecutive stops.
    spacing_m
        Largest distance (m) between two boarding points along the route.
    polylines
        Optional geometry of each segment, (k, 2) lon/lat from its first stop to the next
        (``None`` or fewer than two vertices: the straight line).

    Returns
    -------
    line : Line
        The line through its stops and the points, in order, with running times split by
        distance, the dwell of its intermediate stops added to the time leaving them, and
        ``dwell_s = 0``.
    points : DataFrame
        The new points: index stop id, columns ``name``, ``lon``, ``lat``.
    """
    if not spacing_m > 0:
        raise ValueError(f"spacing_m must be positive, got {spacing_m!r}")
    n = len(line.stop_ids)
    times = np.asarray(running_times_s, dtype=np.float64)
    if stop_lonlat.shape != (n, 2) or times.shape != (n - 1,):
        raise ValueError(
            f"line {line.id!r}: {n} stops need (n, 2) coordinates and n - 1 running times"
        )
    stop_ids: list[str] = [line.stop_ids[0]]
    new_times: list[float] = []
    ids: list[str] = []
    lons: list[float] = []
    lats: list[float] = []
    dwell = line.dwell
    for k in range(n - 1):
        geometry = polylines[k] if polylines is not None else None
        if geometry is None or len(geometry) < 2:
            geometry = stop_lonlat[k : k + 2]
        geometry = np.asarray(geometry, dtype=np.float64)
        piece = haversine_m(geometry[:-1, 0], geometry[:-1, 1], geometry[1:, 0], geometry[1:, 1])
        along = np.r_[0.0, np.cumsum(piece)]
        length = float(along[-1])
        parts = max(1, math.ceil(length / spacing_m)) if length > 0 else 1
        cut_m = length * np.arange(1, parts) / parts
        lon = np.interp(cut_m, along, geometry[:, 0])
        lat = np.interp(cut_m, along, geometry[:, 1])
        for x, y in zip(lon, lat, strict=True):
            point_id = f"{line.id}{POINT_SEPARATOR}{len(ids)}"
            ids.append(point_id)
            lons.append(float(x))
            lats.append(float(y))
            stop_ids.append(point_id)
        stop_ids.append(line.stop_ids[k + 1])
        split = np.full(parts, times[k] / parts)
        if 0 < k:  # the dwell at an intermediate stop, paid when leaving it
            split[0] += dwell
        new_times.extend(split.tolist())
    points = pd.DataFrame(
        {"name": [f"{line.label} (hail point)"] * len(ids), "lon": lons, "lat": lats},
        index=pd.Index(ids, name="stop_id"),
    )
    return (
        line.replace(stop_ids=tuple(stop_ids), running_times_s=tuple(new_times), dwell_s=0.0),
        points,
    )


def ride_pieces(
    departs_from_point: np.ndarray, dwell_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How the ride links of a line densified by :func:`boarding_points` split its
    original stop-to-stop segments.

    Parameters
    ----------
    departs_from_point : (r,) bool
        For each ride link of the densified line, in order: whether it leaves a boarding
        point (``True``) or one of the line's own stops.
    dwell_s
        The original line's dwell at its intermediate stops (s).

    Returns
    -------
    segment : (r,) int64
        The original segment (0-based, in line order) each ride link is part of.
    share : (r,) float64
        Its share of that segment's length and running time (the pieces of a segment are
        equal).
    extra_s : (r,) float64
        Time added to the piece's share of the running time: the dwell at the stop it
        leaves (pieces leaving an intermediate stop of the line), else 0.
    """
    from_point = np.asarray(departs_from_point, dtype=bool)
    if from_point.size and from_point[0]:
        raise ValueError("a densified line starts at one of its own stops, not a point")
    segment = np.cumsum(~from_point) - 1
    parts = np.bincount(segment)
    share = 1.0 / parts[segment]
    extra = np.where(~from_point & (segment > 0), float(dwell_s), 0.0)
    return segment.astype(np.int64), share, extra


def line_pieces(graph: TransitGraph, line: Line) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ride_pieces` of a hail-and-ride ``line`` (as given to
    :func:`~transitopt.transit.graph.build_transit_graph`, before densifying) in
    ``graph``: its ride links in order (``graph.kind == RIDE`` of the line) mapped to its
    stop-to-stop segments."""
    from .graph import RIDE

    li = graph.line_ids.index(line.id)
    rides = np.flatnonzero((graph.kind == RIDE) & (graph.line == li))
    points = graph.hail_points.index if graph.hail_points is not None else []
    is_point = np.isin(graph.stop_ids, np.asarray(points, dtype=str))
    return ride_pieces(is_point[graph.stop[rides]], line.dwell)


def cut_polyline(lonlat: np.ndarray, start: float, end: float) -> np.ndarray:
    """The piece of a lon/lat polyline between shares ``start`` and ``end`` (0..1) of its
    length, measured as :func:`boarding_points` measures it (great-circle metres), so the
    piece ends are the boarding points."""
    xy = np.asarray(lonlat, dtype=np.float64)
    if len(xy) < 2:
        return xy
    step = haversine_m(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    along = np.r_[0.0, np.cumsum(step)]
    total = float(along[-1])
    if total <= 0:
        return xy[:1]
    at = np.array([start, end]) * total
    x = np.interp(at, along, xy[:, 0])
    y = np.interp(at, along, xy[:, 1])
    inside = (along > at[0]) & (along < at[1])
    return np.vstack([[x[0], y[0]], xy[inside], [x[1], y[1]]])
