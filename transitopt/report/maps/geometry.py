"""Map geometry: lon/lat polylines of links, the middle of a line, zone cells.

Everything here works on plain lon/lat arrays (degrees); distances use a local
equirectangular projection around the mean latitude.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...geo import METRES_PER_DEGREE


def vertex_arrays(parts: list) -> list[np.ndarray]:
    """``parts`` as (n, 2) float64 vertex arrays: as they are where they already are (a
    city's 100,000s of streets: no conversion call per street), else converted."""
    if all(
        type(g) is np.ndarray and g.ndim == 2 and g.shape[1] == 2 and g.dtype == np.float64
        for g in parts
    ):
        return parts
    return [np.asarray(g, dtype=np.float64).reshape(-1, 2) for g in parts]


def midpoint(line: np.ndarray) -> np.ndarray:
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


def midpoints(lines: list[np.ndarray]) -> np.ndarray:
    """(n, 2) :func:`midpoint` of each polyline; straight two-point lines all at once
    (the same arithmetic), the others one by one."""
    out = np.empty((len(lines), 2))
    two = np.array([len(g) == 2 for g in lines], dtype=bool)
    if two.any():
        ends = np.stack([g for g, t in zip(lines, two, strict=True) if t])  # (k, 2, 2)
        a, b = ends[:, 0], ends[:, 1]
        step = np.hypot(*(b - a).T)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(step > 0, (step / 2.0) / step, 0.0)
        mid = a + t[:, None] * (b - a)
        out[two] = np.where((step <= 0)[:, None], a, mid)
    for i in np.flatnonzero(~two):
        out[i] = midpoint(lines[i])
    return out


def link_geometry(links: pd.DataFrame, lines: np.ndarray | None = None) -> list[np.ndarray]:
    """lon/lat polyline per link: ``geometry_wkt`` where present, else ``x0, y0`` → ``x1, y1``.

    ``lines``: the links' geometries already parsed (:func:`~transitopt.network.export.link_lines`
    of ``links``, as the result's GeoPackage writer keeps them), so the text is not parsed again.
    """
    straight = np.stack([links[c].to_numpy(float) for c in ("x0", "y0", "x1", "y1")], axis=1)
    straight = straight.reshape(-1, 2, 2)
    if "geometry_wkt" not in links.columns:
        return list(straight)
    import shapely

    wkt = links["geometry_wkt"].to_numpy(object)
    has = np.array([isinstance(w, str) and w.startswith("LINESTRING") for w in wkt], dtype=bool)
    if not has.any():
        return list(straight)
    geoms = shapely.from_wkt(wkt[has]) if lines is None else lines[has]
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    parts = np.split(coords, np.cumsum(np.bincount(index, minlength=len(geoms)))[:-1])
    if has.all():  # every link has its shape (an OSM network)
        return parts
    out = list(straight)
    for k, i in enumerate(np.flatnonzero(has).tolist()):
        out[i] = parts[k]
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
    kx = METRES_PER_DEGREE * math.cos(math.radians(lat0))
    xy = np.column_stack([(lon - lon0) * kx, (lat - lat0) * METRES_PER_DEGREE])
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
        rings.append(
            np.column_stack([ring[:, 0] / kx + lon0, ring[:, 1] / METRES_PER_DEGREE + lat0])
        )
    return rings
