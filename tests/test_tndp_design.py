"""Route design (UTRP) by simulated annealing.

References: published best-passenger ATT on Mandl (6 routes, 2-8 nodes) and Mumford0
(12 routes, 2-15 nodes) of Mumford (2013): 10.27 and 16.05 minutes (shared data README,
section 2); every solution is re-checked against the constraints and re-evaluated with
the independent evaluator. Budgets are evaluation counts so the tests are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest

from transitopt.optimise import (
    RouteDesignError,
    TNDPInstance,
    design_routes,
    evaluate_route_set,
    read_tndp_instance,
)


@pytest.fixture(scope="module")
def mandl(require_data):
    require_data("tndp/Mandl/Mandl1")
    return read_tndp_instance("Mandl")


def _check_feasible(inst, routes, n_routes, lo, hi):
    assert len(routes) == n_routes
    keys = set()
    for r in routes:
        assert lo <= len(r) <= hi
        assert len(set(r)) == len(r)  # simple path
        idx = inst.index_of(r)
        assert np.isfinite(inst.travel_time[idx[:-1], idx[1:]]).all()  # along links
        keys.add(min(tuple(r), tuple(reversed(r))))
    assert len(keys) == n_routes  # no duplicates
    assert {v for r in routes for v in r} == set(inst.node_id.tolist())  # covers all
    assert evaluate_route_set(inst, routes).d_nopath == 0.0  # connected: all demand served


def test_mandl_six_routes_beats_mumford_2013(mandl):
    res = design_routes(
        mandl, n_routes=6, min_nodes=2, max_nodes=8, budget_s=None, max_evaluations=3000, seed=7
    )
    _check_feasible(mandl, res.routes, 6, 2, 8)
    again = evaluate_route_set(mandl, res.routes)
    assert res.evaluation == again
    assert res.evaluation.att < 10.27  # Mumford (2013) best passenger, 6 routes
    assert res.n_evaluations == 3000
    assert res.stopped_by == "max_evaluations"
    assert res.history["objective"].is_monotonic_decreasing
    assert res.history["objective"].iloc[-1] == pytest.approx(res.evaluation.att, rel=1e-12)


def test_same_seed_same_result(mandl):
    kwargs = dict(n_routes=4, min_nodes=2, max_nodes=8, budget_s=None, max_evaluations=800)
    a = design_routes(mandl, seed=3, **kwargs)
    b = design_routes(mandl, seed=3, **kwargs)
    assert a.routes == b.routes
    assert a.history.drop(columns="seconds").equals(b.history.drop(columns="seconds"))


def test_mumford0_beats_mumford_2013(require_data):
    require_data("tndp/Mumford0")
    inst = read_tndp_instance("Mumford0")
    res = design_routes(
        inst, n_routes=12, min_nodes=2, max_nodes=15, budget_s=None, max_evaluations=1500, seed=1
    )
    _check_feasible(inst, res.routes, 12, 2, 15)
    assert res.evaluation.att < 16.05  # Mumford (2013) best passenger


def test_operator_and_pareto(mandl):
    op = design_routes(
        mandl,
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        objective="operator",
        budget_s=None,
        max_evaluations=3000,
        seed=0,
    )
    _check_feasible(mandl, op.routes, 6, 2, 8)
    # 63 min, the least TRT published for Mandl (Mumford 2013; John et al. 2014; Ahmed et al. 2019)
    # is the weight of the minimum spanning tree of the links, a lower bound for any covering set
    assert op.evaluation.trt <= 70
    pareto = design_routes(
        mandl,
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        objective="pareto",
        budget_s=None,
        max_evaluations=4000,
        seed=0,
        pareto_weights=4,
    )
    front = pareto.front
    assert len(front) >= 5
    assert front["trt"].is_monotonic_increasing
    assert front["att"].is_monotonic_decreasing  # non-dominated
    for routes in front["routes"].iloc[[0, -1]]:
        _check_feasible(mandl, routes, 6, 2, 8)
    assert pareto.evaluation.att == pytest.approx(front["att"].min())


def test_progress_and_interrupt_keep_best(mandl):
    calls = []

    def progress(info):
        calls.append(info)
        if len(calls) == 3:
            raise KeyboardInterrupt

    res = design_routes(
        mandl,
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        budget_s=None,
        max_evaluations=50_000,
        seed=0,
        progress=progress,
    )
    assert res.stopped_by == "interrupted"
    assert len(calls) == 3
    assert set(calls[0]) == {"evaluations", "seconds", "best", "att", "trt"}
    assert calls[-1]["best"] <= calls[0]["best"]
    _check_feasible(mandl, res.routes, 6, 2, 8)
    assert res.evaluation.att == pytest.approx(calls[-1]["att"])


def test_progress_returning_false_cancels_and_keeps_best(mandl):
    calls = []

    def progress(info):
        calls.append(info)
        return len(calls) < 2

    res = design_routes(
        mandl,
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        budget_s=None,
        max_evaluations=50_000,
        seed=0,
        progress=progress,
    )
    assert res.stopped_by == "cancelled"
    assert len(calls) == 2
    assert res.n_evaluations == calls[-1]["evaluations"] < 50_000
    _check_feasible(mandl, res.routes, 6, 2, 8)
    assert res.evaluation.att == pytest.approx(calls[-1]["att"])


def test_time_budget_stops_the_search(mandl):
    # an evaluation cap far beyond what 0.5 s allows: only the time budget can stop it
    res = design_routes(
        mandl, n_routes=6, min_nodes=2, max_nodes=8, budget_s=0.5, max_evaluations=10**9, seed=0
    )
    assert res.stopped_by == "budget_s"
    assert 0 < res.n_evaluations < 10**9


def test_evaluation_cap_stops_a_long_time_budget(mandl):
    res = design_routes(
        mandl, n_routes=6, min_nodes=2, max_nodes=8, budget_s=3600.0, max_evaluations=300, seed=0
    )
    assert res.stopped_by == "max_evaluations"
    assert res.n_evaluations == 300


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_routes=1, min_nodes=2, max_nodes=8), r"cannot cover the 15 nodes"),
        (dict(n_routes=4, min_nodes=16, max_nodes=20), r"min_nodes \(16\) exceeds the 15 nodes"),
        (dict(n_routes=4, min_nodes=6, max_nodes=5), r"max_nodes \(5\) is below min_nodes \(6\)"),
        (dict(n_routes=3, min_nodes=15, max_nodes=15), r"min_nodes=15: no simple path"),
        (dict(n_routes=0, min_nodes=2, max_nodes=8), r"n_routes must be >= 1"),
        (dict(n_routes=4, min_nodes=1, max_nodes=8), r"min_nodes must be >= 2"),
    ],
)
def test_unsatisfiable_constraints_name_the_constraint(mandl, kwargs, message):
    with pytest.raises(RouteDesignError, match=message):
        design_routes(mandl, budget_s=None, max_evaluations=10, **kwargs)


def test_initial_routes_are_checked(mandl):
    with pytest.raises(RouteDesignError, match="route 1 has 9 nodes"):
        design_routes(
            mandl,
            n_routes=2,
            min_nodes=2,
            max_nodes=8,
            budget_s=None,
            max_evaluations=10,
            initial_routes=[[1, 2, 3, 6, 8, 10, 11, 12, 4], [9, 15]],
        )


def test_any_matrix_network():
    """A 4x4 grid given as matrices; every solution serves all demand."""
    side = 4
    n = side * side
    tt = np.full((n, n), np.inf)
    for i in range(n):
        r, c = divmod(i, side)
        if c + 1 < side:
            tt[i, i + 1] = tt[i + 1, i] = 2.0
        if r + 1 < side:
            tt[i, i + side] = tt[i + side, i] = 3.0
    demand = np.ones((n, n))
    inst = TNDPInstance.from_matrices(tt, demand, name="grid")
    res = design_routes(
        inst, n_routes=4, min_nodes=4, max_nodes=7, budget_s=None, max_evaluations=500, seed=0
    )
    _check_feasible(inst, res.routes, 4, 4, 7)
