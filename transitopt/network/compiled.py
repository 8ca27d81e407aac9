"""The compiled network: one immutable set of flat arrays passed to every kernel.

Edges are stored in CSR order by tail node: the out-edges of node ``u`` are
``indptr[u]:indptr[u + 1]`` and every per-edge array is indexed the same way. Node
``i`` of the compiled network is ``node_id[i]`` in the source (OSM node id, TNTP node
number). Scenario edits build a new ``Network``; a ``Network`` is never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._errors import NetworkError

#: bit flags of ``Network.modes``: which modes may use an edge
MODE_CAR = 1
MODE_BUS = 2
MODE_WALK = 4
MODE_BIKE = 8
MODE_ALL = MODE_CAR | MODE_BUS | MODE_WALK | MODE_BIKE

#: per-edge float arrays and their defaults when a source does not give them
EDGE_FLOAT_DEFAULTS = {
    "length_m": np.nan,
    "free_flow_time_s": np.nan,
    "capacity_vph": np.inf,
    "alpha": 0.15,
    "beta": 4.0,
    "lanes": 1.0,
    "speed_kph": np.nan,
    "toll": 0.0,
}


@dataclass(frozen=True, eq=False)
class Network:
    """A directed network compiled to flat numpy arrays (CSR by tail node).

    Attributes
    ----------
    indptr : (n_nodes + 1,) int64
        CSR row pointer: out-edges of node ``u`` are ``indptr[u]:indptr[u+1]``.
    tail, head : (n_edges,) int32
        Edge end nodes (compiled node indices).
    length_m, free_flow_time_s, capacity_vph, alpha, beta, lanes, speed_kph, toll : (n_edges,) float64
        Per-edge attributes in metres, seconds, vehicles/hour, BPR parameters,
        lanes, km/h and toll (generalised-cost units of the source).
    modes : (n_edges,) uint8
        Bit mask of modes allowed (``MODE_CAR | MODE_BUS | ...``).
    node_x, node_y : (n_nodes,) float64
        Node coordinates (longitude/latitude in degrees when ``crs`` is EPSG:4326).
    node_id : (n_nodes,) int64
        The node's id in the source (OSM id, TNTP node number).
    centroid : (n_nodes,) bool
        Zone centroids: a path may start or end there but never pass through.
    edges : DataFrame
        Source attributes per edge (OSM ``osmid``, ``highway``, ``name``, ...), in CSR order.
    crs : str or None
        Coordinate reference system of ``node_x``/``node_y``.
    info : dict
        Provenance: source, options, what was imputed or dropped.
    """

    indptr: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length_m: np.ndarray
    free_flow_time_s: np.ndarray
    capacity_vph: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    lanes: np.ndarray
    speed_kph: np.ndarray
    toll: np.ndarray
    modes: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    node_id: np.ndarray
    centroid: np.ndarray
    edges: pd.DataFrame = field(repr=False)
    crs: str | None = "EPSG:4326"
    info: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    # ------------------------------------------------------------------ building
    @classmethod
    def from_edges(
        cls,
        tail: np.ndarray,
        head: np.ndarray,
        *,
        n_nodes: int,
        node_x: np.ndarray | None = None,
        node_y: np.ndarray | None = None,
        node_id: np.ndarray | None = None,
        centroid: np.ndarray | None = None,
        modes: np.ndarray | None = None,
        edges: pd.DataFrame | None = None,
        crs: str | None = "EPSG:4326",
        info: dict | None = None,
        **edge_arrays: Any,
    ) -> Network:
        """Compile a network from edge lists given by compiled node index (0..n_nodes-1).

        Edges are stably sorted by tail to form the CSR; ``edges`` (one row per input
        edge) and every per-edge array are reordered to match. Per-edge float arrays not
        given take the defaults of ``EDGE_FLOAT_DEFAULTS``.
        """
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        m = tail.size
        if head.size != m:
            raise NetworkError(f"tail and head differ in length ({m} != {head.size})")
        if m and (min(tail.min(), head.min()) < 0 or max(tail.max(), head.max()) >= n_nodes):
            raise NetworkError(f"edge end nodes must lie in 0..{n_nodes - 1}")
        unknown = set(edge_arrays) - set(EDGE_FLOAT_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown per-edge arrays: {sorted(unknown)}")
        order = np.argsort(tail, kind="stable")
        indptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail, minlength=n_nodes), out=indptr[1:])

        def per_edge(name: str) -> np.ndarray:
            value = edge_arrays.get(name)
            if value is None:
                return np.full(m, EDGE_FLOAT_DEFAULTS[name], dtype=np.float64)
            value = np.asarray(value, dtype=np.float64)
            if value.shape != (m,):
                raise NetworkError(f"edge array {name!r} has shape {value.shape}, expected ({m},)")
            return value[order].copy()

        if modes is None:
            modes_arr = np.full(m, MODE_ALL, dtype=np.uint8)
        else:
            modes_arr = np.asarray(modes, dtype=np.uint8)[order].copy()
        if edges is None:
            edges_df = pd.DataFrame(index=pd.RangeIndex(m))
        else:
            if len(edges) != m:
                raise NetworkError(f"edges table has {len(edges)} rows, expected {m}")
            edges_df = edges.iloc[order].reset_index(drop=True)

        def per_node(value: np.ndarray | None, fill: Any, dtype: Any) -> np.ndarray:
            if value is None:
                return np.full(n_nodes, fill, dtype=dtype)
            value = np.asarray(value, dtype=dtype).copy()
            if value.shape != (n_nodes,):
                raise NetworkError(f"node array has shape {value.shape}, expected ({n_nodes},)")
            return value

        return cls(
            indptr=indptr,
            tail=tail[order].astype(np.int32),
            head=head[order].astype(np.int32),
            **{name: per_edge(name) for name in EDGE_FLOAT_DEFAULTS},
            modes=modes_arr,
            node_x=per_node(node_x, np.nan, np.float64),
            node_y=per_node(node_y, np.nan, np.float64),
            node_id=per_node(node_id, 0, np.int64)
            if node_id is not None
            else np.arange(n_nodes, dtype=np.int64),
            centroid=per_node(centroid, False, np.bool_),
            edges=edges_df,
            crs=crs,
            info=dict(info or {}),
        )

    def replace(self, **changes: Any) -> Network:
        """A new network with some arrays replaced (same topology); ``self`` is unchanged."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ sizes and lookups
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self.indptr.size - 1

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return self.head.size

    def __repr__(self) -> str:
        source = self.info.get("source", "?")
        return f"<Network {self.n_nodes} nodes, {self.n_edges} edges, source={source!r}>"

    @cached_property
    def _index_of_id(self) -> dict[int, int]:
        return {int(v): i for i, v in enumerate(self.node_id)}

    def node_index(self, ids: Any) -> np.ndarray:
        """Compiled node indices of source node ids; raises ``KeyError`` naming a missing id."""
        lookup = self._index_of_id
        ids_arr = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        out = np.empty(ids_arr.size, dtype=np.int64)
        for k, v in enumerate(ids_arr):
            try:
                out[k] = lookup[int(v)]
            except KeyError:
                raise KeyError(f"node id {int(v)} is not in the network") from None
        return out

    @cached_property
    def reverse(self) -> tuple[np.ndarray, np.ndarray]:
        """Reverse CSR: ``(rev_indptr, rev_edge)``; in-edges of ``v`` are
        ``rev_edge[rev_indptr[v]:rev_indptr[v+1]]`` (edge indices into the forward arrays)."""
        order = np.argsort(self.head, kind="stable")
        rev_indptr = np.zeros(self.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.head, minlength=self.n_nodes), out=rev_indptr[1:])
        return rev_indptr, order.astype(np.int64)

    # ------------------------------------------------------------------ conversions
    def edge_table(self) -> pd.DataFrame:
        """One row per edge: compiled and source end nodes, the per-edge arrays and source attributes."""
        table = pd.DataFrame(
            {
                "edge": np.arange(self.n_edges),
                "from_node": self.node_id[self.tail],
                "to_node": self.node_id[self.head],
                **{name: getattr(self, name) for name in EDGE_FLOAT_DEFAULTS},
                "modes": self.modes,
            }
        )
        extra = self.edges.drop(columns=[c for c in self.edges.columns if c in table.columns])
        return pd.concat([table, extra.reset_index(drop=True)], axis=1)

    def street_table(self) -> pd.DataFrame:
        """Per edge, what a planner reads a link by: ``way`` (the OSM way id; the first
        of a simplified chain of ways), ``name`` and ``highway`` (text; a chain's distinct
        values joined with ``"; "``). ``None`` where the source has none (TNTP)."""
        m = self.n_edges

        def column(name: str, join: bool) -> pd.Series:
            if name not in self.edges.columns:
                return pd.Series(np.full(m, None, dtype=object), dtype=object)
            return _street_text(self.edges[name].to_numpy(object), join=join)

        return pd.DataFrame(
            {
                "way": column("osmid", join=False),
                "name": column("name", join=True),
                "highway": column("highway", join=True),
            }
        )

    def to_geodataframe(self):
        """Edges as a GeoDataFrame of straight or source line geometries (``geometry`` column)."""
        import geopandas as gpd
        import shapely

        table = self.edge_table()
        if "geometry" in table.columns and table["geometry"].notna().all():
            geometry = gpd.GeoSeries(table.pop("geometry"))
        else:
            table = table.drop(columns=["geometry"], errors="ignore")
            coords = np.stack(
                [
                    np.column_stack([self.node_x[self.tail], self.node_y[self.tail]]),
                    np.column_stack([self.node_x[self.head], self.node_y[self.head]]),
                ],
                axis=1,
            )
            geometry = gpd.GeoSeries(shapely.linestrings(coords))
        return gpd.GeoDataFrame(table, geometry=geometry.values, crs=self.crs)

    def to_networkx(self):
        """A ``networkx.MultiDiGraph`` keyed by source node ids, with every per-edge attribute."""
        import networkx as nx

        graph = nx.MultiDiGraph(
            crs=self.crs, **{k: str(v) for k, v in self.info.items() if k == "source"}
        )
        for i in range(self.n_nodes):
            graph.add_node(
                int(self.node_id[i]),
                x=float(self.node_x[i]),
                y=float(self.node_y[i]),
                centroid=bool(self.centroid[i]),
            )
        table = self.edge_table()
        for row in table.drop(columns=["edge"]).to_dict("records"):
            u, v = int(row.pop("from_node")), int(row.pop("to_node"))
            graph.add_edge(u, v, **{k: _plain(val) for k, val in row.items()})
        return graph


