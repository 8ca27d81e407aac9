"""Route design (UTRP) by simulated annealing.

References: published best-passenger ATT on Mandl (6 routes, 2-8 nodes) and Mumford0
(12 routes, 2-15 nodes) of Mumford (2013): 10.27 and 16.05 minutes (shared data README,
section 2); every solution is re-checked against the constraints and re-evaluated with
the independent evaluator. Budgets are evaluation counts so the tests are deterministic.
The search's parts (limits, start, moves, scoring, budget) are tested on their own at the end.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from transitopt.optimise import (
    RouteDesignError,
    TNDPInstance,
    design_routes,
    evaluate_route_set,
    read_tndp_instance,
)
from transitopt.optimise.route_design.anneal import Budget
from transitopt.optimise.route_design.limits import RouteLimits
from transitopt.optimise.route_design.moves import RouteMoves
from transitopt.optimise.route_design.network import LinkNetwork
from transitopt.optimise.route_design.scoring import ParetoArchive, RouteSetScorer
from transitopt.optimise.route_design.start import StartBuilder


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


def _design_mandl6_reporting_to(mandl, progress):
    """6 routes of 2-8 nodes, an evaluation budget no test reaches, progress reported."""
    return design_routes(
        mandl,
        n_routes=6,
        min_nodes=2,
        max_nodes=8,
        budget_s=None,
        max_evaluations=50_000,
        seed=0,
        progress=progress,
    )


def test_progress_and_interrupt_keep_best(mandl):
    calls = []

    def progress(info):
        calls.append(info)
        if len(calls) == 3:
            raise KeyboardInterrupt

    res = _design_mandl6_reporting_to(mandl, progress)
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

    res = _design_mandl6_reporting_to(mandl, progress)
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


def grid_instance(side: int, across_min: float, down_min: float) -> TNDPInstance:
    """A side x side grid of links (minutes across and down), one trip between every pair."""
    n = side * side
    tt = np.full((n, n), np.inf)
    for i in range(n):
        r, c = divmod(i, side)
        if c + 1 < side:
            tt[i, i + 1] = tt[i + 1, i] = across_min
        if r + 1 < side:
            tt[i, i + side] = tt[i + side, i] = down_min
    return TNDPInstance.from_matrices(tt, np.ones((n, n)), name="grid")


def test_any_matrix_network():
    """A 4x4 grid given as matrices; every solution serves all demand."""
    inst = grid_instance(4, 2.0, 3.0)
    res = design_routes(
        inst, n_routes=4, min_nodes=4, max_nodes=7, budget_s=None, max_evaluations=500, seed=0
    )
    _check_feasible(inst, res.routes, 4, 4, 7)


# ---------------------------------------------------------------------- the search's parts
@pytest.fixture(scope="module")
def grid():
    """A 3x3 grid of 2-minute links."""
    return grid_instance(3, 2.0, 2.0)


def test_network_paths_follow_links(grid):
    net = LinkNetwork(grid)
    path = net.path(0, 8)
    assert path[0] == 0 and path[-1] == 8 and len(path) == 5
    assert all(b in net.linked[a] for a, b in zip(path[:-1], path[1:], strict=True))
    assert net.dist[0, 8] == 8.0


def test_limits_name_what_is_wrong(grid):
    net = LinkNetwork(grid)
    limits = RouteLimits(n_routes=2, min_nodes=2, max_nodes=5)
    covering = [[0, 1, 2, 5, 8], [3, 4, 5], [6, 7, 8]]
    assert RouteLimits(3, 2, 5).violation(net, covering) == ""
    assert limits.violation(net, covering) == "3 routes, expected n_routes=2"
    assert limits.violation(net, [[0, 1, 2, 5, 8, 7], [3, 4]]).startswith("route 1 has 6 nodes")
    assert limits.violation(net, [[0, 2], [3, 4]]) == "route 1: no link between consecutive nodes"
    assert limits.violation(net, [[0, 1, 0], [3, 4]]) == "route 1 visits a node twice"
    assert limits.violation(net, [[0, 1], [1, 0]]) == "route 2 duplicates another route"
    assert "do not cover every node" in limits.violation(net, [[0, 1], [3, 4]])


def test_start_and_moves_stay_within_the_limits(grid):
    net = LinkNetwork(grid)
    limits = RouteLimits(n_routes=3, min_nodes=3, max_nodes=4)
    rng = np.random.default_rng(0)
    start = StartBuilder(net, limits, rng).build()
    assert limits.violation(net, start) == ""
    moves = RouteMoves(net, limits, random.Random(0))
    for _ in range(200):
        new = moves.propose(start)
        if new is None:
            continue
        assert len(new) == 3
        assert all(limits.allows(r) for r in new)
        assert all(b in net.linked[a] for r in new for a, b in zip(r[:-1], r[1:], strict=True))


def test_scorer_counts_feasible_evaluations_only(grid):
    net = LinkNetwork(grid)
    scorer = RouteSetScorer(net, penalty_min=5.0)
    assert scorer.evaluate([[0, 1, 2], [3, 4, 5]]) is None  # row 6-8 uncovered
    assert scorer.evaluations == 0
    objective, att, trt = scorer.evaluate([[0, 1, 2, 5, 8], [3, 4, 5], [6, 7, 8]])
    assert scorer.evaluations == 1
    assert objective == att and trt == 16.0


def test_pareto_archive_keeps_only_non_dominated():
    archive = ParetoArchive()
    archive.add(10.0, 100.0, [[0, 1]])
    archive.add(11.0, 110.0, [[0, 2]])  # dominated: not kept
    archive.add(12.0, 90.0, [[1, 2]])
    archive.add(9.0, 90.0, [[2, 3]])  # dominates both
    table = archive.table(np.array([10, 11, 12, 13]))
    assert table[["att", "trt"]].values.tolist() == [[9.0, 90.0]]
    assert table["routes"].iloc[0] == [[12, 13]]


def test_budget_stop_reasons():
    assert Budget(None, 10).stop_reason(10, 1e9) == "max_evaluations"
    assert Budget(5.0, 10).stop_reason(3, 5.0) == "budget_s"
    assert Budget(5.0, None).stop_reason(10**9, 4.9) == ""
    assert Budget(5.0, 10).used(5, 4.0) == 0.5  # evaluations set the schedule when given
    assert Budget(0.0, None).spent and Budget(None, 0).spent and not Budget(1.0, 1).spent
