"""Driver of the bush-based Algorithm B (kernels in :mod:`transitopt.kernels.assignment_bush`).

Each iteration runs one shortest-path search per origin (parallel), which gives the
relative gap of the current flows and grows the bushes, then ``inner_sweeps``
round-robin equilibration sweeps over all bushes (one pass per bush and sweep
converges faster than several passes on one bush in a row).
"""

from __future__ import annotations

import numpy as np

from ..kernels.assignment_bush import gap_and_grow, init_bushes, sum_bush_flows, sweep
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


def solve_algorithm_b(
    problem: Problem, monitor: Monitor, *, inner_sweeps: int | None = None
) -> np.ndarray:
    """Run Algorithm B until ``monitor`` stops it; returns the car flows (veh/h)."""
    p = problem
    inner_sweeps = INNER_SWEEPS if inner_sweeps is None else inner_sweeps
    args = p.vdf_args
    m = p.head.size
    n = p.indptr.size - 1
    n_orig = p.origin_nodes.size
    rev_indptr, rev_edge = _reverse(p)
    in_bush = np.zeros((n_orig, m), dtype=np.bool_)
    bush_flow = np.zeros((n_orig, m))
    sub_order = np.empty((n_orig, n), dtype=np.int32)
    sub_counts = np.zeros(n_orig, dtype=np.int64)
    origin_demand = p.demand.sum(axis=1)
    every = np.arange(n_orig, dtype=np.int64)
    worst = np.zeros(n_orig)
    flow = np.zeros(m)
    cost = np.empty(m)
    deriv = np.empty(m)
    costs_into(flow, *args, cost)
    # argument groups shared by the bush kernels
    graph = (p.indptr, p.head, p.tail)
    od = (p.origin_nodes, p.dest_nodes, p.demand)
    bushes = (in_bush, bush_flow, sub_order, sub_counts)
    init_bushes(*graph, cost, p.no_through, *od, *bushes)
    # ``sweep`` shifts flow within bushes and updates flow, cost and deriv in place
    sweep_state = (*graph, p.origin_nodes, origin_demand, *bushes, flow, cost, deriv)
    k = 0
    previous_gap = np.inf
    while True:
        sum_bush_flows(bush_flow, flow)
        costs_into(flow, *args, cost)
        sptt, _ = gap_and_grow(
            *graph, rev_indptr, rev_edge, cost, p.no_through, *od, *bushes, True, SHIFT_REL_TOL
        )
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
        for _ in range(
            max(inner_sweeps, 1)
        ):  # round robin: one pass per bush and sweep converges best
            sweep(*sweep_state, *args, every, SHIFT_REL_TOL, worst)
        # bushes far from equilibrium get extra passes of their own (cheap: a few bushes)
        focus = (
            np.flatnonzero(worst >= FOCUS_SHARE * worst.max()) if worst.max() > 0.0 else every[:0]
        )
        if 0 < focus.size <= max(1, n_orig // 20):
            for _ in range(FOCUS_PASSES * inner_sweeps):
                sweep(*sweep_state, *args, focus, SHIFT_REL_TOL, worst)


def _reverse(p: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Reverse CSR ``(rev_indptr, rev_edge)``: in-links of ``v`` are ``rev_edge[rev_indptr[v]:rev_indptr[v+1]]``."""
    n = p.indptr.size - 1
    rev_edge = np.argsort(p.head, kind="stable").astype(np.int64)
    rev_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(p.head, minlength=n), out=rev_indptr[1:])
    return rev_indptr, rev_edge