def _street_text(values: np.ndarray, *, join: bool) -> pd.Series:
    """One text (or ``None``) per value of an OSM attribute column: a scalar as text, a
    list (a simplified chain of ways) as its first value, or with ``join`` its distinct
    values joined with ``"; "``. Scalars, nearly all values, are converted at once."""
    n = values.size
    chain = np.fromiter((isinstance(v, list | tuple | np.ndarray) for v in values), bool, n)
    out = np.full(n, None, dtype=object)
    single = ~chain
    if single.any():
        scalars = values[single]
        given = ~(pd.isna(scalars) | (scalars == ""))
        picked = np.flatnonzero(single)[given]
        out[picked] = pd.Series(scalars[given], dtype=object).astype(str).to_numpy(object)
    for i in np.flatnonzero(chain):
        if join:
            text = list(dict.fromkeys(str(v) for v in values[i] if not _missing(v)))
            out[i] = "; ".join(text) if text else None
        else:
            first = values[i][0] if len(values[i]) else None
            out[i] = None if _missing(first) else str(first)
    return pd.Series(out)  # text dtype where every value is text or missing, as before


def _missing(value: Any) -> bool:
    """``None``, NaN or empty text (a source attribute not given)."""
    return value is None or (isinstance(value, float) and value != value) or value == ""


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars (networkx writers prefer them)."""
    return value.item() if isinstance(value, np.generic) else value
