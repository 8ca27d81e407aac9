"""All-or-nothing loading on a compressed graph, built once per problem.

Two stages, both independent of the link costs:

1. :func:`.kernels.assignment.aon_graph`: dead-end trees dropped, degree-2 chains
   contracted into one edge each (centroids, origins and destinations kept);
2. :func:`eliminate`: nodes are eliminated one after the other, the one whose removal
   adds the fewest edges first, as long as it adds at most :data:`MAX_ADDED_EDGES`
   more edges than it removes; each path ``i -> v -> o`` through an eliminated node
   ``v`` becomes a derived edge ``i -> o`` (the cheaper one kept where ``i -> o`` exists).

Every iteration computes the derived edges' costs (sums and minima), searches the small
*core* graph that is left, and pushes the flows back down to the original links.
Distances and flows equal those of the full graph up to the order of summation; where
two paths are exactly equally short, the one taken may differ.

The graph depends only on the network's structure, the usable links and the protected
nodes, so the last :data:`CACHED_GRAPHS` built are kept (keyed by a digest of those
arrays): the feedback loop of the multimodal model assigns on the same network again
and again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..kernels.assignment import (
    MAX_SLOTS,
    aon_graph,
    aon_load_compressed,
    aon_load_dense,
    load_trees,
    skim_compressed,
)
from ..kernels.elimination import eliminate_nodes
from ._problem import Problem

#: a node is eliminated while its removal adds at most this many more edges than it
#: removes. Larger values leave fewer nodes and more edges to search; AON CPU time per
#: iteration on the compressed graph at free flow (2 cores busy with other work, so
#: relative figures only), for 0 / 8 / 32 / 128: Berlin-Center 90 / 58 / 48 / 50 ms
#: (2,915 / 1,951 / 1,560 / 1,331 core nodes), Sydney 2,396 / 1,426 / 1,122 / 916 ms,
#: Grid10k 131 / 64 / 56 / 47 ms; the build (:func:`.kernels.elimination.eliminate_nodes`) grows with it
MAX_ADDED_EDGES = 32
#: compressed graphs with fewer nodes are searched as they are, without elimination: it
#: saves them little, and its kernel costs a first run about 9 s of compilation (CPU)
MIN_ELIMINATION_NODES = 300
#: core graphs kept in the process (least recently used dropped)
CACHED_GRAPHS = 4
_GRAPHS: dict[bytes, tuple] = {}
#: where every search is a full one (skims; loadings of dense demand without a hierarchy,
#: :class:`._hierarchy.DenseCoreAON`), a graph searched from this many origins in the
#: process (loadings and skims together) gets a core eliminated further, at
#: :data:`LARGER_MAX_ADDED`: a smaller, denser core, faster to search. The build costs
#: about as much as 3,000-4,000 searches save, at any size (both grow with the core):
#: Grid100k (1,024 zones) builds it in 6.3 CPU s from the core at 32, then loads in 7.1
#: instead of 9.1-9.4 s (pruned) and skims in 6.8 instead of 8.4 s, 1.5-2 ms less per
#: origin; the 30,000-node grid city (289 zones) in 1.6 s, 0.4 ms less per origin. The
#: rule of renting until the rent paid equals the price: never more than about twice
#: the better of the two choices
SWITCH_SEARCHES = 3000
LARGER_MAX_ADDED = 128
#: skims whose work (origins x core edges) is at least this search the core without its
#: redundant edges (:func:`.kernels.assignment.prune_core`, as dense loadings do): every
#: search is a full one there. The 100,000-node grid city (1,000 zones, core of 37,757
#: nodes and 670,586 edges): a free-flow skim 9.6 instead of 10.1 CPU s (2 threads,
#: shared machine), the same distances bit for bit; small skims skip the pass over the core
PRUNE_SKIM_WORK = 1e7
#: search counts kept (least recently used dropped)
COUNTED_GRAPHS = 16
_SEARCHES: dict[bytes, int] = {}
#: the ``zone_cost`` argument of the loading kernels when no zone costs are kept
NO_ZONE_COSTS = np.empty((0, 0))
#: searches asked to keep their trees (:class:`KeptTrees`) keep them where their work
#: (origins x core edges) is at least this: a loading on kept trees saves a search pass
#: but costs a first run the compilation of :func:`.kernels.assignment.load_trees`
#: (about a second), which small problems (the demo) never win back
KEEP_TREES_WORK = 1e6


@dataclass(frozen=True, eq=False)
class KeptTrees:
    """The shortest-path trees of one search pass on a core graph (a skim, or a loading
    with its zone costs), kept so that a later all-or-nothing loading at the same link
    costs needs no search: :meth:`start_flow` pushes demand down them
    (:func:`.kernels.assignment.load_trees`). About 4 bytes per origin and core node
    (the 100,000-node grid city: 1,000 zones x 37,757 core nodes, 151 MB).
    """

    #: digest of the network's CSR graph and the links open to the searches
    links_key: bytes
    #: the searched core graph's kernel arguments (:class:`CompressedAON`)
    args: tuple
    n_core: int
    #: link costs (s, per link) the trees are shortest under
    cost: np.ndarray
    #: compiled node index of each origin (tree row) and destination (column)
    origin_nodes: np.ndarray
    dest_nodes: np.ndarray
    #: core node index of each destination
    core_dests: np.ndarray
    #: (origins, destinations) shortest costs (s); NaN where the search did not make a
    #: pair final (a loading settles only the pairs with demand)
    zone_cost: np.ndarray
    #: (origins, core nodes) int32: the predecessor core edges in loading order, and
    #: how many per origin (:func:`.kernels.assignment.aon_load_compressed`)
    tree: np.ndarray
    tree_count: np.ndarray

    def start_flow(self, problem: Problem) -> np.ndarray | None:
        """The all-or-nothing link flows (veh/h) of ``problem``'s demand on these trees,
        or ``None`` where they are not that problem's shortest paths at some flow: other
        links open, a flow-independent cost (tolls, distance) on an open link (the trees
        are searches of link times), or a pair with demand that the trees do not reach."""
        usable = ~np.asarray(problem.closed, dtype=np.bool_)
        if _digest(problem.indptr, problem.head, usable) != self.links_key:
            return None
        if np.any(problem.fixed[usable] != 0.0):
            return None
        n = problem.indptr.size - 1
        row_of = np.full(n, -1, dtype=np.int64)
        row_of[self.origin_nodes] = np.arange(self.origin_nodes.size)
        col_of = np.full(n, -1, dtype=np.int64)
        col_of[self.dest_nodes] = np.arange(self.dest_nodes.size)
        rows = row_of[problem.origin_nodes]
        cols = col_of[problem.dest_nodes]
        demand = np.ascontiguousarray(problem.demand, dtype=np.float64)
        wanted = demand > 0.0
        if (wanted & ((rows < 0)[:, None] | (cols < 0)[None, :])).any():
            return None
        rows = np.maximum(rows, 0)
        cols = np.maximum(cols, 0)
        if not np.isfinite(self.zone_cost[np.ix_(rows, cols)][wanted]).all():
            return None
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, _, k_head, k_tail, k_edge = self.args
        return load_trees(
            c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, k_head, k_tail, k_edge,
            self.cost, self.n_core, self.tree, self.tree_count, rows,
            np.ascontiguousarray(self.core_dests[cols]), demand,
        )  # fmt: skip


def tree_buffers(keep: bool, n_origins: int, n_core: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``tree``/``tree_count`` outputs of the search kernels: sized to keep the trees
    of ``n_origins`` searches on a core of ``n_core`` nodes, else empty."""
    if not keep:
        return np.empty((0, 0), dtype=np.int32), np.empty(0, dtype=np.int64)
    return np.empty((n_origins, n_core), dtype=np.int32), np.zeros(n_origins, dtype=np.int64)


