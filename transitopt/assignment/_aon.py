"""All-or-nothing loading on a compressed graph, built once per problem.

Two stages, both independent of the link costs:

1. :func:`.kernels.assignment.aon_graph`: dead-end trees dropped, degree-2 chains
   contracted into one edge each (centroids, origins and destinations kept);
2. :func:`eliminate`: nodes whose removal adds no edges are eliminated one after the
   other (cheapest first), each path ``i -> v -> o`` through an eliminated node ``v``
   becoming a derived edge ``i -> o`` (the cheaper one kept where ``i -> o`` exists).

Every iteration computes the derived edges' costs (sums and minima), searches the small
*core* graph that is left, and pushes the flows back down to the original links.
Distances and flows equal those of the full graph up to the order of summation; where
two paths are exactly equally short, the one taken may differ.
"""

from __future__ import annotations

import heapq

import numpy as np

from ..kernels.assignment import aon_graph, aon_load_compressed
from ._problem import Problem


def eliminate(
    n: int, tail: np.ndarray, head: np.ndarray, protect: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Eliminate the unprotected nodes of the graph ``tail -> head`` that add no edges.

    Returns ``(op_sum, op_a, op_b, core_of, core_indptr, core_head, core_tail,
    core_edge)``: derived edge ``m + k`` (``m = tail.size``) is ``op_a[k] + op_b[k]``
    where ``op_sum[k]``, else the cheaper of the two; ``core_of[v]`` is the core index
    of node ``v`` (-1: eliminated) and the core CSR's edge ``e`` is edge ``core_edge[e]``.
    """
    m = tail.size
    out: list[dict[int, int]] = [{} for _ in range(n)]
    inn: list[set[int]] = [set() for _ in range(n)]
    ops: list[tuple[bool, int, int]] = []

    def add(i: int, o: int, e: int) -> None:
        old = out[i].get(o)
        if old is None:
            out[i][o] = e
            inn[o].add(i)
        else:
            ops.append((False, old, e))
            out[i][o] = m + len(ops) - 1

    for e in range(m):
        a, b = int(tail[e]), int(head[e])
        if a != b:
            add(a, b, e)

    def gain(v: int) -> int:
        new = 0
        for i in inn[v]:
            oi = out[i]
            for o in out[v]:
                if o != i and o not in oi:
                    new += 1
        return new - len(inn[v]) - len(out[v])

    heap = [(gain(v), v) for v in range(n) if not protect[v]]
    heapq.heapify(heap)
    dead = np.zeros(n, dtype=bool)
    while heap:
        g, v = heapq.heappop(heap)
        if dead[v]:
            continue
        now = gain(v)
        if now != g:
            heapq.heappush(heap, (now, v))
            continue
        if g > 0:
            break
        dead[v] = True
        outs = list(out[v].items())
        for i in sorted(inn[v]):
            e_in = out[i].pop(v)
            for o, e_out in outs:
                if o != i:
                    ops.append((True, e_in, e_out))
                    add(i, o, m + len(ops) - 1)
        for o, _ in outs:
            inn[o].discard(v)
        touched = inn[v] | set(out[v])
        inn[v] = set()
        out[v] = {}
        for x in touched:
            if not protect[x] and not dead[x]:
                heapq.heappush(heap, (gain(x), x))
    core_of = np.full(n, -1, dtype=np.int64)
    alive = np.flatnonzero(~dead)
    core_of[alive] = np.arange(alive.size)
    indptr = np.zeros(alive.size + 1, dtype=np.int64)
    c_head: list[int] = []
    c_edge: list[int] = []
    for k, node in enumerate(alive.tolist()):
        for o, e in out[node].items():
            c_head.append(int(core_of[o]))
            c_edge.append(e)
        indptr[k + 1] = len(c_head)
    core_tail = np.repeat(np.arange(alive.size, dtype=np.int64), np.diff(indptr))
    op_arr = np.array(ops, dtype=np.int64).reshape(-1, 3)
    return (
        np.ascontiguousarray(op_arr[:, 0].astype(np.bool_)),
        np.ascontiguousarray(op_arr[:, 1]),
        np.ascontiguousarray(op_arr[:, 2]),
        core_of,
        indptr,
        np.array(c_head, dtype=np.int64),
        core_tail,
        np.array(c_edge, dtype=np.int64),
    )


class CompressedAON:
    """All-or-nothing loading on the compressed graph of a network (see the module doc).

    Parameters
    ----------
    indptr, head, usable, no_through
        The network's CSR graph, the links that may carry flow and the centroids.
    origin_nodes, dest_nodes, demand
        As for :func:`.kernels.assignment.aon_load`.
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
    ) -> None:
        protect = np.array(no_through, dtype=np.bool_)
        protect[origin_nodes] = True
        protect[dest_nodes] = True
        new_of, c_indptr, c_head, c_tail, c_link, sc_ptr, step_ptr, cand = aon_graph(
            indptr, head, usable, protect
        )
        kept = np.flatnonzero(new_of >= 0)
        node_of = np.empty(kept.size, dtype=np.int64)  # original node of each compressed one
        node_of[new_of[kept]] = kept
        op_sum, op_a, op_b, core_of, k_indptr, k_head, k_tail, k_edge = eliminate(
            kept.size, c_tail, c_head, protect[node_of]
        )
        alive = np.flatnonzero(core_of >= 0)
        self.n_core = int(alive.size)
        self.m_core = int(k_edge.size)
        self.args = (
            c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
            k_indptr, k_head, k_tail, k_edge,
        )  # fmt: skip
        self.no_through = np.ascontiguousarray(np.asarray(no_through)[node_of[alive]])
        self.origins = core_of[new_of[origin_nodes]]
        self.dests = core_of[new_of[dest_nodes]]
        self.demand = demand

    @classmethod
    def of_problem(cls, problem: Problem) -> CompressedAON:
        """The compressed loader of a car-equilibrium problem."""
        return cls(
            problem.indptr,
            problem.head,
            ~problem.closed,
            problem.no_through,
            problem.origin_nodes,
            problem.dest_nodes,
            problem.demand,
        )

    def load(self, cost: np.ndarray, load: bool = True) -> tuple[np.ndarray, float, float]:
        """``(flow, sptt, unreachable)`` under link costs ``cost`` (s), as ``aon_load``."""
        return aon_load_compressed(
            *self.args, cost, self.no_through, self.origins, self.dests, self.demand, load
        )

    def __call__(self, cost: np.ndarray) -> tuple[np.ndarray, float]:
        """Link flows and the shortest-path total travel cost under ``cost``."""
        flow, sptt, _ = self.load(cost)
        return flow, sptt
