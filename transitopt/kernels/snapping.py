"""Nearest-node snapping with a uniform grid index and an expanding ring search.

Coordinates are either geographic (longitude/latitude in degrees, distances by the
haversine formula in metres) or planar (distances Euclidean, in coordinate units).
For geographic input the grid lives in a local equirectangular projection whose
east-west scale is that of the largest absolute latitude, so projected distances never
exceed true ones and the ring search can stop as soon as the next ring cannot hold a
closer node (with a 1 % safety margin for great-circle curvature).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._config import njit, njit_parallel

#: mean Earth radius (IUGG), metres
EARTH_RADIUS_M = 6_371_008.8


@njit
def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres between two points given in degrees."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(0.5 * dp) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(0.5 * dl) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@njit
def _distance(x1, y1, x2, y2, geographic):
    if geographic:
        return haversine_m(x1, y1, x2, y2)
    return math.hypot(x2 - x1, y2 - y1)


@njit
def build_grid(gx, gy, n_cells_target):
    """Bucket points ``(gx, gy)`` (projected; at least one, all finite: the caller,
    ``paths.snap_points``, checks) into a uniform grid of about
    ``n_cells_target`` square cells. Returns ``(x0, y0, cell, nx, ny, ptr, items)``:
    cell ``(i, j)`` holds ``items[ptr[j * nx + i] : ptr[j * nx + i + 1]]``."""
    n = gx.size
    # the extent by one loop, not gx.min() and friends: numba's array reductions compile
    # for about a second on a first run, and these are the demo's only ones (the points
    # are finite: no NaN to propagate)
    x0 = x1 = gx[0]
    y0 = y1 = gy[0]
    for k in range(1, n):
        x0 = min(x0, gx[k])
        x1 = max(x1, gx[k])
        y0 = min(y0, gy[k])
        y1 = max(y1, gy[k])
    w = max(x1 - x0, 1e-9)
    h = max(y1 - y0, 1e-9)
    cell = max(math.sqrt(w * h / max(n_cells_target, 1)), max(w, h) / 4096.0, 1e-9)
    nx = int(w / cell) + 1
    ny = int(h / cell) + 1
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    which = np.empty(n, dtype=np.int64)
    for k in range(n):
        i = min(int((gx[k] - x0) / cell), nx - 1)
        j = min(int((gy[k] - y0) / cell), ny - 1)
        which[k] = j * nx + i
        counts[which[k] + 1] += 1
    for c in range(nx * ny):
        counts[c + 1] += counts[c]
    fill = counts[:-1].copy()
    items = np.empty(n, dtype=np.int64)
    for k in range(n):
        items[fill[which[k]]] = k
        fill[which[k]] += 1
    return x0, y0, cell, nx, ny, counts, items


@njit
def _scan_cell(c, ptr, items, cand, nodes_x, nodes_y, px, py, geographic, best, best_k):
    for q in range(ptr[c], ptr[c + 1]):
        k = items[q]
        d = _distance(px, py, nodes_x[cand[k]], nodes_y[cand[k]], geographic)
        if d < best or (d == best and cand[k] < best_k):
            best = d
            best_k = cand[k]
    return best, best_k


@njit
def _nearest_one(
    p, px, py, pgx, pgy, nodes_x, nodes_y, cand, x0, y0, cell, nx, ny, ptr, items, geographic
):
    """Ring search for point ``p``; returns ``(node, distance)``."""
    margin = 0.99 if geographic else 1.0
    fx = (pgx[p] - x0) / cell
    fy = (pgy[p] - y0) / cell
    ci = int(math.floor(max(min(fx, 2.0**52), -(2.0**52))))
    cj = int(math.floor(max(min(fy, 2.0**52), -(2.0**52))))
    # first ring that meets the grid, last ring that can
    r0 = max(0, -ci, ci - (nx - 1), -cj, cj - (ny - 1))
    r_max = max(ci, nx - 1 - ci, cj, ny - 1 - cj, r0)
    best = np.inf
    best_k = np.int64(-1)  # not the constant -1: _scan_cell compiles for int64 only
    for r in range(r0, r_max + 1):
        for j in range(max(cj - r, 0), min(cj + r, ny - 1) + 1):
            if j == cj - r or j == cj + r:  # top or bottom row of the ring: all its cells
                i_first, i_last, i_step = max(ci - r, 0), min(ci + r, nx - 1), 1
            else:  # a row in between: its two end cells (r > 0 here)
                i_first, i_last, i_step = ci - r, ci + r, 2 * r
            for i in range(i_first, i_last + 1, i_step):
                if 0 <= i < nx:
                    best, best_k = _scan_cell(
                        j * nx + i, ptr, items, cand, nodes_x, nodes_y, px[p], py[p], geographic,
                        best, best_k,
                    )  # fmt: skip
        # every node beyond ring r is at least r cells away
        if best_k >= 0 and best < margin * r * cell:
            break
    return best_k, best


@njit_parallel
def nearest_nodes(
    px, py, pgx, pgy, nodes_x, nodes_y, cand, x0, y0, cell, nx, ny, ptr, items, geographic
):
    """Nearest candidate node of each point. ``px, py``: points in input coordinates,
    ``pgx, pgy``: the same projected like the grid; ``cand``: node index of each grid
    item. Returns ``(node, distance)``; ties go to the lowest node index. Parallel over
    points."""
    n_pts = px.size
    node = np.empty(n_pts, dtype=np.int64)
    dist = np.empty(n_pts)
    for p in prange(n_pts):
        node[p], dist[p] = _nearest_one(
            np.int64(p),  # the prange index is unsigned
            px,
            py,
            pgx,
            pgy,
            nodes_x,
            nodes_y,
            cand,
            x0,
            y0,
            cell,
            nx,
            ny,
            ptr,
            items,
            geographic,
        )
    return node, dist
