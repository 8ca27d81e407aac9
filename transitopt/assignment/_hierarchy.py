"""All-or-nothing loading on a contraction hierarchy of the core graph, for dense demand.

:class:`~._aon.CompressedAON` searches its core graph once per origin with a Dijkstra
that stops once every destination with demand is settled. Where most origins have
demand to most destinations (a gravity matrix), it never stops early; then
:class:`HierarchyAON` contracts the core graph completely, once per problem
(:func:`.kernels.elimination.contract_all`), and each origin is a small upward search
plus one linear sweep over the nodes (:func:`.kernels.assignment.aon_load_hierarchy`).
Distances and flows equal those of the core graph up to the order of summation.

:func:`aon_loader` picks one of the two by the share of origin-destination pairs with
demand (:data:`DENSE_SHARE`) and the size of the problem (:data:`MIN_WORK`); where the
hierarchy would be too large (:data:`MAX_OPS`: street grids), :class:`DenseCoreAON`
searches a pruned core graph, eliminated further once the graph has been searched often
enough to pay for it (:data:`._aon.SWITCH_SEARCHES`).
"""

from __future__ import annotations

import numpy as np

from ..kernels.assignment import aon_load_hierarchy
from ..kernels.elimination import contract_all
from ._aon import CompressedAON, KeptTrees, _digest, zone_cost_buffer
from ._problem import Problem

#: the hierarchy is used where at least this share of the origin-destination pairs has
#: demand (and the problem is large, :data:`MIN_WORK`). AON CPU seconds per call (costs
#: near free flow; 2 cores shared with other work, so relative figures), core Dijkstra
#: with early exit / hierarchy: Sydney (gravity demand on 100 % of the pairs) 1.07 /
#: 0.49, Chicago-Sketch (62 %) 0.021 / 0.0094, Berlin-Center (6.6 %) 0.049 / 0.071
DENSE_SHARE = 0.25
#: ... and where origins x core edges is at least this: the hierarchy's kernels cost a
#: first run several seconds of compilation, which small problems never win back
MIN_WORK = 1e6
#: the contraction gives up (and the core graph's Dijkstra is used) once it has made this
#: many derived edges: Sydney's hierarchy makes 1.0 million (0.7 s), Berlin-Center's
#: 0.9 million; a street grid without chains (Grid100k) makes far more. It gives up
#: early where its count so far shows it will pass this (:func:`.kernels.elimination.
#: _hopeless`): the 30,000-node grid city after 250,000 derived edges, 0.4 CPU s instead
#: of 4.7 s for 4 million
MAX_OPS = 4_000_000
#: hierarchies kept in the process (least recently used dropped)
CACHED_HIERARCHIES = 4
_HIERARCHIES: dict[bytes, tuple | None] = {}


def _build(aon: CompressedAON) -> tuple | None:
    """``(kernel args, no_through by rank, rank_of)`` of the hierarchy of ``aon``'s core
    graph; None where the contraction gave up (:data:`MAX_OPS`)."""
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, _, k_head, k_tail, k_edge = aon.args
    n = aon.n_core
    no_through = np.ascontiguousarray(aon.no_through, dtype=np.bool_)
    (
        rank_of, h_sum, h_a, h_b, up_ptr, up_head, up_edge, down_ptr, down_tail, down_edge,
    ) = contract_all(n, k_tail, k_head, no_through, MAX_OPS)  # fmt: skip
    if rank_of.size != n:
        return None
    m_core = k_edge.size
    first = c_link.size + op_a.size  # derived numbering of the hierarchy's own operations

    def derived(x: np.ndarray) -> np.ndarray:
        """Core-graph edge numbering (``m_core + k``: the hierarchy's op ``k``) -> derived."""
        return np.where(x < m_core, k_edge[np.minimum(x, m_core - 1)], first + x - m_core)

    all_sum = np.concatenate([op_sum, h_sum])
    all_a = np.concatenate([op_a, derived(h_a)])
    all_b = np.concatenate([op_b, derived(h_b)])
    ch_edge = np.concatenate([derived(up_edge), derived(down_edge)])
    up_tail = np.repeat(np.arange(n, dtype=np.int64), np.diff(up_ptr))
    ch_tail = np.concatenate([up_tail, down_tail])
    no_through_ranked = np.empty(n, dtype=np.bool_)
    no_through_ranked[rank_of] = aon.no_through
    n_centroid_ranks = int(no_through_ranked.sum())
    args = (
        c_link, sc_ptr, step_ptr, cand, all_sum, all_a, all_b,
        n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, ch_tail, ch_edge,
    )  # fmt: skip
    return args, no_through_ranked, rank_of


def hierarchy_of(aon: CompressedAON) -> tuple | None:
    """The hierarchy of ``aon``'s core graph (see :func:`_build`), built once per graph."""
    key = _digest(*aon.args, aon.no_through, np.array([MAX_OPS]))
    if key in _HIERARCHIES:
        built = _HIERARCHIES.pop(key)
    else:
        built = _build(aon)
    _HIERARCHIES[key] = built  # most recently used last; None (gave up) is kept too
    while len(_HIERARCHIES) > CACHED_HIERARCHIES:
        _HIERARCHIES.pop(next(iter(_HIERARCHIES)))
    return built