def zone_cost_buffer(keep: bool, n_origins: int, n_dests: int) -> np.ndarray:
    """The ``zone_cost`` output of a loading kernel: ``(n_origins, n_dests)`` to keep the
    zone-to-zone costs of the searches, else :data:`NO_ZONE_COSTS`."""
    return np.empty((n_origins, n_dests)) if keep else NO_ZONE_COSTS


def eliminate(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    protect: np.ndarray,
    max_added: int | None = None,
) -> tuple[np.ndarray, ...]:
    """Eliminate unprotected nodes of the graph ``tail -> head``, cheapest first, while
    one adds at most ``max_added`` more edges than it removes.

    Returns ``(op_sum, op_a, op_b, core_of, core_indptr, core_head, core_tail,
    core_edge)``: derived edge ``m + k`` (``m = tail.size``) is ``op_a[k] + op_b[k]``
    where ``op_sum[k]``, else the cheaper of the two; ``core_of[v]`` is the core index
    of node ``v`` (-1: eliminated) and the core CSR's edge ``e`` is edge ``core_edge[e]``.
    """
    if max_added is None:
        max_added = MAX_ADDED_EDGES
    return eliminate_nodes(
        int(n),
        np.ascontiguousarray(tail, dtype=np.int64),
        np.ascontiguousarray(head, dtype=np.int64),
        np.ascontiguousarray(protect, dtype=np.bool_),
        int(max_added),
    )


