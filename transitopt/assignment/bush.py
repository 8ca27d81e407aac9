"""Driver of the bush-based Algorithm B (kernels in :mod:`transitopt.kernels.assignment_bush`).

Each iteration is one sweep that updates and equilibrates every origin's bush, then
``inner_sweeps`` sweeps that only shift flow within the fixed bushes (cheap: no link
scan), then one shortest-path search per origin to measure the relative gap.
"""

from __future__ import annotations

import numpy as np

from ..kernels.assignment import aon_load
from ..kernels.assignment_bush import init_bushes, sum_bush_flows, sweep
from ..kernels.vdf import costs_into, derivatives_into
from ._monitor import Monitor
from ._problem import Problem

#: sweeps per iteration that only shift flow (no bush change)
INNER_SWEEPS = 2
#: relative cost difference below which two bush paths count as equal
SHIFT_REL_TOL = 1e-15


def solve_algorithm_b(problem: Problem, monitor: Monitor, *, inner_sweeps: int | None = None) -> np.ndarray:
    """Run Algorithm B until ``monitor`` stops it; returns the car flows (veh/h)."""
    p = problem
    inner_sweeps = INNER_SWEEPS if inner_sweeps is None else inner_sweeps
    args = p.vdf_args
    m = p.head.size
    n = p.indptr.size - 1
    n_orig = p.origin_nodes.size
    in_bush = np.zeros((n_orig, m), dtype=np.bool_)
    bush_flow = np.zeros((n_orig, m))
    order = np.empty((n_orig, n), dtype=np.int64)
    counts = np.empty(n_orig, dtype=np.int64)
    flow = np.zeros(m)
    cost = np.empty(m)
    deriv = np.empty(m)
    costs_into(flow, *args, cost)
    init_bushes(p.indptr, p.head, p.tail, cost, p.no_through, p.origin_nodes, p.dest_nodes, p.demand,
                in_bush, bush_flow, order, counts)
    origin_demand = p.demand.sum(axis=1)
    k = 0
    while True:
        sum_bush_flows(bush_flow, flow)
        costs_into(flow, *args, cost)
        _, sptt, _ = aon_load(p.indptr, p.head, p.tail, cost, p.no_through, p.origin_nodes, p.dest_nodes,
                              p.demand, False)
        if monitor.record(k, flow, cost, sptt, direction="bush"):
            return flow
        k += 1
        derivatives_into(flow, *args, deriv)
        sweep(p.indptr, p.head, p.tail, p.no_through, p.origin_nodes, origin_demand, in_bush, bush_flow, order, counts, flow,
              cost, deriv, *args, True, 1, SHIFT_REL_TOL)
        for _ in range(inner_sweeps):
            sweep(p.indptr, p.head, p.tail, p.no_through, p.origin_nodes, origin_demand, in_bush, bush_flow, order, counts, flow,
                  cost, deriv, *args, False, 1, SHIFT_REL_TOL)
