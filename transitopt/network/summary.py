"""A planner's summary of a compiled network: size, km by road class, components, imputation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .compiled import Network


@dataclass(frozen=True)
class NetworkSummary:
    """Headline figures of a network.

    Attributes
    ----------
    n_nodes, n_edges : int
    total_km : float
        Sum of edge lengths in kilometres (each direction counted).
    km_by_class : DataFrame
        ``class``, ``edges``, ``km``, ``mean_speed_kph``, ``mean_lanes`` per road class
        (OSM ``highway`` or TNTP ``link_type``).
    n_strong_components, n_weak_components : int
    bbox : tuple of float
        ``(west, south, east, north)`` in the network's CRS.
    info : dict
        The network's provenance (source, imputation counts, what was dropped).
    """

    n_nodes: int
    n_edges: int
    total_km: float
    km_by_class: pd.DataFrame
    n_strong_components: int
    n_weak_components: int
    bbox: tuple[float, float, float, float]
    info: dict = field(default_factory=dict)


def summarize_network(network: Network) -> NetworkSummary:
    """Summarise ``network`` (see :class:`NetworkSummary`)."""
    n = network.n_nodes
    adjacency = sp.coo_matrix(
        (np.ones(network.n_edges), (network.tail, network.head)), shape=(n, n)
    ).tocsr()
    n_strong = connected_components(adjacency, directed=True, connection="strong")[0] if n else 0
    n_weak = connected_components(adjacency, directed=True, connection="weak")[0] if n else 0
    road_class = _road_class(network)
    km = network.length_m / 1000.0
    frame = pd.DataFrame(
        {"class": road_class, "km": km, "speed": network.speed_kph, "lanes": network.lanes}
    )
    by_class = (
        frame.groupby("class", dropna=False)
        .agg(
            edges=("km", "size"),
            km=("km", "sum"),
            mean_speed_kph=("speed", "mean"),
            mean_lanes=("lanes", "mean"),
        )
        .sort_values("km", ascending=False)
        .reset_index()
    )
    finite_x = network.node_x[np.isfinite(network.node_x)]
    finite_y = network.node_y[np.isfinite(network.node_y)]
    bbox = (
        (float(finite_x.min()), float(finite_y.min()), float(finite_x.max()), float(finite_y.max()))
        if finite_x.size and finite_y.size
        else (np.nan, np.nan, np.nan, np.nan)
    )
    return NetworkSummary(
        n_nodes=n,
        n_edges=network.n_edges,
        total_km=float(np.nansum(km)),
        km_by_class=by_class,
        n_strong_components=int(n_strong),
        n_weak_components=int(n_weak),
        bbox=bbox,
        info=dict(network.info),
    )


def _road_class(network: Network) -> np.ndarray:
    """OSM ``highway`` (first of a list) or TNTP ``link_type``, else ``"unknown"``."""
    for column in ("highway", "link_type"):
        if column in network.edges.columns:
            values = network.edges[column].map(lambda v: v[0] if isinstance(v, list) and v else v)
            return values.fillna("unknown").astype(str).to_numpy()
    return np.full(network.n_edges, "unknown", dtype=object)


def describe_kept(info: dict) -> str:
    """What loading kept and dropped, in words (from a network's ``info``).

    For example: "kept 172 of 174 drive nodes; dropped 2 in 1 island, largest 2 nodes;
    25 reverse connectors open one-way dead ends; 1 island joined through 124 m of
    service road; left out as not roads: 159 ways highway=trail". Empty when ``info``
    has no ``kept`` entry (TNTP networks).
    """
    kept = info.get("kept")
    if not kept:
        return ""
    kind = info.get("network_type", "")
    dropped = info.get("dropped", {})
    parts = [f"kept {kept['nodes']:,} of {kept['of_nodes']:,} {kind} nodes".replace("  ", " ")]
    islands = int(dropped.get("islands", 0))
    if islands:
        word = "island" if islands == 1 else "islands"
        parts.append(
            f"dropped {dropped['nodes']:,} in {islands} {word}, "
            f"largest {dropped['largest_island']:,} nodes"
        )
    else:
        parts.append("dropped none")
    connectors = int(kept.get("connectors", 0))
    if connectors:
        parts.append(
            f"{connectors} reverse connector{'s' if connectors != 1 else ''} open one-way dead ends"
        )
    osm = info.get("osm") or {}
    joined = int(osm.get("islands_joined", 0))
    if joined:
        parts.append(
            f"{joined} island{'s' if joined != 1 else ''} joined through "
            f"{osm.get('service_m', 0):,.0f} m of service road"
        )
    not_roads = osm.get("not_roads") or {}
    if not_roads:
        listed = ", ".join(
            f"{n} way{'s' if n != 1 else ''} highway={k}" for k, n in not_roads.items()
        )
        parts.append(f"left out as not roads: {listed}")
    return "; ".join(parts)
