"""The routing door: shortest paths, distance matrices (skims), walking distances and snapping.

This is the only module outside :mod:`transitopt.kernels` that calls the shortest-path
kernels; every other module asks it. Nodes are given as source node ids
(``network.node_id``: OSM ids, TNTP numbers) unless ``by_index=True``, in which case
they are compiled node indices ``0..n_nodes-1``. ``weight`` names a per-edge array of
the network (``"free_flow_time_s"``, ``"length_m"``, ...) or is an array with one
non-negative value per edge (CSR order); ``inf`` forbids an edge. Zone centroids
(``network.centroid``) are never passed through. Distances are float64 throughout.

What to call:

* **many-to-many, fixed weights** (free-flow times, lengths, a scenario's closures):
  :func:`skim` / :func:`distances` with ``cache=True``. They go through a
  :class:`PreparedGraph` (see :func:`prepare`) built once per network and weight and
  cached: degree-2 chains and dead-end trees are contracted (:mod:`.kernels.compression`)
  and, once enough sources have been asked for, a contraction hierarchy is built for
  PHAST sweeps (:mod:`.kernels.contraction`). The cache is bounded: at most
  :data:`MAX_PREPARED_PER_NETWORK` prepared graphs per network (least recently used
  dropped first), and none outlives its network.
* **many-to-many, per-iteration weights** (congested link times that change every
  feedback iteration): :func:`skim` with ``cache=False``. Nothing is stored; a plain
  Dijkstra per origin stops once every destination is settled.
* **single pairs and lists of pairs, with the path**: :func:`shortest_path` (one pair,
  nodes and edges) and :func:`shortest_paths` (many pairs, each origin searched once)
  return paths as edge-index arrays in CSR order.
* **walking distance**: :func:`walk_distances`, the one definition. Walking is two-way:
  the walking distance between two nodes is the shortest path over the network's
  ``length_m`` with every link usable in both directions (parallel links and the two
  directions of a link count at their shortest length; links without a finite length
  are not walkable). With ``max_distance_m`` each search stops at that distance (a
  parallel bounded Dijkstra per origin, bit-identical within the bound);
  :func:`walk_connected` tells the pairs beyond the bound from those no walk joins.
* **points to nodes**: :func:`snap_points`; **points to links** (candidate links near
  each point, with the position along the link): :func:`snap_to_edges`.
* **costs of many pairs** without their paths: :func:`shortest_path_costs`.

Cached and uncached searches, prepared graphs and plain Dijkstras all give the same
distances up to floating-point summation order (a few ulp).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np

from ._errors import NetworkError, SnappingError
from .geo import METRES_PER_DEGREE, local_xy
from .kernels import compression as _compression
from .kernels import contraction as _contraction
from .kernels import shortest_paths as _sp
from .kernels import snapping as _snapping
from .kernels._config import sized
from .network.compiled import EDGE_FLOAT_DEFAULTS, Network

Method = Literal["auto", "ch", "dijkstra"]

#: ``method="auto"`` builds the contraction hierarchy once this many sources have been
#: searched on one prepared graph (its build costs about as much as this many Dijkstras)
AUTO_HIERARCHY_SOURCES = 256

#: fewer sources than this run on one thread: starting threads costs more than it saves
#: (and much more on a machine whose cores are all busy)
SERIAL_BELOW = 4

#: prepared graphs kept per network by :func:`prepare` (least recently used dropped first)
MAX_PREPARED_PER_NETWORK = 4

#: witness search limit (settled nodes) while building the hierarchy
_CH_MAX_SETTLED = 50


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PathResult:
    """One shortest path.

    Attributes
    ----------
    cost : float
        Sum of the weight along the path (``inf`` when there is no path).
    nodes : (k,) int64
        Node ids along the path, origin first (compiled indices with ``by_index=True``);
        empty when there is no path.
    edges : (k - 1,) int64
        Compiled edge indices (CSR order) along the path.
    """

    cost: float
    nodes: np.ndarray
    edges: np.ndarray

    @property
    def found(self) -> bool:
        """Whether a path exists."""
        return math.isfinite(self.cost)


@dataclass(frozen=True, eq=False)
class _Hierarchy:
    """Contraction hierarchy of a compressed graph (arrays as in :mod:`.kernels.contraction`)."""

    up: tuple[np.ndarray, np.ndarray, np.ndarray]
    down: tuple[np.ndarray, np.ndarray, np.ndarray]
    source_down: tuple[np.ndarray, np.ndarray, np.ndarray]
    no_through: np.ndarray
    ch_of: np.ndarray  # compressed index -> hierarchy index
    to_h: np.ndarray  # ch_of with index -1 mapped to -1
    col_all: np.ndarray  # hierarchy index of every network node (-1: contracted)
    anc_all: np.ndarray  # hierarchy indices of every network node's anchors
    anc_nt_all: np.ndarray  # which of those anchors are no-through
    n_shortcuts: int
    build_s: float


# ----------------------------------------------------------------------------- prepared graph


class PreparedGraph:
    """A network made ready for repeated searches with one weight.

    Holds the compressed graph (chains and dead-end trees contracted, kept nodes
    renumbered in breadth-first order) and, built on demand, its contraction hierarchy.
    :func:`prepare` returns a cached one per network and weight.

    Parameters
    ----------
    network : Network
        The compiled network; its centroids are never passed through.
    weight : str or (n_edges,) array
        Name of a per-edge array of ``network`` or the weights themselves (>= 0, ``inf``
        forbids an edge).

    Attributes
    ----------
    n_nodes : int
        Nodes of the network.
    n_kept : int
        Nodes of the compressed graph.
    weight : (n_edges,) float64
        The per-edge weight searched over.
    prepare_s : float
        Seconds spent compressing.
    """

    def __init__(self, network: Network, weight: str | np.ndarray = "free_flow_time_s") -> None:
        start = time.perf_counter()
        weight = _weight(network, weight)
        self.n_nodes = network.n_nodes
        self.indptr = network.indptr
        self.head = network.head
        self.weight = weight
        self.no_through = np.ascontiguousarray(network.centroid, dtype=np.bool_)
        nb_ptr, nbr = _compression.undirected_neighbours(self.indptr, self.head)
        contracted, component = _compression.contractible(nb_ptr, nbr, self.no_through)
        order = _compression.bfs_order(nb_ptr, nbr, ~contracted)
        new_of = np.full(self.n_nodes, -1, dtype=np.int64)
        new_of[order] = np.arange(order.size)
        c_indptr, c_head, c_weight, anchor, offset = _compression.compress(
            self.indptr, self.head, weight, nb_ptr, nbr, contracted, component, new_of
        )
        self.component = component
        self.new_of = new_of
        self.order = order
        # read-only like the network's own structure, so that the kernels shared with
        # plain searches compile once (see _frozen)
        self.c_indptr, self.c_head = _frozen(c_indptr), _frozen(c_head)
        self.c_weight = c_weight
        self.c_no_through = _frozen(self.no_through[order])
        self.anchor, self.offset = anchor, offset
        self.n_kept = int(order.size)
        self.prepare_s = time.perf_counter() - start
        self._all_needed = np.ones(self.n_kept, dtype=np.bool_)
        self._all_pos = np.arange(self.n_nodes, dtype=np.int64)
        self._hierarchy: _Hierarchy | None = None
        self._n_searched = 0

    def __repr__(self) -> str:
        ch = "built" if self._hierarchy is not None else "not built"
        return f"<PreparedGraph {self.n_nodes} nodes, {self.n_kept} kept, hierarchy {ch}>"

    # -------------------------------------------------------------- hierarchy
    @property
    def hierarchy(self) -> _Hierarchy:
        """The contraction hierarchy of the compressed graph (built on first access)."""
        if self._hierarchy is None:
            self._hierarchy = self._build_hierarchy()
        return self._hierarchy

    @property
    def has_hierarchy(self) -> bool:
        """Whether the hierarchy has been built."""
        return self._hierarchy is not None

    def _build_hierarchy(self) -> _Hierarchy:
        start = time.perf_counter()
        n = self.n_kept
        pool = 4.0
        while True:
            rank, et, eh, ew = _contraction.build_hierarchy(
                self.c_indptr, self.c_head, self.c_weight, self.c_no_through, _CH_MAX_SETTLED, pool
            )
            if rank.size == n:
                break
            pool *= 2.0
        ch_of = n - 1 - rank  # highest rank first
        t, h = ch_of[et], ch_of[eh]
        nt = self.c_no_through
        up = t > h
        down = ~up & ~nt[et]
        source_down = ~up & nt[et]

        def csr(by: np.ndarray, other: np.ndarray, w: np.ndarray, mask: np.ndarray):
            key = by[mask]
            o = np.argsort(key, kind="stable")
            ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(key, minlength=n), out=ptr[1:])
            head = other[mask][o].astype(np.int32)
            return _frozen(ptr), _frozen(head), np.ascontiguousarray(w[mask][o])

        no_through_ch = np.empty(n, dtype=np.bool_)
        no_through_ch[ch_of] = nt
        _frozen(no_through_ch)
        to_h = np.append(ch_of, -1)
        anc_all = to_h[self.anchor]
        return _Hierarchy(
            up=csr(t, h, ew, up),
            down=csr(h, t, ew, down),
            source_down=csr(t, h, ew, source_down),
            no_through=no_through_ch,
            ch_of=ch_of,
            to_h=to_h,
            col_all=to_h[self.new_of],
            anc_all=anc_all,
            anc_nt_all=_contraction.anchor_no_through(anc_all, no_through_ch),
            n_shortcuts=int(et.size - self.c_head.size),
            build_s=time.perf_counter() - start,
        )

    # -------------------------------------------------------------- queries
    def distances(
        self, sources: np.ndarray, targets: np.ndarray | None = None, *, method: Method = "auto"
    ) -> np.ndarray:
        """Distances ``(len(sources), len(targets))`` between compiled node indices
        (``targets=None``: every node). Unreachable pairs are ``inf``."""
        _check_method(method)
        sources = np.asarray(sources, dtype=np.int64).ravel()
        uniq_src, inverse = np.unique(sources, return_inverse=True)
        src_inv: np.ndarray | None = inverse
        if uniq_src.size == sources.size:
            src_inv = None  # distinct: keep the caller's order
            uniq_src = sources
        out_nodes: np.ndarray | None = None
        tgt_inv: np.ndarray | None = None
        if targets is not None:
            out_nodes, tgt_inv = np.unique(
                np.asarray(targets, dtype=np.int64).ravel(), return_inverse=True
            )
        if method == "auto":
            self._n_searched += uniq_src.size
            use_ch = self.has_hierarchy or self._n_searched >= AUTO_HIERARCHY_SOURCES
        else:
            use_ch = method == "ch"
        result = self._distances(uniq_src, out_nodes, use_ch=use_ch)
        if src_inv is not None:
            result = result[src_inv]
        if (
            out_nodes is not None
            and tgt_inv is not None
            and not (tgt_inv.size == out_nodes.size and (tgt_inv == np.arange(tgt_inv.size)).all())
        ):
            result = result[:, tgt_inv]
        return result

    def _distances(
        self, sources: np.ndarray, out_nodes: np.ndarray | None, *, use_ch: bool
    ) -> np.ndarray:
        """``distances`` for distinct ``sources`` to distinct sorted ``out_nodes`` (None: all)."""
        full = out_nodes is None
        if out_nodes is None:
            col, anc, off = self.new_of, self.anchor, self.offset
            pos = self._all_pos
        else:
            col, anc, off = self.new_of[out_nodes], self.anchor[out_nodes], self.offset[out_nodes]
            pos = np.full(self.n_nodes, -1, dtype=np.int64)
            pos[out_nodes] = np.arange(out_nodes.size)
        seeds = _compression.source_seeds(
            self.indptr, self.head, self.weight, self.component, self.new_of, sources, pos
        )
        if sources.size == 0:
            return np.empty((0, col.size))
        serial = _serial(sources.size)
        if use_ch:
            h = self.hierarchy
            seeds_c, seed_d, src_c, *local = seeds
            to_h = h.to_h
            if full:
                col_h, anc_h, anc_nt = h.col_all, h.anc_all, h.anc_nt_all
            else:
                col_h, anc_h = to_h[col], to_h[anc]
                anc_nt = _contraction.anchor_no_through(anc_h, h.no_through)
            args = (
                *h.up, *h.down, *h.source_down, h.no_through,
                to_h[seeds_c], seed_d, to_h[src_c], *local, col_h, anc_h, off, anc_nt,
            )  # fmt: skip
            with _threads(1 if serial else None):
                return _contraction.phast(*args, numba.get_num_threads())
        needed = self._all_needed
        n_needed = 0  # 0: search everything
        if not full:
            needed = np.zeros(self.n_kept, dtype=np.bool_)
            needed[col[col >= 0]] = True
            needed[anc[anc >= 0]] = True
            n_needed = int(needed.sum())
            if n_needed == self.n_kept:
                n_needed = 0
        args = (
            self.c_indptr,
            self.c_head,
            self.c_weight,
            self.c_no_through,
            *seeds,
            col,
            anc,
            off,
            needed,
            n_needed,
        )
        with _threads(1 if serial else None):
            return _sp.many_expanded(*args)


#: per network, its prepared graphs by weight key, least recently used first
_PREPARED: weakref.WeakKeyDictionary[Network, OrderedDict[Any, PreparedGraph]] = (
    weakref.WeakKeyDictionary()
)
_PREPARED_LOCK = threading.Lock()


def prepare(network: Network, *, weight: str | np.ndarray = "free_flow_time_s") -> PreparedGraph:
    """The network compressed for repeated searches with ``weight`` (cached, bounded).

    The cache holds at most :data:`MAX_PREPARED_PER_NETWORK` prepared graphs per network,
    dropping the least recently used, and lets go of them with the network. Weights that
    change every call (congested times) should not come here: use ``skim(...,
    cache=False)``.

    Parameters
    ----------
    network : Network
        The compiled network.
    weight : str or (n_edges,) array
        Name of a per-edge array of ``network`` or the weights themselves (>= 0, ``inf``
        forbids an edge).

    Returns
    -------
    PreparedGraph
        Reused by later calls with the same network and weight while it stays cached.
    """
    array = _weight(network, weight)
    key = _weight_key(weight, array)
    with _PREPARED_LOCK:
        cache = _PREPARED.setdefault(network, OrderedDict())
        prepared = cache.get(key)
        if prepared is not None:
            cache.move_to_end(key)
            return prepared
    prepared = PreparedGraph(network, array)  # outside the lock: it may take a while
    with _PREPARED_LOCK:
        cache = _PREPARED.setdefault(network, OrderedDict())
        prepared = cache.setdefault(key, prepared)
        cache.move_to_end(key)
        while len(cache) > MAX_PREPARED_PER_NETWORK:
            cache.popitem(last=False)
    return prepared


# ----------------------------------------------------------------------------- public functions


def shortest_path(
    network: Network,
    origin: int,
    destination: int,
    *,
    weight: str | np.ndarray = "free_flow_time_s",
    by_index: bool = False,
) -> PathResult:
    """Shortest path from ``origin`` to ``destination``.

    Parameters
    ----------
    network : Network
        The compiled network.
    origin, destination : int
        Node ids (compiled indices with ``by_index=True``).
    weight : str or (n_edges,) array
        Per-edge cost to minimise (seconds for ``"free_flow_time_s"``, metres for
        ``"length_m"``).
    by_index : bool
        Nodes are given, and returned, as compiled indices.

    Returns
    -------
    PathResult
        Cost, nodes and edges; ``cost == inf`` and empty arrays when there is no path.
    """
    array = _weight(network, weight)
    o, d = _nodes(network, [origin, destination], by_index=by_index, what="node")
    dist, pred = _sp.single_source(
        network.indptr, network.head, array, o, network.centroid, np.array([d], dtype=np.int64)
    )
    cost = float(dist[d])
    if not math.isfinite(cost):
        empty = np.empty(0, dtype=np.int64)
        return PathResult(cost=cost, nodes=empty, edges=empty)
    edges = _sp.path_edges(pred, network.tail, d)
    nodes = np.concatenate([[o], network.head[edges]]).astype(np.int64)
    if not by_index:
        nodes = network.node_id[nodes]
    return PathResult(cost=cost, nodes=nodes, edges=edges)


def distances(
    network: Network,
    origins: Any,
    *,
    weight: str | np.ndarray = "free_flow_time_s",
    by_index: bool = False,
    method: Method = "auto",
) -> np.ndarray:
    """Shortest-path costs from each origin to every node.

    Parameters
    ----------
    network : Network
        The compiled network.
    origins : int or sequence of int
        Node ids (compiled indices with ``by_index=True``).
    weight : str or (n_edges,) array
        Per-edge cost (seconds for ``"free_flow_time_s"``, metres for ``"length_m"``).
    by_index : bool
        ``origins`` are compiled node indices.
    method : {"auto", "ch", "dijkstra"}
        ``"dijkstra"`` searches the compressed graph per origin; ``"ch"`` sweeps the
        contraction hierarchy (built once per network and weight, then cached);
        ``"auto"`` switches to the hierarchy once enough origins have been searched.

    Returns
    -------
    (n_origins, n_nodes) float64
        Column ``j`` is compiled node ``j``; ``inf`` where unreachable.
    """
    prepared = prepare(network, weight=weight)
    src = _nodes(network, origins, by_index=by_index, what="origin")
    return prepared.distances(src, None, method=method)


def skim(
    network: Network,
    origins: Any,
    destinations: Any = None,
    *,
    weight: str | np.ndarray = "free_flow_time_s",
    by_index: bool = False,
    method: Method = "auto",
    cache: bool = True,
) -> np.ndarray:
    """Origin-destination matrix of shortest-path costs.

    Parameters
    ----------
    network : Network
        The compiled network.
    origins, destinations : sequence of int
        Node ids (compiled indices with ``by_index=True``); ``destinations=None`` uses
        the origins (a square zone-to-zone skim).
    weight : str or (n_edges,) array
        Per-edge cost (seconds for ``"free_flow_time_s"``, metres for ``"length_m"``).
    by_index : bool
        Nodes are compiled node indices.
    method : {"auto", "ch", "dijkstra"}
        As in :func:`distances`.
    cache : bool
        ``True`` for weights used again and again: the prepared graph is cached (see
        :func:`prepare`). ``False`` for weights that change every call (congested link
        times of a feedback loop): nothing is stored; ``method="ch"`` builds a throwaway
        hierarchy, otherwise one plain Dijkstra per origin stops once every destination
        is settled.

    Returns
    -------
    (n_origins, n_destinations) float64
        ``inf`` where unreachable.
    """
    _check_method(method)
    src = _nodes(network, origins, by_index=by_index, what="origin")
    dst = (
        src
        if destinations is None
        else _nodes(network, destinations, by_index=by_index, what="destination")
    )
    if cache:
        return prepare(network, weight=weight).distances(src, dst, method=method)
    array = _weight(network, weight)
    if method == "ch":
        return PreparedGraph(network, array).distances(src, dst, method="ch")
    no_through = np.ascontiguousarray(network.centroid, dtype=np.bool_)
    many_to_many = sized(_sp.many_to_many, src.size * network.head.size)
    with _threads(1 if _serial(src.size) else None):
        return many_to_many(network.indptr, network.head, array, src, dst, no_through)


def shortest_paths(
    network: Network,
    origins: Any,
    destinations: Any,
    *,
    weight: str | np.ndarray = "free_flow_time_s",
    by_index: bool = True,
) -> list[np.ndarray]:
    """Shortest path of each origin-destination pair, as edge lists.

    Pairs are grouped by origin so that each origin is searched once (a Dijkstra that
    stops once the origin's destinations are settled); nothing is cached.

    Parameters
    ----------
    network : Network
        The compiled network.
    origins, destinations : sequence of int
        One origin and one destination per pair (compiled indices with ``by_index=True``,
        else node ids).
    weight : str or (n_edges,) array
        Per-edge cost to minimise (seconds for ``"free_flow_time_s"``, metres for
        ``"length_m"``).
    by_index : bool
        Nodes are compiled node indices.

    Returns
    -------
    list of (k,) int64
        Per pair, the compiled edge indices (CSR order) along its path, origin first;
        empty when the destination is the origin or cannot be reached (the two differ
        by ``origin == destination``). The cost of a path is
        ``np.cumsum(weight[edges])[-1]``, summed in path order as the search does.
    """
    dst = _nodes(network, destinations, by_index=by_index, what="destination")
    empty = np.empty(0, dtype=np.int64)
    out = [empty] * dst.size
    for origin, pairs, dist, pred in _search_by_origin(network, origins, dst, weight, by_index):
        for i in pairs:
            b = int(dst[i])
            if b != origin and math.isfinite(dist[b]):
                out[i] = _sp.path_edges(pred, network.tail, b)
    return out


def _search_by_origin(
    network: Network, origins: Any, dst: np.ndarray, weight: str | np.ndarray, by_index: bool
) -> Any:
    """Per distinct origin of the pairs ``(origins, dst)``: ``(origin, pair indices, dist,
    pred)`` of one Dijkstra that stops once the origin's destinations are settled."""
    array = _weight(network, weight)
    src = _nodes(network, origins, by_index=by_index, what="origin")
    if src.shape != dst.shape:
        raise ValueError(f"{src.size} origins but {dst.size} destinations: give one per pair")
    no_through = np.ascontiguousarray(network.centroid, dtype=np.bool_)
    order = np.argsort(src, kind="stable")
    new_origin = np.flatnonzero(src[order][1:] != src[order][:-1]) + 1
    for pairs in np.split(order, new_origin) if src.size else []:
        origin = int(src[pairs[0]])
        dist, pred = _sp.single_source(
            network.indptr, network.head, array, origin, no_through, np.unique(dst[pairs])
        )
        yield origin, pairs, dist, pred


def shortest_path_costs(
    network: Network,
    origins: Any,
    destinations: Any,
    *,
    weight: str | np.ndarray = "free_flow_time_s",
    by_index: bool = True,
) -> np.ndarray:
    """Shortest-path cost of each origin-destination pair (the costs of :func:`shortest_paths`).

    Each origin is searched once, stopping when its destinations are settled; nothing
    is cached.

    Parameters
    ----------
    network : Network
        The compiled network.
    origins, destinations : sequence of int
        One origin and one destination per pair (compiled indices with ``by_index=True``,
        else node ids).
    weight : str or (n_edges,) array
        Per-edge cost to minimise.
    by_index : bool
        Nodes are compiled node indices.

    Returns
    -------
    (n_pairs,) float64
        The cost (0 where the destination is the origin, ``inf`` where unreachable).
    """
    dst = _nodes(network, destinations, by_index=by_index, what="destination")
    out = np.full(dst.size, np.inf)
    for _, pairs, dist, _ in _search_by_origin(network, origins, dst, weight, by_index):
        out[pairs] = dist[dst[pairs]]
    return out


def walk_distances(
    walk_network: Network,
    nodes: Any,
    destinations: Any = None,
    *,
    max_distance_m: float | None = None,
    by_index: bool = True,
) -> np.ndarray:
    """Walking distances (m) between nodes of a walk network: the one definition.

    Walking is two-way: the distance is the shortest path over ``length_m`` with every
    link usable in both directions, each node pair joined at the shorter of its links
    in either direction; links without a finite length cannot be walked and zone
    centroids are not passed through. The two-way graph is built once per network and
    kept while the network lives.

    Parameters
    ----------
    walk_network : Network
        The compiled walk network.
    nodes : sequence of int
        Origin nodes (compiled indices with ``by_index=True``, else node ids).
    destinations : sequence of int, optional
        Destination nodes; ``None``: ``nodes`` (a square matrix, exactly symmetric).
    max_distance_m : float, optional
        Stop each search at this distance (m); farther pairs are ``inf``. Much faster
        on a large network when only nearby pairs matter.
    by_index : bool
        Nodes are compiled node indices.

    Returns
    -------
    (n_nodes_given, n_destinations) float64
        Metres; ``inf`` where not connected (or beyond ``max_distance_m``).
    """
    src = _nodes(walk_network, nodes, by_index=by_index, what="node")
    dst = (
        src
        if destinations is None
        else _nodes(walk_network, destinations, by_index=by_index, what="destination")
    )
    indptr, head, length = _two_way(walk_network)
    no_through = np.ascontiguousarray(walk_network.centroid, dtype=np.bool_)
    if max_distance_m is None:
        many_to_many = sized(_sp.many_to_many, src.size * head.size)
        with _threads(1 if _serial(src.size) else None):
            d = many_to_many(indptr, head, length, src, dst, no_through)
    else:
        uniq, inv = np.unique(src, return_inverse=True)
        many_to_many_within = sized(_sp.many_to_many_within, uniq.size * head.size)
        with _threads(1 if _serial(uniq.size) else None):
            d = many_to_many_within(
                indptr, head, length, uniq, dst, no_through, float(max_distance_m)
            )
        d = d[inv]
    if destinations is None:
        d = np.minimum(d, d.T)  # the same number both ways, whatever the summation order
    return d


def walk_connected(walk_network: Network, nodes: Any, *, by_index: bool = True) -> np.ndarray:
    """Whether a walk exists between each pair of ``nodes`` at all, however long.

    The same graph as :func:`walk_distances` (two-way, links of finite length, zone
    centroids not passed through), without distances: a pair is connected where
    :func:`walk_distances` would be finite. With ``max_distance_m`` that tells a pair
    beyond the limit from one that no walk joins.

    Parameters
    ----------
    walk_network : Network
        The compiled walk network.
    nodes : sequence of int
        Nodes (compiled indices with ``by_index=True``, else node ids).
    by_index : bool
        Nodes are compiled node indices.

    Returns
    -------
    (n_nodes_given, n_nodes_given) bool
        Symmetric, ``True`` on the diagonal.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    src = _nodes(walk_network, nodes, by_index=by_index, what="node")
    indptr, head, length = _two_way(walk_network)
    n = indptr.size - 1
    tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    usable = np.isfinite(length)
    through = ~np.asarray(walk_network.centroid, dtype=np.bool_)
    # components of the nodes a walk may pass through; a centroid joins those of its
    # neighbours (it starts or ends a walk, never carries one on)
    inner = usable & through[tail] & through[head]
    graph = csr_matrix(
        (np.ones(int(inner.sum()), dtype=np.int8), (tail[inner], head[inner])), shape=(n, n)
    )
    n_labels, label = connected_components(graph, directed=False)
    rows = [np.arange(src.size)[through[src]]]
    cols = [label[src[through[src]]]]
    for r in np.flatnonzero(~through[src]):
        e = np.arange(indptr[src[r]], indptr[src[r] + 1])
        e = e[usable[e] & through[head[e]]]
        rows.append(np.full(e.size, r))
        cols.append(label[head[e]])
    r_all, c_all = np.concatenate(rows), np.concatenate(cols)
    member = csr_matrix(
        (np.ones(r_all.size, dtype=np.int32), (r_all, c_all)), shape=(src.size, n_labels)
    )
    connected = (member @ member.T).toarray() > 0
    # two centroids joined by a link of their own
    ends = ~through[src]
    if ends.sum() > 1:
        where = np.full(n, -1, dtype=np.int64)
        where[src[ends]] = np.flatnonzero(ends)  # one position per node is enough
        direct = usable & (where[tail] >= 0) & (where[head] >= 0)
        a, b = where[tail[direct]], where[head[direct]]
        same = src[:, None] == src[None, :]
        pair = np.zeros((src.size, src.size), dtype=np.bool_)
        pair[a, b] = True
        # spread to every position holding the same node
        pair = (same.astype(np.int32) @ pair.astype(np.int32) @ same.astype(np.int32)) > 0
        connected |= pair
    connected |= src[:, None] == src[None, :]
    return connected


#: per walk network, its two-way graph (indptr, head, length_m)
_TWO_WAY: weakref.WeakKeyDictionary[Network, tuple[np.ndarray, np.ndarray, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _two_way(network: Network) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of ``network`` with every link in both directions, one edge per node pair
    (the shortest), lengths ``inf`` where not finite."""
    cached = _TWO_WAY.get(network)
    if cached is not None:
        return cached
    length = np.asarray(network.length_m, dtype=np.float64)
    length = np.where(np.isfinite(length), length, np.inf)
    tail = np.r_[network.tail, network.head].astype(np.int64)
    head = np.r_[network.head, network.tail].astype(np.int64)
    both = np.r_[length, length]
    order = np.lexsort((both, head, tail))
    tail, head, both = tail[order], head[order], both[order]
    first = np.r_[True, (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])][: tail.size]
    tail, head, both = tail[first], head[first], both[first]
    indptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=network.n_nodes), out=indptr[1:])
    graph = (_frozen(indptr), _frozen(head.astype(np.int32)), np.ascontiguousarray(both))
    _TWO_WAY[network] = graph
    return graph