class HierarchyAON:
    """:class:`~._aon.CompressedAON` with each origin's search on a contraction hierarchy
    of its core graph (see the module doc); the same ``load`` and call interface, and
    ``keep_zone_costs``/``zone_cost_s`` (every pair of an origin with demand is known)."""

    def __init__(self, aon: CompressedAON) -> None:
        built = hierarchy_of(aon)
        if built is None:
            raise ValueError("the core graph is too dense for a hierarchy (MAX_OPS)")
        self.args, self.no_through, rank_of = built
        self.origins = np.ascontiguousarray(rank_of[aon.origins])
        self.dests = np.ascontiguousarray(rank_of[aon.dests])
        self.demand = aon.demand
        self.n_edges = int(self.args[-1].size)
        self.keep_zone_costs = False
        self.zone_cost_s: np.ndarray | None = None
        #: trees are not kept on the hierarchy (its searches are not the core's):
        #: ``kept_trees`` stays ``None``
        self.keep_trees = False
        self.kept_trees: KeptTrees | None = None

    def load(self, cost: np.ndarray, load: bool = True) -> tuple[np.ndarray, float, float]:
        """``(flow, sptt, unreachable)`` under link costs ``cost`` (s), as ``aon_load``
        (and the zone costs into ``zone_cost_s`` where ``keep_zone_costs``)."""
        zone_cost = zone_cost_buffer(self.keep_zone_costs, self.origins.size, self.dests.size)
        out = aon_load_hierarchy(
            *self.args, cost, self.no_through, self.origins, self.dests, self.demand, load,
            zone_cost,
        )  # fmt: skip
        if self.keep_zone_costs:
            self.zone_cost_s = zone_cost
        return out

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, float]:
        """Link flows and the shortest-path total travel cost under ``cost``."""
        flow, sptt, _ = self.load(cost)
        return flow, sptt


class DenseCoreAON:
    """:class:`~._aon.CompressedAON` for dense demand where the hierarchy is too large:
    every search is a full one, on the core graph pruned each loading, with a bucket
    queue instead of the heap where it is exact (:func:`.kernels.assignment.aon_load_dense`;
    Grid100k: 1.9 instead of 3.9-4.1 ms per search, a loading 2.5 instead of 4.1 CPU
    s); on a core eliminated further (:meth:`~._aon.CompressedAON.larger`) once the graph has been
    searched from :data:`._aon.SWITCH_SEARCHES` origins in the process (a Grid100k
    loading with the heap: 7.2 instead of 9.1 CPU s; 6.3 s to build). The same ``load``
    and call interface (``keep_trees``/``kept_trees`` too); flows equal up to the order
    of summation."""

    def __init__(self, aon: CompressedAON) -> None:
        aon.prune = True
        aon.dense = True
        self.core = aon
        self.keep_zone_costs = False
        self.zone_cost_s: np.ndarray | None = None
        self.keep_trees = False
        self.kept_trees: KeptTrees | None = None

    def load(self, cost: np.ndarray, load: bool = True) -> tuple[np.ndarray, float, float]:
        """``(flow, sptt, unreachable)`` under link costs ``cost`` (s), as ``aon_load``
        (and the zone costs into ``zone_cost_s`` where ``keep_zone_costs``)."""
        if self.core.wants_larger():
            self.core = self.core.larger()
            self.core.dense = True
        self.core.keep_zone_costs = self.keep_zone_costs
        self.core.keep_trees = self.keep_trees
        out = self.core.load(cost, load)
        self.zone_cost_s = self.core.zone_cost_s
        self.kept_trees = self.core.kept_trees
        return out

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, float]:
        """Link flows and the shortest-path total travel cost under ``cost``."""
        flow, sptt, _ = self.load(cost)
        return flow, sptt


#: the all-or-nothing loaders :func:`aon_loader` picks from
AONLoader = CompressedAON | HierarchyAON | DenseCoreAON


def demand_share(demand: np.ndarray) -> float:
    """Share of the origin-destination pairs of ``demand`` with trips > 0."""
    return float(np.count_nonzero(demand > 0.0)) / max(1, demand.size)


def aon_loader(problem: Problem) -> AONLoader:
    """The all-or-nothing loader of a problem: on the hierarchy where its demand is
    dense (:data:`DENSE_SHARE`), the problem large (:data:`MIN_WORK`) and the hierarchy
    small enough (:data:`MAX_OPS`), else on the core graph with early exit (full
    searches on a pruned core, :class:`DenseCoreAON`, where the demand is dense)."""
    aon = CompressedAON.of_problem(problem)
    large = aon.origins.size * aon.m_core >= MIN_WORK
    if large and demand_share(problem.demand) >= DENSE_SHARE:
        if hierarchy_of(aon) is not None:
            return HierarchyAON(aon)
        return DenseCoreAON(aon)
    return aon
