"""The parts of the route search on their own: limits, moves, scoring, budget."""

from __future__ import annotations

import random

import numpy as np
import pytest

from transitopt.optimise import TNDPInstance
from transitopt.optimise.route_design.anneal import Budget
from transitopt.optimise.route_design.limits import RouteLimits
from transitopt.optimise.route_design.moves import RouteMoves
from transitopt.optimise.route_design.network import LinkNetwork
from transitopt.optimise.route_design.scoring import ParetoArchive, RouteSetScorer
from transitopt.optimise.route_design.start import StartBuilder


@pytest.fixture(scope="module")
def grid() -> TNDPInstance:
    """A 3x3 grid, 2-minute links, one trip between every pair."""
    side = 3
    n = side * side
    tt = np.full((n, n), np.inf)
    for i in range(n):
        r, c = divmod(i, side)
        if c + 1 < side:
            tt[i, i + 1] = tt[i + 1, i] = 2.0
        if r + 1 < side:
            tt[i, i + side] = tt[i + side, i] = 2.0
    return TNDPInstance.from_matrices(tt, np.ones((n, n)), name="grid")


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
