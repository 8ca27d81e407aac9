"""The path of an OSM route relation along its ways, and the stops found beside it.

Used by :mod:`transitopt.transit.osm_routes` for relations mapped the older way: with
ways but no stop members (derive the stops), or with ``forward_stop`` / ``backward_stop``
roles for both directions in one relation (order each direction's stops along its ways).

:func:`chain_ways` joins the relation's ways, in member order, into one path: each way
is entered at the node it shares with the previous way and left at the node it shares
with the next one, so reversed ways, ways that run past a junction and roundabouts
(closed ways, traversed in their drawing direction) come out right. Where two
consecutive ways share no node the path jumps to the nearest vertex of the next way
and the jump is counted as a gap. :func:`stops_along` projects candidate stops onto the
path and returns those within a distance of it, ordered by their position along it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geo import local_xy

#: one way of a relation: its nodes in drawing order as (node id, lon, lat)
WayNodes = list[tuple[int, float, float]]


@dataclass(frozen=True)
class RoutePath:
    """A route's path as a polyline.

    Attributes
    ----------
    lon, lat : numpy.ndarray
        Vertices in travel order (degrees), at least two.
    gaps : int
        Joins where consecutive ways share no node (the path jumps straight across).
    """

    lon: np.ndarray
    lat: np.ndarray
    gaps: int

    @property
    def length_m(self) -> float:
        """Length of the path (m), gaps included as straight jumps."""
        x, y = local_xy(self.lon, self.lat, float(np.mean(self.lat)))
        return float(np.hypot(np.diff(x), np.diff(y)).sum())


def chain_ways(ways: list[WayNodes]) -> RoutePath | None:
    """Join ways (in travel order) into one path; None with fewer than two vertices.

    Parameters
    ----------
    ways
        The nodes of each way, in the order the route uses the ways; a way's own
        drawing direction may be either way round.
    """
    ways = [w for w in ways if w]
    points: list[tuple[float, float]] = []
    gaps = 0
    entry_node: int | None = None
    entry_xy: tuple[float, float] | None = None
    for k, way in enumerate(ways):
        ids = [n for n, _, _ in way]
        closed = len(ids) > 2 and ids[0] == ids[-1]
        if closed:
            way, ids = way[:-1], ids[:-1]
        nxt = ways[k + 1] if k + 1 < len(ways) else None
        exit_index = _shared_index(ids, nxt) if nxt is not None else None
        if k == 0:
            entry = _first_entry(len(ids), exit_index)
        elif entry_node in ids:
            entry = ids.index(entry_node)
        else:
            gaps += 1
            entry = _nearest_index(way, entry_xy)
        if exit_index is None:  # the last way, or a gap follows: run to the far end
            exit_index = 0 if entry > (len(ids) - 1) / 2 else len(ids) - 1
            if closed:
                exit_index = (entry - 1) % len(ids)
        part = _between(way, entry, exit_index, closed)
        if points and part and (part[0][1], part[0][2]) == points[-1]:
            part = part[1:]
        points.extend((lon, lat) for _, lon, lat in part)
        last = way[exit_index]
        entry_node, entry_xy = last[0], (last[1], last[2])
    if len(points) < 2:
        return None
    xy = np.asarray(points, dtype=np.float64)
    return RoutePath(lon=xy[:, 0], lat=xy[:, 1], gaps=gaps)


def _shared_index(ids: list[int], nxt: WayNodes) -> int | None:
    """Where to leave a way for the next one: a shared node, an end of the next way first."""
    next_ids = [n for n, _, _ in nxt]
    for candidate in (next_ids[0], next_ids[-1], *next_ids[1:-1]):
        if candidate in ids:
            return ids.index(candidate)
    return None


def _first_entry(n: int, exit_index: int | None) -> int:
    """The end of the first way farther from where it is left."""
    if exit_index is None:
        return 0
    return n - 1 if exit_index < (n - 1) / 2 else 0


def _nearest_index(way: WayNodes, xy: tuple[float, float] | None) -> int:
    """Index of the vertex of ``way`` nearest to ``xy`` (lon, lat)."""
    if xy is None:
        return 0
    lon = np.array([p[1] for p in way])
    lat = np.array([p[2] for p in way])
    x, y = local_xy(lon, lat, xy[1])
    x0, y0 = local_xy(xy[0], xy[1], xy[1])
    return int(np.argmin(np.hypot(x - x0, y - y0)))


def _between(way: WayNodes, start: int, stop: int, closed: bool) -> WayNodes:
    """The vertices from ``start`` to ``stop`` inclusive; a closed way forward around."""
    if closed:
        n = len(way)
        steps = (stop - start) % n
        return [way[(start + i) % n] for i in range(steps + 1)]
    if start <= stop:
        return way[start : stop + 1]
    return way[start : stop - 1 if stop > 0 else None : -1]


def project(path: RoutePath, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points to the path and their position along it.

    A point near several parts of the path (a road used twice) is placed at the first
    part within 1 m of its least distance.

    Returns
    -------
    offset_m : numpy.ndarray
        Distance from each point to the path (m).
    along_m : numpy.ndarray
        Distance along the path to the point's foot on it (m).
    """
    offset, along, _ = project_sided(path, lon, lat)
    return offset, along