def _whole(
    n: int, c_indptr: np.ndarray, c_head: np.ndarray, c_tail: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The arrays of :func:`eliminate` with no node eliminated: the core graph is the
    compressed graph itself (parallel edges kept: a search takes the cheaper one)."""
    no_ops = np.empty(0, dtype=np.int64)
    return (
        np.empty(0, dtype=np.bool_),
        no_ops,
        no_ops.copy(),
        np.arange(n, dtype=np.int64),
        np.ascontiguousarray(c_indptr, dtype=np.int64),
        np.ascontiguousarray(c_head, dtype=np.int64),
        np.ascontiguousarray(c_tail, dtype=np.int64),
        np.arange(c_head.size, dtype=np.int64),
    )


def _digest(*arrays: np.ndarray) -> bytes:
    """A digest of the arrays' contents and shapes."""
    h = hashlib.blake2b(digest_size=20)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.digest()


def _build(
    indptr: np.ndarray,
    head: np.ndarray,
    usable: np.ndarray,
    protect: np.ndarray,
    no_through: np.ndarray,
    max_added: int,
) -> tuple:
    """``(kernel args, core no_through, new_of, core_of)`` of :class:`CompressedAON`."""
    new_of, c_indptr, c_head, c_tail, c_link, sc_ptr, step_ptr, cand = aon_graph(
        indptr, head, usable, protect
    )
    kept = np.flatnonzero(new_of >= 0)
    node_of = np.empty(kept.size, dtype=np.int64)  # original node of each compressed one
    node_of[new_of[kept]] = kept
    if kept.size < MIN_ELIMINATION_NODES:
        op_sum, op_a, op_b, core_of, k_indptr, k_head, k_tail, k_edge = _whole(
            kept.size, c_indptr, c_head, c_tail
        )
    else:
        op_sum, op_a, op_b, core_of, k_indptr, k_head, k_tail, k_edge = eliminate(
            kept.size, c_tail, c_head, protect[node_of], max_added
        )
    alive = np.flatnonzero(core_of >= 0)
    args = (
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
        k_indptr, k_head, k_tail, k_edge,
    )  # fmt: skip
    core_no_through = np.ascontiguousarray(no_through[node_of[alive]])
    return args, core_no_through, new_of, core_of


def _further(base: tuple, protect: np.ndarray, max_added: int) -> tuple:
    """The arrays of :func:`_build` at ``max_added``, from those of a smaller limit
    (``base``): its core graph eliminated further.

    Elimination takes the node that adds the fewest edges first, so eliminating at
    ``max_added`` passes close to the state where the smaller limit stopped: continuing
    from ``base``'s core saves the work up to there. The order can differ a little from
    starting over (the heap holds a node's gain as last computed, and a node's gain can
    fall without a neighbour being eliminated), so the derived edges can differ; every
    elimination keeps the distances exact.
    """
    args, no_through, new_of, core_of = base
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, _, k_head, k_tail, k_edge = args
    kept = np.flatnonzero(new_of >= 0)
    if kept.size < MIN_ELIMINATION_NODES:
        return base  # searched whole at any limit
    node_of = np.empty(kept.size, dtype=np.int64)
    node_of[new_of[kept]] = kept
    alive = np.flatnonzero(core_of >= 0)
    op_sum2, op_a2, op_b2, core_of2, k_indptr2, k_head2, k_tail2, k_edge2 = eliminate(
        alive.size, k_tail, k_head, protect[node_of[alive]], max_added
    )
    m_core = k_edge.size
    first = c_link.size + op_a.size  # where the new derived edges are numbered from

    def derived(x: np.ndarray) -> np.ndarray:
        """``base``'s core-edge numbering (``m_core + k``: new op ``k``) -> derived."""
        return np.where(x < m_core, k_edge[np.minimum(x, m_core - 1)], first + x - m_core)

    args = (
        c_link, sc_ptr, step_ptr, cand,
        np.concatenate([op_sum, op_sum2]),
        np.concatenate([op_a, derived(op_a2)]),
        np.concatenate([op_b, derived(op_b2)]),
        k_indptr2, k_head2, k_tail2, derived(k_edge2),
    )  # fmt: skip
    core_of_new = np.where(core_of >= 0, core_of2[np.maximum(core_of, 0)], -1)
    core_no_through = np.ascontiguousarray(no_through[core_of2 >= 0])
    return args, core_no_through, new_of, core_of_new


#: a core graph's arrays as the loading and skim kernels take them (:func:`_build`)
CoreArgs = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]  # fmt: skip


