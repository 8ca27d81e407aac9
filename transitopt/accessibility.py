"""Accessibility: how many opportunities each zone reaches, by mode; isochrones; maps.

Measures, for zone ``i`` and opportunities ``O_v`` (jobs, shops, residents...):

* cumulative opportunities within ``T`` minutes: ``sum_v O_v [t_iv <= T]`` for each
  cutoff (default 15, 30, 45, 60 min);
* gravity (negative exponential): ``sum_v O_v exp(-decay * t_iv)`` with ``decay`` per
  minute (default 0.08/min, so an opportunity 10 min away counts 0.45, 30 min 0.09).

:func:`accessibility` works on a street network (walk, car at free-flow, car at
congested times by passing the loaded link times as ``weight``): opportunities are
attached to network nodes, each zone's origin node is searched once to every node
(:func:`transitopt.paths.prepare`: compressed graph, contraction hierarchy for many
origins), and the sums run in a numba kernel parallel over origins
(:mod:`transitopt.kernels.accessibility`). :func:`accessibility_from_matrix` does the
same sums from any zone-to-zone time matrix; :func:`transit_accessibility` feeds it the
optimal-strategies transit skim (``assign_transit(graph, demand).skim("total_s")``) of a
transit graph built with the zones.

:func:`population_weighted` averages the measures over residents, :func:`isochrones`
draws the area reachable from a point, :func:`plot_accessibility` writes a choropleth.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._errors import SnappingError
from ._io import atomic_path
from .kernels import accessibility as _kernels
from .kernels._config import sized
from .network.compiled import Network
from .paths import edge_weights, prepare, snap_points
from .zones import OnUnattached, _metres_per_unit, attach_zones

#: default cutoffs of the cumulative measure (minutes)
CUTOFFS_MIN = (15.0, 30.0, 45.0, 60.0)
#: default decay of the gravity measure (per minute)
DECAY_PER_MIN = 0.08
#: origins searched per block (bounds memory at block x n_nodes float64)
BLOCK_ORIGINS = 512

Method = Literal["auto", "ch", "dijkstra", "bounded"]


def accessibility(
    network: Network,
    zones: pd.DataFrame,
    opportunities: Any,
    *,
    cutoffs_min: Any = CUTOFFS_MIN,
    decay_per_min: float | None = DECAY_PER_MIN,
    gravity_max_min: float | None = None,
    weight: str | np.ndarray = "free_flow_time_s",
    columns: list[str] | None = None,
    max_snap_m: float | None = None,
    on_unattached: OnUnattached = "drop",
    access_speed_kph: float | None = None,
    method: Method = "auto",
) -> pd.DataFrame:
    """Cumulative and gravity accessibility of each zone over a street network.

    Parameters
    ----------
    network : Network
        Walk network for walking, drive network for car.
    zones : DataFrame or GeoDataFrame
        ``zone``, ``x``, ``y`` (and optionally polygon ``geometry``); attached with
        :func:`transitopt.zones.attach_zones` unless they already have a ``node`` column
        (compiled node indices).
    opportunities : array or DataFrame
        ``(n_nodes,)`` or ``(n_nodes, k)`` array of opportunities at each compiled node;
        a DataFrame with a ``node`` column (compiled index) and numeric columns; or a
        (Geo)DataFrame of points (``geometry`` or ``x``/``y``) with numeric columns, each
        point counted at its nearest node (:func:`transitopt.demand.landuse.node_totals`).
    cutoffs_min : sequence of float
        Cutoffs of the cumulative measure (minutes).
    decay_per_min : float or None
        Gravity decay rate (per minute); ``None`` skips the gravity measure.
    gravity_max_min : float, optional
        Count gravity terms only within this time (default: everything reachable).
    weight : str or (n_edges,) array
        Edge travel time in seconds: ``"free_flow_time_s"`` or, for congested car
        times, the link times of an assignment.
    columns : list of str, optional
        Which numeric columns of a DataFrame ``opportunities`` to use (default all);
        names for an array's columns (default ``opportunities`` or ``opp0, opp1, ...``).
    max_snap_m, on_unattached
        Passed to :func:`~transitopt.zones.attach_zones`.
    access_speed_kph : float, optional
        Add the straight walk from each zone centroid to its node at this speed to every
        time from the zone (default: start at the node).
    method : {"auto", "ch", "dijkstra", "bounded"}
        ``"auto"``/``"ch"``/``"dijkstra"``: one search per origin to every node through
        :func:`transitopt.paths.prepare` (as in :func:`transitopt.paths.distances`),
        then the sums; ``"bounded"``: a Dijkstra per origin that stops at the largest
        cutoff (or ``gravity_max_min``) and sums as it settles nodes, without an
        origin-by-node matrix (best for small cutoffs on large networks).

    Returns
    -------
    DataFrame
        One row per attached zone: ``zone``, ``node``, ``snap_m``, then for each
        opportunity column ``c`` and cutoff ``T``: ``{c}_{T}min``, and ``{c}_gravity``.
        ``attrs["dropped_zones"]`` lists zones that could not attach.
    """
    cutoffs = _cutoffs(cutoffs_min)
    decay = _decay(decay_per_min)
    table = (
        zones
        if "node" in zones.columns
        else attach_zones(network, zones, max_snap_m=max_snap_m, on_unattached=on_unattached)
    )
    dropped = list(table.attrs.get("dropped_zones", []))
    nodes = table["node"].to_numpy(dtype=np.int64)
    if nodes.size and (nodes.min() < 0 or nodes.max() >= network.n_nodes):
        raise SnappingError(f"zone node index outside 0..{network.n_nodes - 1}")
    opp, names = _opportunities_at_nodes(network, opportunities, columns)
    w = edge_weights(network, weight)  # checked; prepared graphs only for the matrix methods
    start_s = np.zeros(nodes.size)
    if access_speed_kph is not None:
        if not access_speed_kph > 0:
            raise ValueError(f"access_speed_kph must be > 0, got {access_speed_kph}")
        snap = table["snap_m"].to_numpy(dtype=np.float64) if "snap_m" in table.columns else None
        if snap is None:
            _, snap = snap_points(network, table["x"].to_numpy(), table["y"].to_numpy())
        start_s = snap / (access_speed_kph / 3.6)
    cut_s = cutoffs * 60.0
    dec_s = decay / 60.0
    limit_s = math.inf if gravity_max_min is None else float(gravity_max_min) * 60.0
    if method == "bounded":
        search = max(cut_s.max(initial=0.0), limit_s if decay.size else 0.0)
        cum, grav = _kernels.network_sums(
            network.indptr,
            network.head,
            w,
            network.centroid,
            nodes,
            start_s,
            opp,
            cut_s,
            dec_s,
            limit_s,
            search,
        )
    elif method in ("auto", "ch", "dijkstra"):
        cum = np.empty((nodes.size, cut_s.size, opp.shape[1]))
        grav = np.empty((nodes.size, dec_s.size, opp.shape[1]))
        prepared = prepare(network, weight=weight)  # cached per network
        for start in range(0, nodes.size, BLOCK_ORIGINS):
            stop = min(start + BLOCK_ORIGINS, nodes.size)
            times = prepared.distances(nodes[start:stop], None, method=method)
            if access_speed_kph is not None:
                times += start_s[start:stop, None]
            matrix_sums = sized(_kernels.matrix_sums, times.size * opp.shape[1])
            cum[start:stop], grav[start:stop] = matrix_sums(times, opp, cut_s, dec_s, limit_s)
    else:
        raise ValueError(f"method must be 'auto', 'ch', 'dijkstra' or 'bounded', not {method!r}")
    out = _frame(table, cum, grav, names, cutoffs, decay)
    out.attrs["dropped_zones"] = dropped
    return out


def accessibility_from_matrix(
    zones: Any,
    times_min: Any,
    opportunities: Any,
    *,
    cutoffs_min: Any = CUTOFFS_MIN,
    decay_per_min: float | None = DECAY_PER_MIN,
    gravity_max_min: float | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Cumulative and gravity accessibility from a zone-to-zone (or zone-to-point) time matrix.

    Parameters
    ----------
    zones : (z,) sequence
        Ids of the origin zones (rows of ``times_min``).
    times_min : (z, d) array
        Travel time in minutes from each origin to each destination; ``inf`` for no
        path. For transit: ``assign_transit(graph, demand).skim("total_s") / 60`` (zones
        in ``graph.zone_ids`` order).
    opportunities : (d,) or (d, k) array, or DataFrame with d rows
        Opportunities at each destination (in column order of ``times_min``); a
        DataFrame's numeric columns (or ``columns``) are used.
    cutoffs_min, decay_per_min, gravity_max_min, columns
        As in :func:`accessibility`.

    Returns
    -------
    DataFrame
        ``zone`` and the measure columns, as :func:`accessibility`.
    """
    times = np.ascontiguousarray(times_min, dtype=np.float64)
    ids = np.asarray(zones)
    if times.ndim != 2 or times.shape[0] != ids.size:
        raise ValueError(
            f"times_min has shape {times.shape}, expected ({ids.size}, n_destinations)"
        )
    if np.isnan(times).any() or (times < 0).any():
        raise ValueError("times_min has NaN or negative values; use inf for no path")
    opp, names = _opportunity_array(opportunities, columns, times.shape[1], what="destinations")
    cutoffs = _cutoffs(cutoffs_min)
    decay = _decay(decay_per_min)
    limit = math.inf if gravity_max_min is None else float(gravity_max_min)
    matrix_sums = sized(_kernels.matrix_sums, times.size * opp.shape[1])
    cum, grav = matrix_sums(times, opp, cutoffs, decay, limit)
    return _frame(pd.DataFrame({"zone": ids}), cum, grav, names, cutoffs, decay)


