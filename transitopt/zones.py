"""Zones for skims and accessibility: a regular grid over the network, or a user's points.

A zone is a point (``x``, ``y`` in the network's CRS, usually lon/lat degrees) with an
id; it attaches to the network at its nearest node (``node``, compiled index) found
by :func:`transitopt.paths.snap_points`. Coordinates are degrees for EPSG:4326.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import InputFileError, SnappingError
from .network.compiled import Network

EARTH_RADIUS_M = 6_371_008.8


def grid_zones(network: Network, *, cell_size_m: float = 500.0) -> pd.DataFrame:
    """Square grid of ``cell_size_m`` cells over the network; keeps cells holding a node.

    Returns a DataFrame with ``zone`` (int, from 1), ``x``, ``y`` (cell centre) and
    ``n_nodes`` (network nodes inside the cell). For EPSG:4326 networks the grid is laid
    in a local equirectangular projection around the network centre (metres).
    """
    if not cell_size_m > 0:
        raise ValueError(f"cell_size_m must be positive, got {cell_size_m}")
    x, y = network.node_x, network.node_y
    if network.n_nodes == 0 or not np.isfinite(x).any():
        raise SnappingError("the network has no node coordinates to lay a grid over")
    geographic = network.crs is None or "4326" in str(network.crs)
    if geographic:
        lat0 = np.deg2rad(np.nanmean(y))
        metres_per_deg_x = np.deg2rad(1.0) * EARTH_RADIUS_M * np.cos(lat0)
        metres_per_deg_y = np.deg2rad(1.0) * EARTH_RADIUS_M
    else:
        metres_per_deg_x = metres_per_deg_y = 1.0
    x0, y0 = np.nanmin(x), np.nanmin(y)
    col = np.floor((x - x0) * metres_per_deg_x / cell_size_m).astype(np.int64)
    row = np.floor((y - y0) * metres_per_deg_y / cell_size_m).astype(np.int64)
    cells = pd.DataFrame({"row": row, "col": col}).value_counts().rename("n_nodes").reset_index()
    cells = cells.sort_values(["row", "col"]).reset_index(drop=True)
    cells["x"] = x0 + (cells["col"] + 0.5) * cell_size_m / metres_per_deg_x
    cells["y"] = y0 + (cells["row"] + 0.5) * cell_size_m / metres_per_deg_y
    cells.insert(0, "zone", np.arange(1, len(cells) + 1))
    return cells[["zone", "x", "y", "n_nodes"]]


def read_zone_points(path: str | os.PathLike) -> pd.DataFrame:
    """Zones from a CSV with columns ``zone`` (or ``id``), ``lon``/``x`` and ``lat``/``y``."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: zone file not found")
    try:
        table = pd.read_csv(path)
    except Exception as exc:  # pandas raises several types for malformed CSV
        raise InputFileError(f"{path}: cannot read as CSV ({exc})") from None
    columns = {c.lower(): c for c in table.columns}

    def pick(*names: str) -> str:
        for name in names:
            if name in columns:
                return columns[name]
        raise InputFileError(f"{path}: needs a column named one of {names}; found {list(table.columns)}")

    zones = pd.DataFrame(
        {
            "zone": table[pick("zone", "id")],
            "x": pd.to_numeric(table[pick("lon", "x", "longitude")], errors="coerce"),
            "y": pd.to_numeric(table[pick("lat", "y", "latitude")], errors="coerce"),
        }
    )
    bad = zones[zones[["x", "y"]].isna().any(axis=1)]
    if len(bad):
        raise InputFileError(f"{path}: zone {bad['zone'].iloc[0]!r} has no numeric coordinates")
    if zones["zone"].duplicated().any():
        raise InputFileError(f"{path}: zone id {zones['zone'][zones['zone'].duplicated()].iloc[0]!r} appears twice")
    return zones
