"""Zones for skims, demand and accessibility: a regular grid, a user's polygons or points.

The zone contract: a zone has an id (``zone``, integer, unique), a centroid (``x``,
``y`` in the network's CRS: longitude and latitude in degrees for EPSG:4326), for grids
and polygons a ``geometry``, and optionally ``population`` and ``jobs`` (numbers >= 0).
:func:`read_zones` is the one reader of zone files (CSV points, GeoPandas formats). A
zone attaches to a network at the node nearest its centroid, found by
:func:`transitopt.paths.snap_points` (:func:`attach_zones`).

Zones that cannot attach are never dropped silently. :func:`attach_zones` treats a
polygon with no street node inside it, and any zone whose centroid lies farther than
``max_snap_m`` from every node, by its ``on_unattached`` argument: ``"drop"`` (default;
a warning gives the count and the first ids, and ``zones.attrs["dropped_zones"]``
lists them all), ``"raise"`` (:class:`~transitopt.SnappingError`) or ``"keep"``
(polygons without nodes attach to the nearest node outside them; ``max_snap_m`` still
applies). Grid zones hold at least one node by construction.

Grids are laid in a local equirectangular projection (metres) around the network
centre when the network is geographic, else in the network's own (planar) units.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ._errors import InputFileError, SnappingError
from .geo import METRES_PER_DEGREE, local_xy
from .network.compiled import Network

#: file endings :func:`read_zones` reads as polygons or points through GeoPandas
GEO_FORMATS = (".gpkg", ".geojson", ".json", ".shp", ".parquet", ".fgb")
#: column spellings :func:`read_zones` accepts for the zone id and the centroid (any case)
ID_COLUMNS = ("zone", "id")
X_COLUMNS = ("lon", "x", "longitude")
Y_COLUMNS = ("lat", "y", "latitude")
#: optional zone columns that must hold numbers >= 0 (residents, jobs)
COUNT_COLUMNS = ("population", "jobs")

Shape = Literal["square", "hexagon"]
OnUnattached = Literal["drop", "raise", "keep"]
#: what :func:`zone_weights` splits city totals by
Weighting = Literal["street_length", "nodes", "stops", "uniform"]


# ----------------------------------------------------------------------------- grids


def grid_zones(
    network: Network,
    *,
    cell_size_m: float = 500.0,
    shape: Shape = "square",
    geometry: bool = False,
) -> pd.DataFrame:
    """Regular grid of cells over the network; keeps the cells holding a node.

    Parameters
    ----------
    network : Network
        The compiled network; the grid covers its nodes.
    cell_size_m : float
        Square side, or hexagon width across flats (= distance between neighbouring
        hexagon centres), in metres (CRS units for planar networks).
    shape : {"square", "hexagon"}
        Cell shape. Hexagons are pointy-top, in rows ``cell_size_m * sqrt(3) / 2`` apart.
    geometry : bool
        Return a GeoDataFrame with each cell's polygon (in the network's CRS).

    Returns
    -------
    DataFrame or GeoDataFrame
        ``zone`` (int, from 1, ordered by row then column from the south-west), ``x``,
        ``y`` (cell centre) and ``n_nodes`` (network nodes inside the cell), plus
        ``geometry`` when asked.
    """
    if not cell_size_m > 0:
        raise ValueError(f"cell_size_m must be positive, got {cell_size_m}")
    if shape not in ("square", "hexagon"):
        raise ValueError(f"shape must be 'square' or 'hexagon', not {shape!r}")
    x, y = network.node_x, network.node_y
    if network.n_nodes == 0 or not np.isfinite(x).any():
        raise SnappingError("the network has no node coordinates to lay a grid over")
    kx, ky = _metres_per_unit(network)
    x0, y0 = np.nanmin(x), np.nanmin(y)
    mx, my = (x - x0) * kx, (y - y0) * ky
    ok = np.isfinite(mx) & np.isfinite(my)
    if shape == "square":
        col = np.floor(mx[ok] / cell_size_m).astype(np.int64)
        row = np.floor(my[ok] / cell_size_m).astype(np.int64)
    else:
        col, row = _hex_cells(mx[ok], my[ok], cell_size_m)
    cells = pd.DataFrame({"row": row, "col": col}).value_counts().rename("n_nodes").reset_index()
    cells = cells.sort_values(["row", "col"]).reset_index(drop=True)
    cx, cy = _cell_centres(cells["col"].to_numpy(), cells["row"].to_numpy(), cell_size_m, shape)
    cells["x"] = x0 + cx / kx
    cells["y"] = y0 + cy / ky
    cells.insert(0, "zone", np.arange(1, len(cells) + 1))
    out = cells[["zone", "x", "y", "n_nodes"]]
    if not geometry:
        return out
    import geopandas as gpd

    corners = _cell_corners(cx, cy, cell_size_m, shape)  # (z, k, 2) metres
    polygons = _polygons(x0 + corners[..., 0] / kx, y0 + corners[..., 1] / ky)
    return gpd.GeoDataFrame(out, geometry=polygons, crs=network.crs)


def _metres_per_unit(network: Network) -> tuple[float, float]:
    """Metres per CRS unit along x and y (equirectangular at the mean latitude)."""
    if network.crs is None or "4326" in str(network.crs):
        lat0 = math.radians(float(np.nanmean(network.node_y)))
        return METRES_PER_DEGREE * math.cos(lat0), METRES_PER_DEGREE
    return 1.0, 1.0


def _hex_cells(mx: np.ndarray, my: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointy-top hexagon (column, row) in offset coordinates of points in metres.

    Axial coordinates by cube rounding (Red Blob Games, "Hexagonal Grids"); odd rows
    are shifted half a cell east.
    """
    radius = size / math.sqrt(3.0)  # centre to corner
    q = (math.sqrt(3.0) / 3.0 * mx - my / 3.0) / radius
    r = (2.0 / 3.0 * my) / radius
    cx, cz = q, r
    cy = -cx - cz
    rx, ry, rz = np.round(cx), np.round(cy), np.round(cz)
    dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
    fix_x = (dx > dy) & (dx > dz)
    fix_y = ~fix_x & (dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(~fix_x & ~fix_y, -rx - ry, rz)
    q_axial = rx.astype(np.int64)
    row = rz.astype(np.int64)
    col = q_axial + (row - (row & 1)) // 2
    return col, row


def _cell_centres(
    col: np.ndarray, row: np.ndarray, size: float, shape: Shape
) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres in metres from the grid origin."""
    if shape == "square":
        return (col + 0.5) * size, (row + 0.5) * size
    return size * (col + 0.5 * (row & 1)), size * math.sqrt(3.0) / 2.0 * row


def _cell_corners(cx: np.ndarray, cy: np.ndarray, size: float, shape: Shape) -> np.ndarray:
    """(n_cells, n_corners, 2) polygon corners in metres."""
    if shape == "square":
        h = size / 2.0
        off = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    else:
        radius = size / math.sqrt(3.0)
        angles = np.deg2rad(30.0 + 60.0 * np.arange(6))
        off = np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])
    return np.stack([cx, cy], axis=-1)[:, None, :] + off[None, :, :]


def _polygons(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    import shapely

    rings = np.stack([xs, ys], axis=-1)
    return shapely.polygons(np.concatenate([rings, rings[:, :1]], axis=1))


# ----------------------------------------------------------------------------- user zones


def zones_from_polygons(polygons: Any, *, id_column: str | None = None) -> Any:
    """Zones from a GeoDataFrame of polygons (or points).

    Parameters
    ----------
    polygons : GeoDataFrame
        One row per zone. Reprojected to EPSG:4326 when it has another CRS.
    id_column : str, optional
        Column holding integer zone ids; default ``zone`` or ``id`` if present, else
        1..n in row order.

    Returns
    -------
    GeoDataFrame
        ``zone``, ``x``, ``y`` (centroid, computed in a local metric projection), the
        other columns, and ``geometry``.
    """
    import geopandas as gpd

    if not isinstance(polygons, gpd.GeoDataFrame):
        raise TypeError(f"expected a GeoDataFrame of zone polygons, got {type(polygons).__name__}")
    gdf = polygons.copy()
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    if missing.any():
        raise InputFileError(
            f"zone row {int(np.flatnonzero(missing.to_numpy())[0])} has no geometry"
        )
    ids = _zone_ids(gdf, id_column, row_name="feature", first_row=1)
    if len(gdf):
        metric = gdf.to_crs(gdf.estimate_utm_crs())
        centroids = metric.geometry.centroid.to_crs("EPSG:4326")
        cx, cy = centroids.x.to_numpy(), centroids.y.to_numpy()
    else:
        cx = cy = np.empty(0)
    rest = [c for c in gdf.columns if c not in ("zone", gdf.geometry.name) and c != id_column]
    out = pd.DataFrame({"zone": ids, "x": cx, "y": cy}, index=gdf.index)
    for c in rest:
        if c not in ("x", "y"):
            out[c] = gdf[c].to_numpy()
    return gpd.GeoDataFrame(
        out.reset_index(drop=True), geometry=gdf.geometry.to_numpy(), crs="EPSG:4326"
    )


def _zone_ids(
    table: pd.DataFrame, id_column: str | None, *, row_name: str = "row", first_row: int = 0
) -> np.ndarray:
    if id_column is None:
        id_column = next((c for c in ID_COLUMNS if c in table.columns), None)
        if id_column is None:
            return np.arange(1, len(table) + 1, dtype=np.int64)
    if id_column not in table.columns:
        raise InputFileError(
            f"zone id column {id_column!r} not found; columns are {list(table.columns)}"
        )
    raw = pd.to_numeric(table[id_column], errors="coerce")
    values = raw.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{row_name} {k + first_row}: zone id {_shown(table[id_column].iloc[k])} in column "
            f"{id_column!r} is not an integer"
        )
    ids = values.astype(np.int64)
    dup = pd.Series(ids).duplicated().to_numpy()
    if dup.any():
        k = int(np.flatnonzero(dup)[0])
        raise InputFileError(
            f"{row_name} {k + first_row}: zone id {ids[k]} appears twice in column {id_column!r}"
        )
    return ids


def read_zones(
    path: str | os.PathLike, *, id_column: str | None = None, layer: str | None = None
) -> Any:
    """Zones from a file: polygons or points (GeoPackage, GeoJSON, ...) or a CSV of points.

    The one zone reader of transitopt (the scenario files, the CLI and scripts all use
    it). Every file gives the same zone table.

    Parameters
    ----------
    path : path
        ``.gpkg``, ``.geojson``, ``.json``, ``.shp``, ``.parquet``, ``.fgb`` (read with
        GeoPandas), or ``.csv`` with an id column (``zone`` or ``id``) and the centroid
        (``lon``/``x``/``longitude`` and ``lat``/``y``/``latitude``, degrees), any letter
        case.
    id_column : str, optional
        Integer zone id column (default ``zone`` or ``id``; GeoPandas files without one
        number their features 1..n).
    layer : str, optional
        Layer of a multi-layer file (GeoPackage).

    Returns
    -------
    GeoDataFrame
        ``zone`` (int64, unique), ``x``, ``y`` (centroid, EPSG:4326 degrees), the file's
        other columns and ``geometry`` (polygons, or points for a CSV). Optional
        :data:`COUNT_COLUMNS` (``population``, ``jobs``) hold numbers >= 0.

    Raises
    ------
    InputFileError
        The file is missing or unreadable, or a row breaks the contract; the message
        names the file, the row and the column.
    """
    import geopandas as gpd

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: zone file not found")
    name = path.name.lower()
    if name.endswith(".csv"):
        points = _read_zone_csv(path, id_column)
        return gpd.GeoDataFrame(
            points, geometry=gpd.points_from_xy(points["x"], points["y"]), crs="EPSG:4326"
        )
    if not name.endswith(GEO_FORMATS):
        raise InputFileError(
            f"{path}: unknown zone file type; expected .csv or one of {GEO_FORMATS}"
        )
    try:
        if name.endswith(".parquet"):
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except Exception as exc:  # fiona/pyogrio raise many types for unreadable files
        raise InputFileError(f"{path}: cannot read zones ({exc})") from None
    if len(gdf) == 0:
        raise InputFileError(f"{path}: the zone file has no features")
    try:
        zones = zones_from_polygons(gdf, id_column=id_column)
        _check_counts(zones, row_name="feature", first_row=1)
    except InputFileError as exc:
        raise InputFileError(f"{path}: {exc}") from None
    return zones


def _read_zone_csv(path: Path, id_column: str | None) -> pd.DataFrame:
    """``zone``, ``x``, ``y`` and the other columns of a CSV of zone points."""
    try:
        table = pd.read_csv(path)
    except Exception as exc:  # pandas raises several types for malformed CSV
        raise InputFileError(f"{path}: cannot read as CSV ({exc})") from None
    columns = {c.lower(): c for c in table.columns}

    def pick(names: tuple[str, ...]) -> str:
        for name in names:
            if name in columns:
                return columns[name]
            if name in table.columns:
                return name
        raise InputFileError(
            f"{path}: needs a column named one of {names}; found {list(table.columns)}"
        )

    id_name = pick((id_column,) if id_column is not None else ID_COLUMNS)
    x_name, y_name = pick(X_COLUMNS), pick(Y_COLUMNS)
    try:
        ids = _zone_ids(table, id_name, row_name="line", first_row=2)
        zones = pd.DataFrame({"zone": ids})
        for out, column in (("x", x_name), ("y", y_name)):
            zones[out] = _numbers(table, column, ids, row_name="line", first_row=2)
        for column in table.columns:
            if column not in (id_name, x_name, y_name) and column not in ("zone", "x", "y"):
                zones[column] = table[column].to_numpy()
        _check_counts(zones, row_name="line", first_row=2)
    except InputFileError as exc:
        raise InputFileError(f"{path}: {exc}") from None
    return zones


def _numbers(
    table: pd.DataFrame,
    column: str,
    ids: np.ndarray,
    *,
    row_name: str,
    first_row: int,
    non_negative: bool = False,
) -> np.ndarray:
    """Column ``column`` as float64; an error names the first row that is not a number."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | ((values < 0) if non_negative else False)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        expected = "a number >= 0" if non_negative else "a number"
        raise InputFileError(
            f"{row_name} {k + first_row} (zone {ids[k]}): column {column!r} is "
            f"{_shown(table[column].iloc[k])}; expected {expected}"
        )
    return values


def _shown(value: Any) -> str:
    """A cell value for a message: text quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _check_counts(zones: pd.DataFrame, *, row_name: str, first_row: int) -> None:
    """Turn the optional :data:`COUNT_COLUMNS` present in ``zones`` into numbers >= 0."""
    ids = zones["zone"].to_numpy()
    for column in COUNT_COLUMNS:
        if column in zones.columns:
            zones[column] = _numbers(
                zones, column, ids, row_name=row_name, first_row=first_row, non_negative=True
            )


# ----------------------------------------------------------------------------- attaching


def attach_zones(
    network: Network,
    zones: pd.DataFrame,
    *,
    max_snap_m: float | None = None,
    on_unattached: OnUnattached = "drop",
) -> pd.DataFrame:
    """Attach each zone to the network node nearest its centroid.

    Parameters
    ----------
    network : Network
        The compiled network.
    zones : DataFrame or GeoDataFrame
        ``zone``, ``x``, ``y`` (in the network's CRS) and optionally polygon ``geometry``
        (then ``n_nodes``, the network nodes inside each polygon, is counted).
    max_snap_m : float, optional
        A zone whose centroid is farther than this from every node cannot attach. When not
        given, a zone (other than a polygon without nodes) farther than
        :data:`~transitopt.paths.MAX_SNAP_M` (2 km) raises :class:`~transitopt.SnappingError`
        naming the farthest one (another city, or longitude and latitude swapped).
    on_unattached : {"drop", "raise", "keep"}
        What to do with a polygon zone holding no network node, or a zone beyond
        ``max_snap_m``: ``"drop"`` it (a warning names how many and which; the ids are
        kept in ``attrs["dropped_zones"]``), ``"raise"`` :class:`~transitopt.SnappingError`,
        or ``"keep"`` polygons without nodes attached to the nearest node outside them
        (zones beyond ``max_snap_m`` are still dropped).

    Returns
    -------
    DataFrame or GeoDataFrame
        A copy of the attachable zones with ``node`` (compiled node index), ``snap_m``
        (centroid to node, metres) and ``n_nodes`` (for polygons) columns.
    """
    if on_unattached not in ("drop", "raise", "keep"):
        raise ValueError(f"on_unattached must be 'drop', 'raise' or 'keep', not {on_unattached!r}")
    from .paths import snap_points

    missing = {"zone", "x", "y"} - set(zones.columns)
    if missing:
        raise SnappingError(f"zones lack column(s) {sorted(missing)}; expected zone, x, y")
    out = zones.copy()
    node, snap_m = snap_points(network, out["x"].to_numpy(), out["y"].to_numpy())
    out["node"] = node.astype(np.int64)
    out["snap_m"] = snap_m
    problems: dict[str, np.ndarray] = {}
    if _has_polygons(out):
        out["n_nodes"] = _nodes_inside(network, out)
        empty = out["n_nodes"].to_numpy() == 0
        if on_unattached != "keep":
            problems["hold no street node"] = empty
    if max_snap_m is not None:
        problems[f"lie farther than {max_snap_m:g} m from the network"] = (
            out["snap_m"].to_numpy() > max_snap_m
        )
    bad = np.zeros(len(out), dtype=bool)
    parts = []
    for reason, mask in problems.items():
        if mask.any():
            ids = out["zone"].to_numpy()[mask]
            parts.append(f"{int(mask.sum())} {reason} (zones {_listing(ids)})")
            bad |= mask
    if max_snap_m is None:  # the documented hard limit for zones that would attach
        from .paths import MAX_SNAP_M, check_near_network

        keep = ~bad
        check_near_network(
            network,
            out["x"].to_numpy()[keep],
            out["y"].to_numpy()[keep],
            out["snap_m"].to_numpy()[keep],
            labels=out["zone"].to_numpy()[keep],
            limit_m=MAX_SNAP_M,
        )
    if bad.any():
        message = (
            f"{int(bad.sum())} of {len(out)} zones cannot attach to the network: "
            + "; ".join(parts)
        )
        if on_unattached == "raise" or bad.all():
            raise SnappingError(message + ("" if on_unattached == "raise" else "; no zone is left"))
        warnings.warn(message + "; they are dropped", stacklevel=2)
        dropped = out["zone"].to_numpy()[bad].tolist()
        out = out.loc[~bad].reset_index(drop=True)
        out.attrs["dropped_zones"] = dropped
    else:
        out = out.reset_index(drop=True)
        out.attrs["dropped_zones"] = []
    return out


def _has_polygons(zones: pd.DataFrame) -> bool:
    geometry = getattr(zones, "geometry", None) if "geometry" in zones.columns else None
    if geometry is None:
        return False
    kinds = set(geometry.geom_type.dropna().unique())
    return bool(kinds & {"Polygon", "MultiPolygon"})


def _nodes_inside(network: Network, zones: Any) -> np.ndarray:
    """Number of network nodes (with edges, not centroids) inside each polygon zone."""
    import shapely

    degree = np.bincount(network.tail, minlength=network.n_nodes) + np.bincount(
        network.head, minlength=network.n_nodes
    )
    usable = (
        (degree > 0) & ~network.centroid & np.isfinite(network.node_x) & np.isfinite(network.node_y)
    )
    px, py = network.node_x[usable], network.node_y[usable]
    tree = shapely.STRtree(shapely.points(px, py))
    geoms = zones.geometry.to_numpy()
    pairs = tree.query(geoms, predicate="intersects")  # (2, k): zone row, node
    return np.bincount(pairs[0], minlength=len(zones)).astype(np.int64)


def _listing(ids: Any, limit: int = 10) -> str:
    ids = list(ids)
    shown = ", ".join(str(v) for v in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# ----------------------------------------------------------------------------- weights


def zone_weights(
    zones: pd.DataFrame,
    by: Weighting,
    *,
    network: Network | None = None,
    stops: pd.DataFrame | None = None,
) -> np.ndarray:
    """Weight of each zone, for splitting a city total (residents, jobs) over zones.

    Each network node, street midpoint or stop counts in the zone whose centre is
    nearest (straight line, local metres).

    Parameters
    ----------
    zones : DataFrame
        ``zone``, ``x``, ``y`` (degrees).
    by : {"street_length", "nodes", "stops", "uniform"}
        ``street_length``: metres of network links whose midpoint is nearest the zone;
        ``nodes``: network nodes; ``stops``: transit stops; ``uniform``: 1 per zone.
    network : Network, optional
        Needed for ``street_length`` and ``nodes`` (geographic coordinates).
    stops : DataFrame, optional
        Needed for ``stops``: ``lon``, ``lat`` (degrees).

    Returns
    -------
    (z,) float64
        Weights in ``zones`` order (not normalised).
    """
    from scipy.spatial import cKDTree

    n = len(zones)
    if by == "uniform":
        return np.ones(n)
    x, y = zones["x"].to_numpy(), zones["y"].to_numpy()
    lat0 = float(y.mean())
    tree = cKDTree(np.column_stack(local_xy(x, y, lat0)))

    def nearest(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return tree.query(np.column_stack(local_xy(lon, lat, lat0)))[1]

    if by == "stops":
        if stops is None:
            raise ValueError("zone weights by 'stops' need the stops table")
        near = nearest(stops["lon"].to_numpy(), stops["lat"].to_numpy())
        return np.bincount(near, minlength=n).astype(float)
    if by not in ("nodes", "street_length"):
        raise ValueError(f"unknown zone weighting {by!r}; expected one of {get_args(Weighting)}")
    if network is None:
        raise ValueError(f"zone weights by {by!r} need a street network")
    if by == "nodes":
        near = nearest(network.node_x, network.node_y)
        return np.bincount(near, minlength=n).astype(float)
    mid_x = (network.node_x[network.tail] + network.node_x[network.head]) / 2.0
    mid_y = (network.node_y[network.tail] + network.node_y[network.head]) / 2.0
    near = nearest(mid_x, mid_y)
    return np.bincount(near, weights=np.nan_to_num(network.length_m), minlength=n)


def split_total(total: float, weight: np.ndarray) -> np.ndarray:
    """``total`` split over zones in proportion to ``weight`` (evenly when all weights are 0)."""
    weight = np.asarray(weight, dtype=np.float64)
    return (
        total * weight / weight.sum()
        if weight.sum() > 0
        else np.full(weight.size, total / weight.size)
    )