def edge_weights(network: Network, weight: str | np.ndarray = "free_flow_time_s") -> np.ndarray:
    """The per-edge weight as a checked float64 array (CSR order), for the kernels that
    search on their own (bounded accessibility sums, isochrones); nothing is cached.

    Parameters
    ----------
    network : Network
        The compiled network.
    weight : str or (n_edges,) array
        Name of a per-edge array of ``network`` or the weights themselves.

    Returns
    -------
    (n_edges,) float64
        Raises :class:`NetworkError` on NaN or negative values.
    """
    return _weight(network, weight)


def snap_points(
    network: Network,
    x: Any,
    y: Any,
    *,
    max_distance_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest network node of each point.

    Candidates are the nodes with at least one edge that are not zone centroids.

    Parameters
    ----------
    network : Network
        The compiled network.
    x, y : array_like
        Point coordinates in the network's CRS: longitude and latitude in degrees for
        EPSG:4326 (distances by the haversine formula), else planar coordinates
        (Euclidean distances in CRS units, metres for metric CRSs).
    max_distance_m : float, optional
        Points farther than this from every candidate raise :class:`SnappingError`.

    Returns
    -------
    node_index : (n_points,) int64
        Compiled index of the nearest node.
    distance_m : (n_points,) float64
        Distance to it (metres for geographic and metric CRSs).
    """
    # copies: writeable whatever the caller passed, so the kernel compiles once (_frozen)
    px = np.array(x, dtype=np.float64, ndmin=1).ravel()
    py = np.array(y, dtype=np.float64, ndmin=1).ravel()
    if px.shape != py.shape:
        raise SnappingError(f"x and y differ in length ({px.size} != {py.size})")
    bad = np.flatnonzero(~(np.isfinite(px) & np.isfinite(py)))
    if bad.size:
        raise SnappingError(
            f"{bad.size} point(s) have missing or infinite coordinates: {_listing(bad)}"
        )
    degree = np.bincount(network.tail, minlength=network.n_nodes) + np.bincount(
        network.head, minlength=network.n_nodes
    )
    usable = (
        (degree > 0) & ~network.centroid & np.isfinite(network.node_x) & np.isfinite(network.node_y)
    )
    cand = np.flatnonzero(usable)
    if cand.size == 0:
        raise SnappingError("the network has no node with coordinates to snap to")
    if px.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    geographic = _is_geographic(network.crs)
    nx_, ny_ = network.node_x, network.node_y
    if geographic:
        lat_max = min(89.0, float(max(np.abs(ny_[cand]).max(), np.abs(py).max())))
        ky = METRES_PER_DEGREE
        kx = ky * math.cos(math.radians(lat_max))
    else:
        kx = ky = 1.0
    gx, gy = nx_[cand] * kx, ny_[cand] * ky
    grid = _snapping.build_grid(gx, gy, max(1, cand.size // 2))
    # a point scans a few grid cells of about two candidates each
    nearest_nodes = sized(_snapping.nearest_nodes, 20 * px.size)
    with _threads(1 if px.size < 256 else None):
        node, dist = nearest_nodes(px, py, px * kx, py * ky, nx_, ny_, cand, *grid, geographic)
    if max_distance_m is not None:
        far = np.flatnonzero(dist > max_distance_m)
        if far.size:
            detail = ", ".join(f"point {i} ({dist[i]:,.1f} m)" for i in far[:10])
            more = f" and {far.size - 10} more" if far.size > 10 else ""
            raise SnappingError(
                f"{far.size} of {px.size} point(s) lie farther than {max_distance_m:g} m from the "
                f"network: {detail}{more}; check the coordinates (lon/lat order, CRS) or raise max_distance_m"
            )
    return node, dist


@dataclass(frozen=True)
class EdgeCandidates:
    """Links near points, as returned by :func:`snap_to_edges` (one row per point and link).

    Attributes
    ----------
    point : (c,) int64
        Index of the point; rows of a point are consecutive, nearest link first.
    edge : (c,) int64
        Compiled edge index.
    fraction : (c,) float64
        Position of the point's projection along the link, 0 at its tail, 1 at its head
        (share of the link's drawn length).
    distance_m : (c,) float64
        Distance from the point to the link (metres for geographic and metric CRSs).
    """

    point: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray


def snap_to_edges(
    network: Network,
    x: Any,
    y: Any,
    *,
    edges: np.ndarray | None = None,
    radius_m: float = 60.0,
    max_distance_m: float = 250.0,
    max_candidates: int = 8,
) -> EdgeCandidates:
    """Candidate links of each point: every link within ``radius_m`` of the nearest one.

    A link is drawn as its ``geometry`` (a LineString in the network's CRS, from its
    tail to its head) where the edge table has one, else as the straight line between
    its end nodes. Distances are taken in a local equirectangular projection around
    the network's mean latitude (good to about 0.1 % over a city) for geographic CRSs,
    in CRS units otherwise. The two directions of a two-way street are two links at
    the same distance; choosing between them (by direction of travel) is the caller's.

    Parameters
    ----------
    network : Network
        The compiled network.
    x, y : array_like
        Point coordinates in the network's CRS.
    edges : (n_edges,) bool, optional
        Links that may be chosen (default: all).
    radius_m : float
        Keep the links within this distance beyond the nearest link's (m).
    max_distance_m : float
        Points with no link this close get no candidate.
    max_candidates : int
        At most this many links per point, nearest first (ties by edge index).

    Returns
    -------
    EdgeCandidates
    """
    import shapely

    px = np.array(x, dtype=np.float64, ndmin=1).ravel()
    py = np.array(y, dtype=np.float64, ndmin=1).ravel()
    if px.shape != py.shape:
        raise SnappingError(f"x and y differ in length ({px.size} != {py.size})")
    bad = np.flatnonzero(~(np.isfinite(px) & np.isfinite(py)))
    if bad.size:
        raise SnappingError(
            f"{bad.size} point(s) have missing or infinite coordinates: {_listing(bad)}"
        )
    lines, to_local = _edge_lines(network)
    allowed = np.ones(network.n_edges, bool) if edges is None else np.asarray(edges, bool)
    if allowed.shape != (network.n_edges,):
        raise ValueError(f"edges mask has shape {allowed.shape}, expected ({network.n_edges},)")
    usable = np.flatnonzero(allowed & ~shapely.is_missing(lines))
    empty_i, empty_f = np.empty(0, dtype=np.int64), np.empty(0)
    if px.size == 0 or usable.size == 0:
        return EdgeCandidates(empty_i, empty_i, empty_f, empty_f)
    points = shapely.points(*to_local(px, py))
    tree = shapely.STRtree(lines[usable])
    # the nearest link of each point first, then every link within radius_m beyond it
    near_p, near_k = tree.query_nearest(points, max_distance=float(max_distance_m))
    reach = np.full(px.size, -1.0)
    # (+1 micrometre: the nearest link itself must pass the dwithin test)
    reach[near_p] = shapely.distance(points[near_p], lines[usable[near_k]]) + radius_m + 1e-6
    has = np.flatnonzero(reach >= 0)
    pi, ki = tree.query(
        points[has], predicate="dwithin", distance=np.minimum(reach[has], max_distance_m)
    )
    pi = has[pi]
    ei = usable[ki]
    d = shapely.distance(points[pi], lines[ei])
    order = np.lexsort((ei, d, pi))
    pi, ei, d = pi[order], ei[order], d[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if pi.size else np.empty(0, bool)
    nearest = np.maximum.accumulate(np.where(first, np.arange(pi.size), 0))
    rank = np.arange(pi.size) - nearest
    keep = (d <= d[nearest] + radius_m) & (rank < max_candidates) & (d <= max_distance_m)
    pi, ei, d = pi[keep], ei[keep], d[keep]
    fraction = shapely.line_locate_point(lines[ei], points[pi], normalized=True)
    fraction = np.clip(np.nan_to_num(fraction, nan=0.0), 0.0, 1.0)
    return EdgeCandidates(
        point=pi.astype(np.int64), edge=ei.astype(np.int64), fraction=fraction, distance_m=d
    )


#: per network, its links as local metric LineStrings and the projection used
_EDGE_LINES: weakref.WeakKeyDictionary[Network, tuple[np.ndarray, Any]] = (
    weakref.WeakKeyDictionary()
)


def _edge_lines(network: Network) -> tuple[np.ndarray, Any]:
    """Links as LineStrings in local metres (missing where a link has no coordinates) and the
    function ``(x, y) -> (x_m, y_m)`` that projects points the same way."""
    cached = _EDGE_LINES.get(network)
    if cached is not None:
        return cached
    import shapely

    if _is_geographic(network.crs):
        finite = np.isfinite(network.node_y)
        lat0 = float(np.mean(network.node_y[finite])) if finite.any() else 0.0

        def to_local(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
            return local_xy(x, y, lat0)
    else:

        def to_local(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
            return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    coords, index = edge_polylines(network)
    lx, ly = to_local(coords[:, 0], coords[:, 1])
    ok = np.isfinite(lx) & np.isfinite(ly)
    lines = np.full(network.n_edges, None, dtype=object)
    has = np.bincount(index[ok], minlength=network.n_edges) >= 2
    complete = has & (
        np.bincount(index, minlength=network.n_edges)
        == np.bincount(index[ok], minlength=network.n_edges)
    )
    take = complete[index]
    if take.any():
        built = shapely.linestrings(np.column_stack([lx[take], ly[take]]), indices=index[take])
        lines[np.unique(index[take])] = built
    _EDGE_LINES[network] = (lines, to_local)
    return lines, to_local


def edge_polylines(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Every link's polyline in the network's CRS, from its tail to its head.

    The link's ``geometry`` (LineString) where the edge table has one, else the straight
    line between its end nodes.

    Returns
    -------
    coords : (m, 2) float64
        Vertices of all links, link by link.
    index : (m,) int64
        Link of each vertex (non-decreasing).
    """
    import shapely

    straight = np.stack(
        [
            network.node_x[network.tail],
            network.node_y[network.tail],
            network.node_x[network.head],
            network.node_y[network.head],
        ],
        axis=1,
    ).reshape(-1, 2)
    straight_index = np.repeat(np.arange(network.n_edges, dtype=np.int64), 2)
    if "geometry" not in network.edges.columns:
        return straight, straight_index
    geoms = np.asarray(network.edges["geometry"].to_numpy(object))
    is_line = np.array(
        [g is not None and getattr(g, "geom_type", "") == "LineString" for g in geoms], bool
    )
    if not is_line.any():
        return straight, straight_index
    coords, index = shapely.get_coordinates(list(geoms[is_line]), return_index=True)
    index = np.flatnonzero(is_line)[index]
    keep_straight = ~is_line[straight_index]
    all_coords = np.concatenate([coords, straight[keep_straight]])
    all_index = np.concatenate([index, straight_index[keep_straight]])
    order = np.argsort(all_index, kind="stable")
    return all_coords[order], all_index[order].astype(np.int64)


# ----------------------------------------------------------------------------- validation


def _serial(n_sources: int) -> bool:
    return n_sources < SERIAL_BELOW


@contextmanager
def _threads(n: int | None):
    """Run the block with ``n`` numba threads (``None``: unchanged); numba's setting is
    per calling thread, so this does not affect other threads."""
    if n is None or n >= numba.get_num_threads():
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _check_method(method: str) -> None:
    if method not in ("auto", "ch", "dijkstra"):
        raise ValueError(f"method must be 'auto', 'ch' or 'dijkstra', not {method!r}")


def _weight_key(weight: str | np.ndarray, array: np.ndarray) -> Any:
    """Cache key of a weight: its name, or a hash of the array's bytes."""
    if isinstance(weight, str):
        return ("name", weight)
    return ("array", hashlib.blake2b(array.tobytes(), digest_size=16).hexdigest())


def _frozen(array: np.ndarray) -> np.ndarray:
    """``array`` made read-only (in place), like the compiled network's arrays.

    numba compiles a kernel once per combination of argument types, and a read-only
    array is a different type from a writeable one. So that every kernel (and the
    search helpers they share) compiles once, the arrays this module hands to the
    kernels follow one rule: graph structure (``indptr``, ``head``, ``tail``,
    ``no_through``) is read-only, as a :class:`Network`'s is; weights, node lists and
    points are writeable (``_weight`` copies a read-only weight, e.g. a network column).
    """
    array.flags.writeable = False
    return array


def _weight(network: Network, weight: str | np.ndarray) -> np.ndarray:
    """The weight as a writeable float64 array; raises NetworkError on NaN or negative
    values."""
    if isinstance(weight, str):
        if weight not in EDGE_FLOAT_DEFAULTS:
            raise ValueError(
                f"unknown weight {weight!r}; expected one of {sorted(EDGE_FLOAT_DEFAULTS)} or an array"
            )
        array = np.ascontiguousarray(getattr(network, weight), dtype=np.float64)
        name = repr(weight)
    else:
        array = np.ascontiguousarray(weight, dtype=np.float64)
        if array.shape != (network.n_edges,):
            raise ValueError(f"weight array has shape {array.shape}, expected ({network.n_edges},)")
        name = "weight array"
    if not array.flags.writeable:  # one array type for the kernels (see _frozen)
        array = array.copy()
    bad = np.flatnonzero(np.isnan(array) | (array < 0))
    if bad.size:
        e = bad[:5]
        pairs = ", ".join(
            f"{network.node_id[network.tail[i]]}->{network.node_id[network.head[i]]} ({array[i]})"
            for i in e
        )
        raise NetworkError(
            f"{name} has {bad.size} missing or negative value(s), e.g. edges {pairs}; "
            "impute them first or pass a complete weight array"
        )
    return array


def _nodes(network: Network, nodes: Any, *, by_index: bool, what: str) -> np.ndarray:
    """Compiled indices of node ids (or checked indices with ``by_index``)."""
    arr = np.atleast_1d(np.asarray(nodes))
    if arr.ndim != 1:
        raise ValueError(f"{what}s must be one id or a 1-d sequence of ids, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{what}s must be integers, got dtype {arr.dtype}")
    if not by_index:
        return network.node_index(arr)
    arr = arr.astype(np.int64)
    bad = np.flatnonzero((arr < 0) | (arr >= network.n_nodes))
    if bad.size:
        raise IndexError(f"{what} index {int(arr[bad[0]])} is outside 0..{network.n_nodes - 1}")
    return arr


def _is_geographic(crs: Any) -> bool:
    """Whether ``crs`` is geographic (degrees); ``None`` counts as planar."""
    if crs is None:
        return False
    try:
        import pyproj

        return bool(pyproj.CRS.from_user_input(crs).is_geographic)
    except Exception:  # noqa: BLE001 - unknown CRS text: fall back on the common case
        return "4326" in str(crs)


#: the documented limit (metres) for a zone or stop's distance to the network: a point
#: farther away is an input error (wrong city, swapped lon/lat, a typo), not a long walk
MAX_SNAP_M = 2000.0


def check_near_network(
    network: Network,
    x: Any,
    y: Any,
    distance_m: Any,
    *,
    labels: Any = None,
    what: str = "zone",
    limit_m: float | None = MAX_SNAP_M,
    option: str | None = "max_snap_m",
) -> None:
    """Refuse points that lie implausibly far from ``network``.

    Raises :class:`SnappingError` naming the farthest point (its label, coordinates and
    distance) when any of ``distance_m`` (from :func:`snap_points`) exceeds ``limit_m``,
    and says so when the points would lie on the network with longitude and latitude
    swapped. ``limit_m=None`` checks nothing. Planar networks whose CRS units may not be
    metres (TNTP node files) are not checked.
    """
    if limit_m is None or not (_is_geographic(network.crs) or _is_metric(network.crs)):
        return
    dist = np.asarray(distance_m, dtype=np.float64).ravel()
    far = np.flatnonzero(dist > limit_m)
    if far.size == 0:
        return
    px = np.asarray(x, dtype=np.float64).ravel()
    py = np.asarray(y, dtype=np.float64).ravel()
    names = np.arange(dist.size) if labels is None else np.asarray(labels).ravel()
    worst = int(far[np.argmax(dist[far])])
    message = (
        f"{far.size} of {dist.size} {what}(s) lie farther than {limit_m:,.0f} m from the "
        f"network; the farthest is {what} {_plain(names[worst])} at "
        f"({px[worst]:.6g}, {py[worst]:.6g}), {dist[worst]:,.0f} m away"
    )
    if _is_geographic(network.crs) and _swapped_fits(network, px, py, limit_m):
        message += "; the coordinates look swapped: give longitude (x) first, latitude (y) second"
    else:
        raise_it = f"; raise {option} if this is intended" if option else ""
        message += f" (another city or a typo?{raise_it})"
    raise SnappingError(message)


def _swapped_fits(network: Network, px: np.ndarray, py: np.ndarray, limit_m: float) -> bool:
    """Whether most points would lie within ``limit_m`` of the network as (y, x)."""
    if not (np.all(np.abs(px) <= 90.0) and np.all(np.abs(py) <= 180.0)):
        return False
    _, swapped = snap_points(network, py, px)
    return bool(np.mean(swapped <= limit_m) > 0.5)


def _is_metric(crs: Any) -> bool:
    try:
        import pyproj

        units = pyproj.CRS.from_user_input(crs).axis_info[0].unit_name
    except Exception:  # noqa: BLE001 (no or unknown CRS: units unknown)
        return False
    return units in ("metre", "meter")


def _plain(value: Any) -> str:
    """A label as a user wrote it (``3``, not ``np.int64(3)``)."""
    return str(value.item() if isinstance(value, np.generic) else value)


def _listing(indices: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in indices[:limit])
    return shown + (f" and {indices.size - limit} more" if indices.size > limit else "")