def transit_accessibility(
    graph: Any,
    opportunities: Any,
    *,
    cutoffs_min: Any = CUTOFFS_MIN,
    decay_per_min: float | None = DECAY_PER_MIN,
    gravity_max_min: float | None = None,
    columns: list[str] | None = None,
    **assign_options: Any,
) -> pd.DataFrame:
    """Accessibility by public transport from the optimal-strategies OD skim.

    Runs :func:`transitopt.transit.assign.assign_transit` with no demand to get the
    expected total door-to-door time (walk, wait, in-vehicle, transfer penalties) between
    the zones the graph was built with, then :func:`accessibility_from_matrix`. A zone
    reaches its own opportunities at time 0, as on the street network.

    Parameters
    ----------
    graph : TransitGraph
        From :func:`~transitopt.transit.graph.build_transit_graph` with zones.
    opportunities : array or DataFrame
        Per zone in ``graph.zone_ids`` order, or a DataFrame with a ``zone`` column and
        numeric columns (zones missing from it hold no opportunities).
    cutoffs_min, decay_per_min, gravity_max_min, columns
        As in :func:`accessibility`.
    **assign_options
        Passed to ``assign_transit`` (``wait_factor``).
    """
    from .transit.assign import assign_transit

    zone_ids = np.asarray(graph.zone_ids)
    z = zone_ids.size
    if isinstance(opportunities, pd.DataFrame) and "zone" in opportunities.columns:
        names = columns or [
            c
            for c in opportunities.columns
            if c != "zone" and pd.api.types.is_numeric_dtype(opportunities[c])
        ]
        unknown = set(opportunities["zone"].tolist()) - set(zone_ids.tolist())
        if unknown:
            raise ValueError(
                f"opportunities name zones the transit graph does not have: {sorted(unknown)[:5]}"
            )
        opportunities = (
            opportunities.groupby("zone")[names]
            .sum()
            .reindex(zone_ids, fill_value=0.0)
            .reset_index(drop=True)
        )
    result = assign_transit(graph, np.zeros((z, z)), skims=True, **assign_options)
    times = result.skim("total_s") / 60.0
    return accessibility_from_matrix(zone_ids, times, opportunities, cutoffs_min=cutoffs_min,
                                     decay_per_min=decay_per_min, gravity_max_min=gravity_max_min,
                                     columns=columns)  # fmt: skip