class CompressedAON:
    """All-or-nothing loading on the compressed graph of a network (see the module doc).

    Parameters
    ----------
    indptr, head, usable, no_through
        The network's CSR graph, the links that may carry flow and the centroids.
    origin_nodes, dest_nodes, demand
        As for :func:`.kernels.assignment.aon_load`.
    max_added
        The elimination's limit (:func:`eliminate`); default :data:`MAX_ADDED_EDGES`.
    prune
        Drop the core edges a shorter path makes redundant before each loading's searches
        (:func:`.kernels.assignment.prune_core`): it pays where every search is a full one
        (dense demand; Grid100k's core loses 39 % of its edges, the AON about 10 % of its
        CPU time), not where searches stop early (Berlin-Center: the 5 ms it costs per
        loading equal what the searches save).

    Attributes
    ----------
    keep_zone_costs : bool
        Keep the shortest costs between origins and destinations of each loading in
        ``zone_cost_s`` (default False).
    zone_cost_s : (n_origins, n_dests) float64 or None
        Those of the last loading (s; NaN where a pair has no demand: the search need
        not settle it).
    """

    def __init__(
        self,
        indptr: np.ndarray,
        head: np.ndarray,
        usable: np.ndarray,
        no_through: np.ndarray,
        origin_nodes: np.ndarray,
        dest_nodes: np.ndarray,
        demand: np.ndarray,
        max_added: int | None = None,
        prune: bool = False,
    ) -> None:
        if max_added is None:
            max_added = MAX_ADDED_EDGES
        protect = np.array(no_through, dtype=np.bool_)
        protect[origin_nodes] = True
        protect[dest_nodes] = True
        usable = np.asarray(usable, dtype=np.bool_)
        self.graph_key = _digest(
            indptr, head, usable, protect, np.asarray(no_through, dtype=np.bool_)
        )
        self.links_key = _digest(indptr, head, usable)

        def key_at(limit: int) -> bytes:
            graph = np.frombuffer(self.graph_key, dtype=np.uint8)
            return _digest(graph, np.array([limit, MIN_ELIMINATION_NODES]))

        key = key_at(max_added)
        built = _GRAPHS.pop(key, None)
        if built is None and max_added > MAX_ADDED_EDGES:
            # the core at MAX_ADDED_EDGES is often there (the car skims'): go on from it
            base = _GRAPHS.get(key_at(MAX_ADDED_EDGES))
            if base is not None:
                built = _further(base, protect, max_added)
        if built is None:
            built = _build(indptr, head, usable, protect, np.asarray(no_through), max_added)
        _GRAPHS[key] = built  # most recently used last
        while len(_GRAPHS) > CACHED_GRAPHS:
            _GRAPHS.pop(next(iter(_GRAPHS)))
        self.max_added = max_added
        self._inputs = (indptr, head, usable, no_through, origin_nodes, dest_nodes, demand)
        self._larger: CompressedAON | None = None
        #: the core graph's arrays, the first eleven arguments of the kernels
        #: (:func:`.kernels.assignment.aon_load_compressed`)
        self.args: CoreArgs = built[0]
        self.no_through, new_of, core_of = built[1:]
        self.n_core = int(self.no_through.size)
        self.m_core = int(self.args[-1].size)
        self.origins = np.ascontiguousarray(core_of[new_of[origin_nodes]])
        self.dests = np.ascontiguousarray(core_of[new_of[dest_nodes]])
        self.demand = demand
        self.prune = prune
        #: load with :func:`.kernels.assignment.aon_load_dense` (pruned, bucket queue):
        #: set by :class:`._hierarchy.DenseCoreAON`, whose searches are all full ones
        self.dense = False
        self.keep_zone_costs = False
        self.zone_cost_s: np.ndarray | None = None
        #: keep the trees of each loading in ``kept_trees`` (large problems only,
        #: :data:`KEEP_TREES_WORK`; else it stays ``None``)
        self.keep_trees = False
        self.kept_trees: KeptTrees | None = None
        self._origin_nodes = np.asarray(origin_nodes)
        self._dest_nodes = np.asarray(dest_nodes)

    def _trees_wanted(self) -> bool:
        """Whether a search pass keeps its trees: large enough (:data:`KEEP_TREES_WORK`)."""
        return self.origins.size * self.m_core >= KEEP_TREES_WORK

    def _kept(
        self, cost: np.ndarray, zone_cost: np.ndarray, tree: np.ndarray, count: np.ndarray
    ) -> KeptTrees:
        """The trees a search pass at link costs ``cost`` kept."""
        return KeptTrees(
            self.links_key, self.args, self.n_core, np.array(cost, dtype=np.float64),
            self._origin_nodes, self._dest_nodes, self.dests, zone_cost, tree, count,
        )  # fmt: skip

    @classmethod
    def of_problem(
        cls, problem: Problem, max_added: int | None = None, prune: bool = False
    ) -> CompressedAON:
        """The compressed loader of a car-equilibrium problem (``max_added``, ``prune``:
        see the class doc)."""
        return cls(
            problem.indptr,
            problem.head,
            ~problem.closed,
            problem.no_through,
            problem.origin_nodes,
            problem.dest_nodes,
            problem.demand,
            max_added,
            prune,
        )

    def wants_larger(self) -> bool:
        """Count a full search from each origin of this graph (see :data:`SWITCH_SEARCHES`);
        True where the graph had been searched that often before and this core is not
        the larger one yet."""
        done = _SEARCHES.pop(self.graph_key, 0)
        _SEARCHES[self.graph_key] = done + self.origins.size  # most recently used last
        while len(_SEARCHES) > COUNTED_GRAPHS:
            _SEARCHES.pop(next(iter(_SEARCHES)))
        return done >= SWITCH_SEARCHES and self.max_added < LARGER_MAX_ADDED

    def larger(self) -> CompressedAON:
        """The same loader on a core eliminated further (:data:`LARGER_MAX_ADDED`), built
        on from this one (:func:`_further`); distances and flows equal up to the order
        of summation."""
        if self._larger is None:
            self._larger = CompressedAON(*self._inputs, LARGER_MAX_ADDED, self.prune)
        return self._larger

    def load(self, cost: np.ndarray, load: bool = True) -> tuple[np.ndarray, float, float]:
        """``(flow, sptt, unreachable)`` under link costs ``cost`` (s), as ``aon_load``
        (and the zone costs into ``zone_cost_s`` where ``keep_zone_costs``)."""
        keep_trees = self.keep_trees and self._trees_wanted()
        self.kept_trees = None  # the last loading's trees go before this one's are made
        zone_cost = zone_cost_buffer(
            self.keep_zone_costs or keep_trees, self.origins.size, self.dests.size
        )
        tree, count = tree_buffers(keep_trees, self.origins.size, self.n_core)
        if self.dense:
            out = aon_load_dense(
                *self.args, cost, self.no_through, self.origins, self.dests, self.demand,
                load, zone_cost, tree, count, MAX_SLOTS,
            )  # fmt: skip
        else:
            out = aon_load_compressed(
                *self.args, cost, self.no_through, self.origins, self.dests, self.demand,
                load, self.prune, zone_cost, tree, count,
            )  # fmt: skip
        if self.keep_zone_costs:
            self.zone_cost_s = zone_cost
        self.kept_trees = self._kept(cost, zone_cost, tree, count) if keep_trees else None
        return out

    def skim(self, cost: np.ndarray) -> np.ndarray:
        """Shortest-path costs ``(n_origins, n_destinations)`` under link costs ``cost``
        (per link, ``inf`` forbids one), searched on the core graph; ``inf`` where
        unreachable. Equal to a search of the full graph up to the order of summation;
        on a core eliminated further once the graph has been searched often
        (:data:`SWITCH_SEARCHES`)."""
        return self.skim_keeping(cost, keep_trees=False)[0]

    def skim_keeping(
        self, cost: np.ndarray, keep_trees: bool = True
    ) -> tuple[np.ndarray, KeptTrees | None]:
        """:meth:`skim`, and its search trees where ``keep_trees`` and the pass is large
        (:data:`KEEP_TREES_WORK`), else ``None``: a loading at the same costs then
        needs no search (:meth:`KeptTrees.start_flow`)."""
        if self.wants_larger() or self._larger is not None:
            return self.larger().skim_keeping(cost, keep_trees)
        # work: one search of the core per origin (its edges); the kernel's serial twin
        # when small (kernels.assignment.skim_compressed)
        work = self.origins.size * self.m_core
        keep = keep_trees and self._trees_wanted()
        cost = np.ascontiguousarray(cost, dtype=np.float64)
        tree, count = tree_buffers(keep, self.origins.size, self.n_core)
        out = skim_compressed(
            *self.args, cost, self.no_through, self.origins, self.dests,
            work >= PRUNE_SKIM_WORK, tree, count,
        )  # fmt: skip
        return out, (self._kept(cost, out, tree, count) if keep else None)

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, float]:
        """Link flows and the shortest-path total travel cost under ``cost``."""
        flow, sptt, _ = self.load(cost)
        return flow, sptt
