"""Capacity-constrained transit assignment (effective frequencies, Cepeda, Cominetti &
Florian 2006) and crowding (Wardman & Whelan 2011) against a published table, and
hand-solved cases.

Published: the worked example of Spiess & Florian (1989) (the network of their Fig. 1,
results of their section 5) is reproduced by the capacity model when capacity does not
bind (to 1e-9), and the same network with a full direct line is checked against the
root of the equilibrium conditions. No published table with binding capacities was at
hand: Cepeda et al.'s (2006) examples were not available to check against. The other
references are closed forms and one-dimensional root finds (scipy's ``brentq``) of the
model's equilibrium conditions:

* Two lines A (fast) and B (slow) from stop 1 to stop 2 with ``t_B - t_A`` less than the
  wait for A alone at nominal frequency is never reached: uncongested, everyone takes A.
  When A's effective frequency falls far enough, B becomes attractive at the margin and
  the equilibrium (Cepeda et al., conditions (9)-(10): flows on attractive lines at most
  their frequency share) holds A where ``alpha / f_A(v_A) = t_B - t_A``, i.e.
  ``v_A = K_A (1 - alpha / (mu_A (t_B - t_A))) ** (1 / beta)``.
* Two lines with equal running times (common lines): both always attractive, flows in
  proportion to effective frequencies, ``v_A / f_A(v_A) = v_B / f_B(v_B)``.

Tolerances: the runs stop at a relative gap (Cepeda et al.'s gap function over the
optimal strategies' total cost) of 1e-5 or 1e-6; the flows are then within 1e-3 or 1e-4
of the references (observed errors are in the comments).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from transitopt.transit import (
    GraphParameters,
    Line,
    Stop,
    TransitSupply,
    assign_transit,
    build_transit_graph,
)
from transitopt.transit.capacity import (
    CapacityParameters,
    assign_transit_capacity,
    crowding_multiplier,
    effective_frequency,
    resolve_step_rule,
)

ALPHA = 0.5  # the library's default wait factor: half the combined headway


def two_lines(
    headway_a=300.0, headway_b=600.0, t_a=600.0, t_b=900.0, cap_a=70.0, cap_b=70.0, mode="bus"
):
    stops = [Stop("s1", "s1", 0.0, 0.0), Stop("s2", "s2", 0.05, 0.0)]
    lines = [
        Line("A", "A", mode, ("s1", "s2"), headway_a, capacity=cap_a, running_times_s=(t_a,)),
        Line("B", "B", mode, ("s1", "s2"), headway_b, capacity=cap_b, running_times_s=(t_b,)),
    ]
    return build_transit_graph(TransitSupply.from_stops(stops, lines), zones="stops")


def boardings(result) -> dict[str, float]:
    table = result.line_table().set_index("line")
    return table["boardings"].to_dict()


def test_crowding_multiplier_hand_values():
    p = CapacityParameters()
    seats = np.full(6, 100.0)
    load = np.array([0.0, 50.0, 60.0, 80.0, 100.0, 200.0])
    got = crowding_multiplier(load, seats, p)
    # 0 and 50/60 % of seats: no crowding; 80 %: halfway from 1.0 (60 %) to 1.3 (100 %);
    # 100 %: 1.3; 200 riders on 100 seats: half sit at 1.5, half stand at 2.35
    expected = [1.0, 1.0, 1.0, 1.15, 1.3, (100 * 1.5 + 100 * 2.35) / 200]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # the mean multiplier over 60-100 % is Wardman & Whelan's (2011) average 1.15
    x = np.linspace(0.6, 1.0, 4001)
    assert crowding_multiplier(100 * x, seats[0], p).mean() == pytest.approx(1.15, abs=1e-4)


def test_effective_frequency_formula():
    f = np.full(4, 0.01)
    got = effective_frequency(
        f, np.array([0.0, 50.0, 100.0, 10.0]), np.array([100.0, 100.0, 100.0, -5.0]),
        beta=2.0, min_share=1e-3,
    )  # fmt: skip
    np.testing.assert_allclose(got, [0.01, 0.01 * 0.75, 0.01 * 1e-3, 0.01 * 1e-3], rtol=1e-12)


@pytest.mark.parametrize("step_rule", ["msa", "line_search"])
@pytest.mark.parametrize("beta", [2.0, 4.0, 8.0])
def test_marginal_line_equilibrium_closed_form(beta, step_rule):
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    free = assign_transit(graph, demand, skims=False)
    assert boardings_of(free, graph) == pytest.approx({"A": 800.0, "B": 0.0})
    params = CapacityParameters(
        beta=beta, crowding=False, tolerance=1e-5, max_iter=5000, step_rule=step_rule
    )
    result = assign_transit_capacity(graph, demand, params=params)
    k_a = 70.0 * 3600.0 / 300.0  # places on A in the hour
    v_a = k_a * (1.0 - ALPHA / ((1.0 / 300.0) * (900.0 - 600.0))) ** (1.0 / beta)
    got = boardings(result)
    # to a relative gap of 1e-5: within 0.1 % of the closed form (observed <= 6.4e-5 by
    # MSA, <= 1.2e-4 by the line search, for beta 2, 4, 8)
    assert got["A"] == pytest.approx(v_a, rel=1e-3)
    if step_rule == "line_search":  # observed 33, 13, 10 iterations (MSA: 107, 92, 124)
        assert len(result.history) <= 40
    assert got["A"] + got["B"] == pytest.approx(800.0, rel=1e-12)
    assert result.converged
    assert result.denied_boardings == 0.0
    # the history is a convergence log like the road assignment's
    assert list(result.history["iteration"]) == list(range(1, len(result.history) + 1))
    assert result.history["relative_gap"].iloc[-1] <= 1e-5
    assert (result.history["relative_gap"].iloc[:-1] > 1e-5).all()  # stops at the first
    assert result.history["relative_gap"].iloc[0] > 1e-2  # the unconstrained start is far
    # the gap function is never negative (Cepeda et al.: the optimal strategies' cost is a
    # lower bound of any flow's); rounding only
    assert (result.history["gap_s"] >= -1e-9 * 800 * 900).all()


def boardings_of(assignment, graph) -> dict[str, float]:
    table = assignment.line_table().set_index("line")
    return table["boardings"].to_dict()


def test_load_tends_to_capacity_as_beta_grows():
    graph = two_lines()
    # 1000 riders, 840 places on A, 420 on B: at every beta here B stays attractive at the
    # margin only, so v_A = 840 * 0.5 ** (1 / beta) (module docstring)
    demand = np.array([[0.0, 1000.0], [0.0, 0.0]])
    k_a = 840.0
    loads = []
    for beta in (4.0, 8.0, 16.0, 64.0):
        params = CapacityParameters(beta=beta, crowding=False, tolerance=1e-5, max_iter=5000)
        result = assign_transit_capacity(graph, demand, params=params)
        got = boardings(result)
        assert got["A"] == pytest.approx(k_a * 0.5 ** (1 / beta), rel=1e-3)
        assert got["B"] < 420.0  # never above B's places either
        loads.append(got["A"])
    assert all(b > a for a, b in zip(loads, loads[1:], strict=False))  # monotone in beta
    assert all(v < k_a for v in loads)  # never above A's places: B has room
    assert loads[-1] > 0.98 * k_a  # the strict-capacity limit


def test_common_lines_with_unequal_capacity():
    # equal running times: both lines attractive, flows proportional to f_a(v)
    graph = two_lines(headway_a=300.0, headway_b=300.0, t_a=600.0, t_b=600.0, cap_b=140.0)
    demand = np.array([[0.0, 1500.0], [0.0, 0.0]])
    beta = 2.0
    mu = 1.0 / 300.0
    k_a, k_b = 840.0, 1680.0

    def balance(v_a: float) -> float:
        v_b = 1500.0 - v_a
        return v_a / (mu * (1 - (v_a / k_a) ** beta)) - v_b / (mu * (1 - (v_b / k_b) ** beta))

    v_a = brentq(balance, 1.0, 839.0, xtol=1e-10)
    params = CapacityParameters(beta=beta, crowding=False, tolerance=1e-5, max_iter=5000)
    got = boardings(assign_transit_capacity(graph, demand, params=params))
    assert got["A"] == pytest.approx(v_a, rel=1e-3)
    # unconstrained: equal frequencies split equally, A would carry 750 of its 840 places
    assert v_a < 750.0


def test_crowding_moves_riders_to_the_slow_line():
    graph = two_lines(cap_a=100.0, cap_b=100.0)
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    beta = 4.0
    p = CapacityParameters(beta=beta, crowding=True, tolerance=1e-5, max_iter=5000)
    seats_a = 0.4 * 100.0 * 12  # bus seat_share x places per vehicle x vehicles per hour
    seats_b = 0.4 * 100.0 * 6
    k_a = 1200.0

    def excess(v_a: float) -> float:  # A's cost minus B's when B is attractive at the margin
        f_a = (1 / 300.0) * (1 - (v_a / k_a) ** beta)
        t_a = 600.0 * crowding_multiplier(np.array([v_a]), seats_a, p)[0]
        t_b = 900.0 * crowding_multiplier(np.array([800.0 - v_a]), seats_b, p)[0]
        return t_a + ALPHA / f_a - t_b

    v_a = brentq(excess, 1.0, 799.0, xtol=1e-10)
    got = boardings(assign_transit_capacity(graph, demand, params=p))
    assert got["A"] == pytest.approx(v_a, rel=1e-3)
    without = boardings(
        assign_transit_capacity(graph, demand, params=CapacityParameters(beta=beta, crowding=False))
    )
    assert got["A"] < without["A"]


def test_denied_boardings_when_demand_exceeds_the_only_line():
    stops = [Stop("s1", "s1", 0.0, 0.0), Stop("s2", "s2", 0.05, 0.0)]
    line = Line("A", "A", "bus", ("s1", "s2"), 300.0, capacity=70.0, running_times_s=(600.0,))
    graph = build_transit_graph(TransitSupply.from_stops(stops, [line]), zones="stops")
    demand = np.array([[0.0, 1000.0], [0.0, 0.0]])
    result = assign_transit_capacity(graph, demand)
    # captive riders still board (the model keeps the demand), 1000 - 840 are reported
    assert result.denied_boardings == pytest.approx(1000.0 - 840.0, rel=1e-9)
    table = result.line_table().set_index("line")
    assert table.loc["A", "denied"] == pytest.approx(160.0, rel=1e-9)
    assert table.loc["A", "peak_load_factor"] == pytest.approx(1000.0 / 840.0)
    # the effective frequency is at its floor (5 % of the nominal): a 20 times longer wait
    assert result.assignment.skim("wait_s")[0, 1] == pytest.approx(0.5 * 300.0 / 0.05, rel=1e-9)


def test_denied_boardings_downstream_of_a_full_vehicle():
    # line s1 -> s2 -> s3 full from s1: riders boarding at s2 find no room
    stops = [Stop(s, s, 0.01 * k, 0.0) for k, s in enumerate(("s1", "s2", "s3"))]
    line = Line(
        "A", "A", "bus", ("s1", "s2", "s3"), 300.0, capacity=70.0, running_times_s=(300.0, 300.0)
    )
    graph = build_transit_graph(TransitSupply.from_stops(stops, [line]), zones="stops")
    demand = np.zeros((3, 3))
    demand[0, 2] = 840.0  # fills A from s1 to s3
    demand[1, 2] = 100.0
    result = assign_transit_capacity(graph, demand)
    table = result.boarding_table().set_index("stop")
    assert table.loc["s2", "through"] == pytest.approx(840.0)
    assert table.loc["s2", "room"] == pytest.approx(0.0, abs=1e-9)
    assert table.loc["s2", "denied"] == pytest.approx(100.0)
    assert table.loc["s1", "denied"] == pytest.approx(0.0)


def test_ample_capacity_reproduces_the_unconstrained_assignment():
    graph = two_lines(cap_a=1e6, cap_b=1e6)
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    free = assign_transit(graph, demand)
    result = assign_transit_capacity(graph, demand, params=CapacityParameters(crowding=False))
    np.testing.assert_allclose(result.link_volume, free.link_volume, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.assignment.skims, free.skims, rtol=1e-6)
    # the unconstrained start is the equilibrium: a zero gap at the first iteration
    assert result.converged and len(result.history) == 1
    assert result.history["relative_gap"].iloc[0] == pytest.approx(0.0, abs=1e-12)


def test_not_converged_warns_and_bad_parameters_raise():
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    with pytest.warns(UserWarning, match="relative gap"):
        result = assign_transit_capacity(
            graph, demand, params=CapacityParameters(max_iter=3, tolerance=0.0)
        )
    assert not result.converged and len(result.history) == 3
    with pytest.raises(ValueError, match="beta"):
        CapacityParameters(beta=0.0)
    with pytest.raises(ValueError, match="period_h"):
        CapacityParameters(period_h=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assign_transit_capacity(graph, demand)  # default parameters converge quietly


def test_auto_step_rule_runs_the_sweeps_where_their_memory_fits():
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    # the sweeps keep 2 destinations x the graph's links float64 (a few hundred bytes)
    flows_mb = graph.destination_node.size * graph.n_links * 8 / 2**20
    assert CapacityParameters().step_rule == "auto"
    chosen = {}
    for budget_mb, expected in [(flows_mb, "sweeps"), (0.99 * flows_mb, "msa")]:
        params = CapacityParameters(sweeps_memory_mb=budget_mb, tolerance=1e-5, max_iter=5000)
        assert resolve_step_rule(params, graph).step_rule == expected
        result = assign_transit_capacity(graph, demand, params=params)
        assert result.assignment.info["method"] == f"effective frequencies ({expected})"
        chosen[expected] = result
    # the same equilibrium either way (both at relative gaps below 1e-5)
    for result in chosen.values():
        assert result.converged
    np.testing.assert_allclose(
        chosen["sweeps"].link_volume, chosen["msa"].link_volume, rtol=1e-2, atol=1.0
    )
    explicit = CapacityParameters(step_rule="stops", sweeps_memory_mb=1e9)
    assert resolve_step_rule(explicit, graph) is explicit
    with pytest.raises(ValueError, match="sweeps_memory_mb"):
        CapacityParameters(sweeps_memory_mb=0.0)


# --------------------------------------------------------------------------------------
# Spiess & Florian (1989), Fig. 1 (the published worked example of optimal strategies;
# network as in tests/test_spiess_florian.py): stops A, X, Y, B; line 1 A-B 25 min every
# 12 min, line 2 A-X-Y 7 + 6 min every 12 min, line 3 X-Y-B 4 + 4 min every 30 min,
# line 4 Y-B 10 min every 6 min; wait = half the combined headway.


def paper_graph(capacity_1: float = 1e6):
    stops = [Stop(s, s, 106.8 + 0.01 * k, -6.2) for k, s in enumerate("AXYB")]
    kw = {"dwell_s": 0.0}
    lines = [
        Line("1", "1", "bus", ("A", "B"), 720.0, capacity=capacity_1, running_times_s=(1500.0,), **kw),
        Line("2", "2", "bus", ("A", "X", "Y"), 720.0, capacity=1e6, running_times_s=(420.0, 360.0), **kw),
        Line("3", "3", "bus", ("X", "Y", "B"), 1800.0, capacity=1e6, running_times_s=(240.0, 240.0), **kw),
        Line("4", "4", "bus", ("Y", "B"), 360.0, capacity=1e6, running_times_s=(600.0,), **kw),
    ]  # fmt: skip
    supply = TransitSupply.from_stops(stops, lines)
    return build_transit_graph(supply, params=GraphParameters(max_transfer_walk_m=0.0))


def test_published_spiess_florian_table_when_capacity_does_not_bind():
    # the paper's results (Spiess & Florian 1989, section 5): 27.75 min expected A->B,
    # half the trips on line 1, half on line 2, of which 1/12 and 5/12 of all trips take
    # lines 3 and 4 at Y. Ample capacity: the capacity model must give the same table,
    # exactly (the unconstrained start is the equilibrium; relative gap 0 at iteration 1)
    demand = np.zeros((4, 4))
    demand[0, 3] = 100.0
    params = CapacityParameters(crowding=False, tolerance=1e-9)
    result = assign_transit_capacity(paper_graph(), demand, params=params)
    assert result.converged and len(result.history) == 1
    assert result.assignment.skim("total_s")[0, 3] / 60.0 == pytest.approx(27.75, abs=1e-9)
    np.testing.assert_allclose(
        list(boardings(result).values()), [50.0, 50.0, 100 / 12, 500 / 12], rtol=1e-9
    )
    assert result.denied_boardings == 0.0


@pytest.mark.parametrize("beta", [2.0, 4.0])
def test_spiess_florian_network_with_a_full_direct_line(beta):
    # line 1 offers 10 places per bus (50 in the hour) to 100 riders A->B. Lines 1 and 2
    # stay attractive at A whatever the loads (line 1 alone: 6 + 25 > 24.5 min via line 2,
    # line 2 alone: 6 + 24.5 > 25 min), so the equilibrium is common-line: flows in
    # proportion to effective frequencies, v1 / f1(v1) = v2 / f2 with f2 nominal (line 2
    # has room) and f1(v1) = mu (1 - (v1 / 50) ** beta); v2 splits 1/6 : 5/6 at Y.
    demand = np.zeros((4, 4))
    demand[0, 3] = 100.0
    mu = 1.0 / 720.0

    def balance(v1: float) -> float:
        return v1 / (mu * (1.0 - (v1 / 50.0) ** beta)) - (100.0 - v1) / mu

    v1 = brentq(balance, 1e-6, 50.0 - 1e-9, xtol=1e-12)
    params = CapacityParameters(
        beta=beta, crowding=False, tolerance=1e-6, max_iter=20000, step_rule="msa"
    )
    result = assign_transit_capacity(paper_graph(capacity_1=10.0), demand, params=params)
    got = boardings(result)
    # relative gap 1e-6: flows within 0.01 % of the root (observed 7e-6, in 165 iterations)
    assert got["1"] == pytest.approx(v1, rel=1e-4)
    assert got["2"] == pytest.approx(100.0 - v1, rel=1e-4)
    assert got["3"] == pytest.approx((100.0 - v1) / 6.0, rel=1e-4)
    assert got["4"] == pytest.approx(5.0 * (100.0 - v1) / 6.0, rel=1e-4)
    assert got["1"] < 50.0 and result.denied_boardings == 0.0  # within line 1's places
    assert (result.history["gap_s"] >= -1e-9 * 100 * 1665).all()  # never negative
    f1 = mu * (1.0 - (v1 / 50.0) ** beta)
    u_a = (0.5 + f1 * 1500.0 + mu * 1470.0) / (f1 + mu)  # 24.5 min via line 2 from A
    assert result.assignment.skim("total_s")[0, 3] == pytest.approx(u_a, rel=1e-4)
    assert u_a / 60.0 > 27.75  # a full line 1 makes the trip longer than the paper's


def _random_graph(seed: int, n: int = 25, m: int = 110):
    """A random graph with half its links boarding links (as in test_spiess_florian)."""
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep].astype(np.int64), head[keep].astype(np.int64)
    cost = rng.uniform(1.0, 100.0, tail.size)
    freq = np.where(rng.random(tail.size) < 0.5, np.inf, rng.uniform(0.002, 0.05, tail.size))
    in_links = np.argsort(head, kind="stable").astype(np.int64)
    in_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head, minlength=n), out=in_indptr[1:])
    return tail, head, cost, freq, in_indptr, in_links


@pytest.mark.parametrize("seed", range(6))
def test_capacity_response_kernel_against_plain_assignment(seed):
    # reference: kernels.assign (flows, arrivals, skims of the optimal strategies), one
    # destination at a time for the per-destination flows, and the wait term by loops
    from transitopt.kernels import transit as kernels

    n = 25
    tail, head, cost, freq, in_indptr, in_links = _random_graph(seed, n)
    rng = np.random.default_rng(50 + seed)
    origins = np.arange(0, 8, dtype=np.int64)
    destinations = np.arange(8, 14, dtype=np.int64)
    demand = np.where(rng.random((8, 6)) < 0.7, rng.uniform(1, 20, (8, 6)), 0.0)
    wait_links = np.flatnonzero(np.isfinite(freq))
    wait_index = np.full(tail.size, -1, dtype=np.int64)
    wait_index[wait_links] = np.arange(wait_links.size)
    averaged = rng.uniform(0, 5, (6, wait_links.size)) * (rng.random((6, wait_links.size)) < 0.3)
    response = np.full((6, wait_links.size), np.nan)
    alpha = 0.5
    volume, arrived, strategy_cost, averaged_wait = kernels.capacity_response(
        tail, head, cost, freq, in_indptr, in_links, alpha, origins, destinations, demand,
        wait_links, wait_index, averaged, response, np.zeros((0, 0), dtype=np.int32),
        np.zeros(6, dtype=np.int64),
    )  # fmt: skip
    no_skims = np.empty((tail.size, 0))
    ref_volume, skims, ref_arrived = kernels.assign(
        tail, head, cost, freq, in_indptr, in_links, no_skims, alpha, origins, destinations,
        demand, True,
    )  # fmt: skip
    np.testing.assert_allclose(volume, ref_volume, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arrived, ref_arrived, rtol=1e-12, atol=1e-12)
    total = np.where(np.isfinite(skims[:, :, 0]), skims[:, :, 0], 0.0)
    np.testing.assert_allclose(strategy_cost, (demand * total).sum(axis=0), rtol=1e-12)
    for q in range(6):
        one = np.zeros_like(demand)
        one[:, q] = demand[:, q]
        ref_q, _, _ = kernels.assign(
            tail, head, cost, freq, in_indptr, in_links, no_skims, alpha, origins,
            destinations, one, False,
        )  # fmt: skip
        np.testing.assert_allclose(response[q], ref_q[wait_links], rtol=1e-12, atol=1e-12)
        node_max = {}
        for p, a in enumerate(wait_links):
            node_max[tail[a]] = max(node_max.get(tail[a], 0.0), averaged[q, p] / freq[a])
        assert averaged_wait[q] == pytest.approx(alpha * sum(node_max.values()), rel=1e-12)


def test_history_splits_the_gap_into_waiting_and_riding():
    """First iteration of the two-line case, by hand: the unconstrained start puts all 800
    riders on A (840 places), whose effective frequency then is ``mu_A (1 - (800 /
    840) ** 4)``; B becomes attractive, so the optimal strategy's expected wait is
    ``alpha / (f_A + mu_B)`` per rider while the start's riders wait ``alpha / f_A``."""
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    params = CapacityParameters(
        beta=4.0, crowding=False, max_iter=1, tolerance=0.0, step_rule="msa"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = assign_transit_capacity(graph, demand, params=params).history.iloc[0]
    f_a = (1.0 / 300.0) * (1.0 - (800.0 / 840.0) ** 4)
    f_b = 1.0 / 600.0
    assert ALPHA / f_a + 600.0 > 900.0  # B is attractive at A's effective frequency
    wait_gap = 800.0 * ALPHA * (1.0 / f_a - 1.0 / (f_a + f_b))
    # the riding part: the response sends f_B / (f_A + f_B) of the riders 300 s slower
    ride_gap = -800.0 * f_b / (f_a + f_b) * 300.0
    assert first["wait_gap_s"] == pytest.approx(wait_gap, rel=1e-9)
    assert first["gap_s"] == pytest.approx(wait_gap + ride_gap, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_wait_totals_kernel_against_loops(seed):
    from transitopt.kernels import transit as kernels

    n = 25
    tail, _, _, freq, _, _ = _random_graph(seed, n)
    rng = np.random.default_rng(90 + seed)
    wait_links = np.flatnonzero(np.isfinite(freq))
    flows = rng.uniform(0, 5, (7, wait_links.size)) * (rng.random((7, wait_links.size)) < 0.4)
    got = kernels.wait_totals(tail, freq, wait_links, flows, n)
    for q in range(7):
        node_max: dict[int, float] = {}
        for p, a in enumerate(wait_links):
            node_max[tail[a]] = max(node_max.get(tail[a], 0.0), flows[q, p] / freq[a])
        assert got[q] == pytest.approx(sum(node_max.values()), rel=1e-12)


def test_line_search_step_makes_the_two_flows_equally_costly():
    """Iteration 1 of the two-line case by the line search: the unconstrained start puts
    all 800 riders on A; the response is the common-line strategy {A, B} at A's effective
    frequency ``f_A``. The step ``s`` moves ``s * 800 * f_B / (f_A + f_B)`` riders to B,
    and is the one at which, at A's effective frequency ``f_A(s)`` after the move, A
    alone (the start) and the response cost the same per rider, in excess of A's ride:
    ``alpha / f_A(s) = (alpha + f_B * 300) / (f_A + f_B)`` (the response's wait term is
    set by B, ``max(y_A / f_A(s), y_B / f_B) = y_B / f_B`` as ``f_A(s) > f_A``)."""
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    params = CapacityParameters(
        beta=4.0, crowding=False, max_iter=1, tolerance=0.0, step_rule="line_search"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign_transit_capacity(graph, demand, params=params)
    mu_a, f_b, k_a = 1.0 / 300.0, 1.0 / 600.0, 840.0
    f_a = mu_a * (1.0 - (800.0 / k_a) ** 4)
    moved = 800.0 * f_b / (f_a + f_b)  # riders the response puts on B

    def excess(step: float) -> float:
        v_a = 800.0 - step * moved
        f_step = mu_a * (1.0 - (v_a / k_a) ** 4)
        return (ALPHA + f_b * 300.0) / (f_a + f_b) - ALPHA / f_step

    step = brentq(excess, 1e-9, 1.0, xtol=1e-14)
    # the kernel bisects to 2 ** -12 (LINE_SEARCH_BISECTIONS)
    assert result.history["step"].iloc[0] == pytest.approx(step, abs=2.0**-12)
    assert boardings(result)["B"] == pytest.approx(step * moved, abs=2.0**-12 * moved)
