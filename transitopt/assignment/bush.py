"""Driver of the bush-based Algorithm B (kernels in :mod:`transitopt.kernels.assignment_bush`).

Each iteration runs one shortest-path search per origin (parallel), which gives the
relative gap of the current flows and grows the bushes, then ``inner_sweeps``
round-robin equilibration sweeps over all bushes (one pass per bush and sweep
converges faster than several passes on one bush in a row).

Bushes live in one sparse pool with a region per origin (see the kernels' module);
memory grows with the bushes' sizes, not with origins × links. A region is made larger
(``REGION_SLACK``) than its bush, so that a bush rarely outgrows it; when one does, the
pool is copied into a new one with a larger region for it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernels.assignment_bush import (
    gap_and_grow,
    init_bushes,
    repack_bushes,
    sum_bush_flows,
    sweep,
)
from ..kernels.vdf import costs_into, derivatives_into
from ._monitor import Monitor
from ._problem import Problem

#: equilibration sweeps per iteration (after each bush update) ...
INNER_SWEEPS = 8
#: ... doubled, up to this many, while an iteration fails to halve the gap (a slow tail
#: where bushes of neighbouring origins undo each other's shifts: more sweeps between the
#: costlier shortest-path searches pay off)
MAX_INNER_SWEEPS = 64
#: bushes whose largest path cost difference is at least this share of the worst bush's ...
FOCUS_SHARE = 0.1
#: ... get this many extra passes per regular sweep, when they are few (<= 5 % of bushes)
FOCUS_PASSES = 4
#: relative cost difference below which two bush paths count as equal
SHIFT_REL_TOL = 1e-15
#: a bush's region in the pool holds this share more nodes and links than the bush ...
REGION_SLACK = 0.5
#: ... and at least this many more
REGION_MIN_SLACK = 16
#: scratch memory (bytes) for building the first bushes: origins are done in batches of
#: as many as fit (each needs a dense row per node and per link) ...
INIT_SCRATCH_BYTES = 4 * 2**20
#: ... but at least this many (to keep the threads busy)
INIT_MIN_BATCH = 32


class Bushes(NamedTuple):
    """The pool of bushes, in the order of the kernels' arguments (see the kernels' module)."""

    node_start: np.ndarray
    node_cap: np.ndarray
    node_count: np.ndarray
    nodes: np.ndarray
    lend: np.ndarray
    link_start: np.ndarray
    link_cap: np.ndarray
    link_count: np.ndarray
    links: np.ndarray
    flows: np.ndarray


def solve_algorithm_b(
    problem: Problem, monitor: Monitor, *, inner_sweeps: int | None = None
) -> np.ndarray:
    """Run Algorithm B until ``monitor`` stops it; returns the car flows (veh/h)."""
    p = problem
    inner_sweeps = INNER_SWEEPS if inner_sweeps is None else inner_sweeps
    args = p.vdf_args
    m = p.head.size
    n_orig = p.origin_nodes.size
    rev_indptr, rev_edge = _reverse(p)
    origin_demand = p.demand.sum(axis=1)
    every = np.arange(n_orig, dtype=np.int64)
    worst = np.zeros(n_orig)
    need = np.zeros((n_orig, 2), dtype=np.int64)
    flow = np.zeros(m)
    cost = np.empty(m)
    deriv = np.empty(m)
    costs_into(flow, *args, cost)
    # argument groups shared by the bush kernels
    graph = (p.indptr, p.head, p.tail)
    od = (p.origin_nodes, p.dest_nodes, p.demand)
    bushes = _first_bushes(p, cost)
    k = 0
    previous_gap = np.inf
    while True:
        sum_bush_flows(bushes.link_start, bushes.link_count, bushes.links, bushes.flows, flow)
        costs_into(flow, *args, cost)
        search = (*graph, rev_indptr, rev_edge, cost, p.no_through, *od)
        sptt, _ = gap_and_grow(*search, *bushes, every, True, SHIFT_REL_TOL, need)
        over = np.flatnonzero(need[:, 0])
        while over.size:  # bushes that outgrew their regions: enlarge them, grow them again
            bushes = _enlarge(bushes, over, need, p.indptr.size - 1, m)
            gap_and_grow(*search, *bushes, over, True, SHIFT_REL_TOL, need)
            over = over[need[over, 0] > 0]
        if monitor.record(k, flow, cost, sptt, direction="bush"):
            return flow
        gap = monitor.rows[-1]["relative_gap"]
        if gap > 0.5 * previous_gap:
            inner_sweeps = min(2 * inner_sweeps, MAX_INNER_SWEEPS)
        elif gap < 0.05 * previous_gap:
            inner_sweeps = max(inner_sweeps // 2, INNER_SWEEPS)
        previous_gap = gap
        k += 1
        derivatives_into(flow, *args, deriv)
        # ``sweep`` shifts flow within bushes and updates flow, cost and deriv in place
        sweep_state = (*graph, p.origin_nodes, origin_demand, *bushes, flow, cost, deriv, *args)
        for _ in range(
            max(inner_sweeps, 1)
        ):  # round robin: one pass per bush and sweep converges best
            sweep(*sweep_state, every, SHIFT_REL_TOL, worst)
        # bushes far from equilibrium get extra passes of their own (cheap: a few bushes)
        focus = (
            np.flatnonzero(worst >= FOCUS_SHARE * worst.max()) if worst.max() > 0.0 else every[:0]
        )
        if 0 < focus.size <= max(1, n_orig // 20):
            for _ in range(FOCUS_PASSES * inner_sweeps):
                sweep(*sweep_state, focus, SHIFT_REL_TOL, worst)


def _region(size: np.ndarray, limit: int) -> np.ndarray:
    """Region sizes (int64) for bushes of ``size`` nodes or links, at most ``limit``."""
    size = size.astype(np.int64)
    return np.minimum(size + (size * REGION_SLACK).astype(np.int64) + REGION_MIN_SLACK, limit)


def _first_bushes(p: Problem, cost: np.ndarray) -> Bushes:
    """The pool of the first bushes (shortest paths under ``cost``), built in batches of origins."""
    n = p.indptr.size - 1
    m = p.head.size
    n_orig = p.origin_nodes.size
    rows = int(max(1, min(n_orig, max(INIT_MIN_BATCH, INIT_SCRATCH_BYTES // (8 * n + 12 * m)))))
    out_nodes = np.empty((rows, n), dtype=np.int32)
    out_lend = np.empty((rows, n), dtype=np.int32)
    out_links = np.empty((rows, m), dtype=np.int32)
    out_flows = np.empty((rows, m))
    sizes = np.empty((rows, 2), dtype=np.int64)
    node_count = np.zeros(n_orig, dtype=np.int64)
    link_count = np.zeros(n_orig, dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    for start in range(0, n_orig, rows):
        stop = min(start + rows, n_orig)
        init_bushes(
            p.indptr, p.head, p.tail, cost, p.no_through, p.origin_nodes, p.dest_nodes, p.demand,
            start, stop, out_nodes, out_lend, out_links, out_flows, sizes,
        )  # fmt: skip
        for i in range(stop - start):
            c, n_links = sizes[i]
            node_count[start + i] = c
            link_count[start + i] = n_links
            parts.append(
                (
                    out_nodes[i, :c].copy(),
                    out_lend[i, :c].copy(),
                    out_links[i, :n_links].copy(),
                    out_flows[i, :n_links].copy(),
                )
            )
    del out_nodes, out_lend, out_links, out_flows
    node_cap = _region(node_count, n)
    link_cap = _region(link_count, m)
    node_start = np.concatenate(([0], np.cumsum(node_cap)[:-1])).astype(np.int64)
    link_start = np.concatenate(([0], np.cumsum(link_cap)[:-1])).astype(np.int64)
    nodes = np.empty(int(node_cap.sum()), dtype=np.int32)
    lend = np.empty(nodes.size, dtype=np.int32)
    links = np.empty(int(link_cap.sum()), dtype=np.int32)
    flows = np.empty(links.size)
    for r, (part_nodes, part_lend, part_links, part_flows) in enumerate(parts):
        s, ls = node_start[r], link_start[r]
        nodes[s : s + part_nodes.size] = part_nodes
        lend[s : s + part_nodes.size] = part_lend
        links[ls : ls + part_links.size] = part_links
        flows[ls : ls + part_links.size] = part_flows
    return Bushes(
        node_start, node_cap, node_count, nodes, lend, link_start, link_cap, link_count, links,
        flows,
    )  # fmt: skip


def _enlarge(bushes: Bushes, over: np.ndarray, need: np.ndarray, n: int, m: int) -> Bushes:
    """The pool copied into a new one whose regions for origins ``over`` fit ``need`` (nodes, links)."""
    b = bushes
    # regions of bushes that shrank shrink too (the copy costs the same)
    node_cap = np.minimum(b.node_cap, _region(b.node_count, n))
    link_cap = np.minimum(b.link_cap, _region(b.link_count, m))
    # room for the grown bush and, until it is written, the stored one (it may be larger
    # in links while smaller in nodes, or the other way round)
    node_cap[over] = _region(np.maximum(need[over, 0], b.node_count[over]), n)
    link_cap[over] = _region(np.maximum(need[over, 1], b.link_count[over]), m)
    node_start, nodes, lend, link_start, links, flows = repack_bushes(
        b.node_start, b.node_count, b.nodes, b.lend, b.link_start, b.link_count, b.links, b.flows,
        node_cap, link_cap,
    )  # fmt: skip
    return Bushes(
        node_start, node_cap, b.node_count, nodes, lend, link_start, link_cap, b.link_count, links,
        flows,
    )  # fmt: skip


def _reverse(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Reverse CSR ``(rev_indptr, rev_edge)``: in-links of ``v`` are ``rev_edge[rev_indptr[v]:rev_indptr[v+1]]``."""
    n = p.indptr.size - 1
    rev_edge = np.argsort(p.head, kind="stable").astype(np.int64)
    rev_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.head, minlength=n), out=rev_indptr[1:])
    return rev_indptr, rev_edge