def population_weighted(
    table: pd.DataFrame, population: Any, *, columns: list[str] | None = None
) -> pd.Series:
    """Population-weighted mean of accessibility columns: ``sum(p_i a_i) / sum(p_i)``.

    Parameters
    ----------
    table : DataFrame
        From :func:`accessibility` (one row per zone).
    population : str or (z,) array
        A column of ``table`` or residents per row.
    columns : list of str, optional
        Measures to average (default: every ``*min`` and ``*_gravity`` column).
    """
    p = (
        table[population].to_numpy(np.float64)
        if isinstance(population, str)
        else np.asarray(population, np.float64)
    )
    if p.shape != (len(table),):
        raise ValueError(f"population has shape {p.shape}, expected ({len(table)},)")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("population must be finite and >= 0")
    if p.sum() <= 0:
        raise ValueError("population sums to zero: no weighted average")
    if columns is None:
        columns = [
            c for c in table.columns if str(c).endswith("min") or str(c).endswith("_gravity")
        ]
    values = table[columns].to_numpy(np.float64)
    return pd.Series(p @ values / p.sum(), index=columns, name="population_weighted")


def isochrones(
    network: Network,
    x: float,
    y: float,
    *,
    minutes: Any = (5.0, 10.0, 15.0),
    weight: str | np.ndarray = "free_flow_time_s",
    kind: Literal["concave", "convex"] = "concave",
    ratio: float = 0.2,
    buffer_m: float = 50.0,
    max_snap_m: float | None = None,
) -> Any:
    """Areas reachable from a point within given times.

    The nodes reached within ``T`` minutes (from the node nearest the point) are
    wrapped in a hull (shapely ``concave_hull`` with ``ratio``, or the convex hull) and
    buffered by ``buffer_m`` metres (computed in a local metric projection).

    Parameters
    ----------
    network : Network
    x, y : float
        The point, in the network's CRS.
    minutes : sequence of float
        Travel-time limits (minutes).
    weight : str or (n_edges,) array
        Edge travel time (seconds).
    kind : {"concave", "convex"}
    ratio : float
        ``concave_hull`` ratio in (0, 1]: smaller hugs the nodes more tightly; 1 = convex.
    buffer_m : float
        Buffer around the hull (metres); also what a single reached node becomes.
    max_snap_m : float, optional
        Fail when the point lies farther than this from the network.

    Returns
    -------
    GeoDataFrame
        One row per limit: ``minutes``, ``n_nodes`` reached, ``geometry``; the network's CRS.
    """
    import geopandas as gpd
    import shapely

    limits = _cutoffs(minutes)
    if kind not in ("concave", "convex"):
        raise ValueError(f"kind must be 'concave' or 'convex', not {kind!r}")
    node, _ = snap_points(network, [x], [y], max_distance_m=max_snap_m)
    w = edge_weights(network, weight)
    times_s = _kernels.reachable_within(
        network.indptr,
        network.head,
        w,
        network.centroid,
        node.astype(np.int64),
        np.zeros(1),
        limits.max() * 60.0,
    )
    kx, ky = _metres_per_unit(network)
    rows = []
    for limit in limits:
        reached = np.flatnonzero(times_s <= limit * 60.0)
        pts = shapely.multipoints(
            np.column_stack([network.node_x[reached] * kx, network.node_y[reached] * ky])
        )
        hull = (
            shapely.concave_hull(pts, ratio=ratio)
            if kind == "concave"
            else shapely.convex_hull(pts)
        )
        area = shapely.buffer(hull, buffer_m)
        rows.append(
            (
                float(limit),
                int(reached.size),
                shapely.transform(area, lambda c: c / np.array([kx, ky])),
            )
        )
    frame = pd.DataFrame(rows, columns=["minutes", "n_nodes", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=network.crs)


def plot_accessibility(
    zones_gdf: Any,
    column: str,
    path: str | os.PathLike,
    *,
    title: str | None = None,
    cmap: str = "viridis",
    network: Network | None = None,
    dpi: int = 150,
) -> Path:
    """Write a choropleth PNG of one accessibility column over zone polygons.

    Parameters
    ----------
    zones_gdf : GeoDataFrame
        Zone polygons holding ``column`` (merge an :func:`accessibility` table on
        ``zone`` first); point zones are drawn as dots.
    column : str
    path : path
        Output PNG (written atomically).
    title : str, optional
        Default: the column name.
    cmap : str
        Matplotlib colour map.
    network : Network, optional
        Draw the network's edges underneath in grey.
    dpi : int

    Returns
    -------
    Path
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if column not in zones_gdf.columns:
        raise ValueError(
            f"column {column!r} not in the zones table; columns are {list(zones_gdf.columns)}"
        )
    path = Path(path)
    fig, ax = plt.subplots(figsize=(8, 8))
    try:
        zones_gdf.plot(column=column, ax=ax, cmap=cmap, legend=True, alpha=0.75, edgecolor="white", linewidth=0.3,
                       legend_kwds={"label": column, "shrink": 0.6})  # fmt: skip
        if network is not None:
            segments = np.stack(
                [np.column_stack([network.node_x[network.tail], network.node_y[network.tail]]),
                 np.column_stack([network.node_x[network.head], network.node_y[network.head]])],
                axis=1,
            )  # fmt: skip
            ax.add_collection(
                LineCollection(list(segments), colors="0.35", linewidths=0.3, zorder=3)
            )
        ax.set_title(title or column)
        if _geographic(zones_gdf):
            south, north = zones_gdf.total_bounds[[1, 3]]
            ax.set_aspect(1.0 / math.cos(math.radians((south + north) / 2.0)))
        else:
            ax.set_aspect("equal")
        ax.set_axis_off()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    finally:
        plt.close(fig)
    return path


# ----------------------------------------------------------------------------- helpers


def _cutoffs(values: Any) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"cutoffs/minutes must be positive finite numbers, got {values!r}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"cutoffs/minutes must be distinct, got {values!r}")
    return np.sort(arr)


def _decay(value: float | None) -> np.ndarray:
    if value is None:
        return np.empty(0)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"decay_per_min must be finite and >= 0, got {value!r}")
    return np.array([float(value)])


def _opportunities_at_nodes(
    network: Network, data: Any, columns: list[str] | None
) -> tuple[np.ndarray, list[str]]:
    """(n_nodes, k) float64 opportunities at compiled nodes and their names."""
    if isinstance(data, pd.DataFrame):
        names = columns or [c for c in data.columns if c not in ("node", "x", "y", "zone", "geometry")
                            and pd.api.types.is_numeric_dtype(data[c])]  # fmt: skip
        if not names:
            raise ValueError("opportunities table has no numeric column")
        values = data[names].to_numpy(np.float64)
        _check_values(values, names)
        if "node" in data.columns:
            node = data["node"].to_numpy(np.int64)
            if node.size and (node.min() < 0 or node.max() >= network.n_nodes):
                raise SnappingError(f"opportunity node index outside 0..{network.n_nodes - 1}")
            opp = np.zeros((network.n_nodes, len(names)))
            np.add.at(opp, node, values)
            return opp, list(names)
        from .demand.landuse import node_totals

        return node_totals(network, data, columns=list(names)), list(names)
    return _opportunity_array(data, columns, network.n_nodes, what="nodes")


def _opportunity_array(
    data: Any, columns: list[str] | None, n: int, *, what: str
) -> tuple[np.ndarray, list[str]]:
    if isinstance(data, pd.DataFrame):
        names = columns or [
            c for c in data.columns if pd.api.types.is_numeric_dtype(data[c]) and c != "zone"
        ]
        arr = data[names].to_numpy(np.float64)
    else:
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        names = columns or (
            ["opportunities"] if arr.shape[1] == 1 else [f"opp{k}" for k in range(arr.shape[1])]
        )
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(
            f"opportunities have shape {arr.shape}, expected ({n}, k): one row per {what[:-1]}"
        )
    if len(names) != arr.shape[1]:
        raise ValueError(f"{len(names)} column names for {arr.shape[1]} opportunity columns")
    _check_values(arr, names)
    return np.ascontiguousarray(arr), list(names)


def _check_values(values: np.ndarray, names: list[str]) -> None:
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        r, k = np.argwhere(bad)[0]
        raise ValueError(
            f"opportunity column {names[k]!r} has value {values[r, k]!r} in row {r}; expected finite >= 0"
        )


def _frame(table: pd.DataFrame, cum: np.ndarray, grav: np.ndarray, names: list[str], cutoffs: np.ndarray,
           decay: np.ndarray) -> pd.DataFrame:  # fmt: skip
    data = {c: table[c].to_numpy() for c in ("zone", "node", "snap_m") if c in table.columns}
    for k, name in enumerate(names):
        for j, cutoff in enumerate(cutoffs):
            data[f"{name}_{cutoff:g}min"] = cum[:, j, k]
        if decay.size:
            data[f"{name}_gravity"] = grav[:, 0, k]
    return pd.DataFrame(data)


def _geographic(gdf: Any) -> bool:
    crs = getattr(gdf, "crs", None)
    return bool(crs is not None and crs.is_geographic)