def project_sided(
    path: RoutePath, lon: np.ndarray, lat: np.ndarray, *, prefer_side: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`project`, and the side of the path each point lies on.

    With ``prefer_side`` (``-1`` right, ``+1`` left of the travel direction), a point near
    several parts of the path is placed at the first of them it lies on that side of
    (a road run out and back: a platform belongs to the pass it is on the kerb of), else
    at the first part as :func:`project` does.

    Returns
    -------
    offset_m, along_m : numpy.ndarray
        As :func:`project`.
    side : numpy.ndarray of int8
        ``+1`` left of the travel direction, ``-1`` right of it, ``0`` on the path, taken
        at the part of the path the point is placed at.
    """
    lat0 = float(np.mean(path.lat))
    px, py = local_xy(path.lon, path.lat, lat0)
    qx, qy = local_xy(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64), lat0)
    ax, ay = px[:-1], py[:-1]
    dx, dy = np.diff(px), np.diff(py)
    seg = np.hypot(dx, dy)
    chain = np.concatenate(([0.0], np.cumsum(seg)))[:-1]
    length2 = np.where(seg > 0, seg**2, 1.0)
    t = ((qx[:, None] - ax) * dx + (qy[:, None] - ay) * dy) / length2
    t = np.clip(t, 0.0, 1.0)
    dist = np.hypot(ax + t * dx - qx[:, None], ay + t * dy - qy[:, None])
    offset = dist.min(axis=1) if dist.size else np.full(len(qx), np.inf)
    nearest = dist <= offset[:, None] + 1.0
    first = np.argmax(nearest, axis=1)
    if prefer_side and dist.size:
        cross_all = dx * (qy[:, None] - ay) - dy * (qx[:, None] - ax)
        on_side = nearest & (cross_all * prefer_side > 0)
        first = np.where(on_side.any(axis=1), np.argmax(on_side, axis=1), first)
    rows = np.arange(len(qx))
    along = chain[first] + t[rows, first] * seg[first]
    if len(qx) == 0 or len(seg) == 0:
        return offset, along, np.zeros(len(qx), dtype=np.int8)
    cross = dx[first] * (qy - ay[first]) - dy[first] * (qx - ax[first])
    side = np.where(offset > 1e-6, np.sign(cross), 0.0).astype(np.int8)
    return offset, along, side


def stops_along(
    path: RoutePath,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    max_offset_m: float,
    merge_along_m: float,
    travel_side: int = 0,
) -> list[int]:
    """Indices of the candidate stops served by a route, in travel order.

    A candidate is served when it lies within ``max_offset_m`` of the path. Served
    candidates closer than ``merge_along_m`` to the previous one along the path are one
    stop (the two platforms of a road, a platform and its stop position): the one
    nearest the path is kept. ``travel_side``: the kerb side buses stop at (``-1`` right,
    ``+1`` left; see :func:`project_sided`), used to place candidates on a road the path
    runs twice.
    """
    if len(lon) == 0:
        return []
    offset, along, _ = project_sided(path, lon, lat, prefer_side=travel_side)
    served = np.flatnonzero(offset <= max_offset_m)
    served = served[np.argsort(along[served], kind="stable")]
    kept: list[int] = []
    for i in served:
        if kept and along[i] - along[kept[-1]] < merge_along_m:
            if offset[i] < offset[kept[-1]]:
                kept[-1] = int(i)
            continue
        kept.append(int(i))
    return kept
