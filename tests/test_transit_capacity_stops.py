"""Node shifts for the capacity-constrained transit assignment (``step_rule = "stops"``,
:mod:`transitopt.transit.capacity_stops`): the hand-solved cases of
``test_transit_capacity.py`` (closed forms and ``brentq`` roots of the equilibrium
conditions of Cepeda, Cominetti & Florian 2006) and the ``node_shift`` kernel against
independent formulas.

Tolerances: runs stop at a relative gap of 1e-6 (1e-5 for the marginal line); the flows
are then within 1e-4 of the references (observed errors in the comments). Kernel checks
are to rounding (1e-12 relative) or to the hand-computed value (1e-9).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from test_transit_capacity import ALPHA, _random_graph, boardings, paper_graph, two_lines

from transitopt.kernels import transit as kernels
from transitopt.transit.capacity import CapacityParameters, assign_transit_capacity


def stops_params(**kw) -> CapacityParameters:
    return CapacityParameters(crowding=False, step_rule="stops", **kw)


def test_marginal_line_closed_form_by_node_shifts():
    # as test_marginal_line_equilibrium_closed_form: v_A = K_A (1 - alpha / (mu_A (t_B -
    # t_A))) ** (1 / beta)
    beta = 4.0
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    result = assign_transit_capacity(
        graph, demand, params=stops_params(beta=beta, tolerance=1e-5, max_iter=200)
    )
    v_a = 840.0 * (1.0 - ALPHA / ((1.0 / 300.0) * 300.0)) ** (1.0 / beta)
    got = boardings(result)
    assert result.converged
    assert got["A"] == pytest.approx(v_a, rel=1e-4)
    assert got["A"] + got["B"] == pytest.approx(800.0, rel=1e-12)


def test_common_lines_by_node_shifts():
    # as test_common_lines_with_unequal_capacity: v_A / f_A(v_A) = v_B / f_B(v_B)
    graph = two_lines(headway_a=300.0, headway_b=300.0, t_a=600.0, t_b=600.0, cap_b=140.0)
    demand = np.array([[0.0, 1500.0], [0.0, 0.0]])
    beta, mu, k_a, k_b = 2.0, 1.0 / 300.0, 840.0, 1680.0

    def balance(v_a: float) -> float:
        v_b = 1500.0 - v_a
        return v_a / (mu * (1 - (v_a / k_a) ** beta)) - v_b / (mu * (1 - (v_b / k_b) ** beta))

    v_a = brentq(balance, 1.0, 839.0, xtol=1e-10)
    result = assign_transit_capacity(
        graph, demand, params=stops_params(beta=beta, tolerance=1e-6, max_iter=200)
    )
    assert result.converged
    assert boardings(result)["A"] == pytest.approx(v_a, rel=1e-4)


@pytest.mark.parametrize("beta", [2.0, 4.0])
def test_spiess_florian_full_direct_line_by_node_shifts(beta):
    # as test_spiess_florian_network_with_a_full_direct_line: v1 / f1(v1) = v2 / f2
    demand = np.zeros((4, 4))
    demand[0, 3] = 100.0
    mu = 1.0 / 720.0

    def balance(v1: float) -> float:
        return v1 / (mu * (1.0 - (v1 / 50.0) ** beta)) - (100.0 - v1) / mu

    v1 = brentq(balance, 1e-6, 50.0 - 1e-9, xtol=1e-12)
    result = assign_transit_capacity(
        paper_graph(capacity_1=10.0),
        demand,
        params=stops_params(beta=beta, tolerance=1e-6, max_iter=200),
    )
    got = boardings(result)
    assert result.converged
    assert got["1"] == pytest.approx(v1, rel=1e-4)
    assert got["4"] == pytest.approx(5.0 * (100.0 - v1) / 6.0, rel=1e-4)
    assert (result.history["gap_s"] >= -1e-9 * 100 * 1665).all()


def _out_csr(tail, n):
    out_links = np.argsort(tail, kind="stable").astype(np.int64)
    out_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=out_indptr[1:])
    return out_indptr, out_links


def _optimal_flows(tail, head, cost, freq, in_indptr, in_links, origins, destinations, demand):
    """Each destination's optimal-strategy flows on every link (capacity_response with
    every link as a waiting link) and the total volume."""
    m = tail.size
    every = np.arange(m, dtype=np.int64)
    flows = np.zeros((destinations.size, m))
    volume, _, _, _ = kernels.capacity_response(
        tail, head, cost, freq, in_indptr, in_links, ALPHA, origins, destinations, demand,
        every, every, np.zeros_like(flows), flows, np.zeros((0, 0), dtype=np.int32),
        np.zeros(destinations.size, dtype=np.int64),
    )  # fmt: skip
    return flows, volume


@pytest.mark.parametrize("seed", range(6))
def test_node_shift_keeps_an_optimal_strategy_and_conserves_flow(seed):
    tail, head, cost, freq, in_indptr, in_links = _random_graph(seed)
    n = in_indptr.size - 1
    rng = np.random.default_rng(100 + seed)
    origins = np.arange(0, 6, dtype=np.int64)
    destinations = np.arange(6, 12, dtype=np.int64)
    demand = rng.uniform(0.0, 10.0, (6, 6))
    flows, volume = _optimal_flows(
        tail, head, cost, freq, in_indptr, in_links, origins, destinations, demand
    )
    out_indptr, out_links = _out_csr(tail, n)
    # an optimal strategy is its own best local choice at every node: no local gap, and
    # a shift at any gain leaves it as it is
    shifted = flows.copy()
    new_volume, reloaded, local_gap = kernels.node_shift(
        head, cost, freq, out_indptr, out_links, origins, destinations, demand, shifted,
        ALPHA, 1.0,
    )  # fmt: skip
    assert reloaded.all()
    scale = max(1.0, float(np.abs(flows).max()))
    np.testing.assert_allclose(shifted, flows, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(new_volume, volume, rtol=1e-9, atol=1e-9 * scale)
    # local gap 0 up to rounding of the labels (s x trips)
    assert np.abs(local_gap).max() <= 1e-9 * scale * float(cost.sum())
    # a mixture of two strategies of each destination (at two sets of frequencies) is a
    # feasible flow; a shift by a large gain keeps it so (every origin's demand leaves it,
    # and what enters each other node leaves it), and gain-free reloading changes nothing
    other, _ = _optimal_flows(
        tail, head, cost, freq * rng.uniform(0.2, 1.0, freq.size), in_indptr, in_links,
        origins, destinations, demand,
    )  # fmt: skip
    mixed = 0.3 * flows + 0.7 * other

    def net_outflow(x: np.ndarray) -> np.ndarray:
        return np.bincount(tail, weights=x, minlength=n) - np.bincount(head, weights=x, minlength=n)

    same = mixed.copy()
    kernels.node_shift(
        head, cost, freq, out_indptr, out_links, origins, destinations, demand, same, ALPHA,
        0.0,
    )  # fmt: skip
    np.testing.assert_allclose(same, mixed, rtol=1e-9, atol=1e-9 * scale)
    shifted = mixed.copy()
    _, reloaded, _ = kernels.node_shift(
        head, cost, freq, out_indptr, out_links, origins, destinations, demand, shifted, ALPHA,
        5.0,
    )  # fmt: skip
    assert reloaded.all() and (shifted >= 0.0).all()
    assert np.abs(shifted - mixed).max() > 1e-3  # the shifts moved something
    for q in range(destinations.size):
        # each node's net outflow (its demand; minus the arrivals at the destination) stays
        np.testing.assert_allclose(
            net_outflow(shifted[q]), net_outflow(mixed[q]), atol=1e-9 * scale
        )
        # and no flow uses a link the destination's flows did not use
        assert not (shifted[q][mixed[q] == 0.0] > 0.0).any()


def test_node_shift_at_a_stop_hand_values():
    # one stop (node 0) with two lines to the destination (node 3) through nodes 1 and 2,
    # equal riding costs c = 600 s, frequencies 1/300 and 1/600 per s, and 100 riders
    # split 50/50 (not in proportion to the frequencies). Under that split the expected
    # cost is U = c + alpha max_a x_a / f_a / 100 = 600 + 0.5 * 30000 / 100 = 750 s; the
    # best local choice is both lines in proportion to their frequencies, c + alpha / F
    # = 600 + 0.5 * 200 = 700 s. Local gap: 100 * (750 - 700) = 5000 s; with gain 1 a
    # share 50 / 700 of the riders moves to the 2/3 : 1/3 split.
    tail = np.array([0, 0, 1, 2], dtype=np.int64)
    head = np.array([1, 2, 3, 3], dtype=np.int64)
    cost = np.array([0.0, 0.0, 600.0, 600.0])
    freq = np.array([1 / 300, 1 / 600, np.inf, np.inf])
    out_indptr, out_links = _out_csr(tail, 4)
    flows = np.array([[50.0, 50.0, 50.0, 50.0]])
    demand = np.array([[100.0]])
    volume, reloaded, local_gap = kernels.node_shift(
        head, cost, freq, out_indptr, out_links, np.array([0]), np.array([3]), demand, flows,
        ALPHA, 1.0,
    )  # fmt: skip
    share = 50.0 / 700.0
    line_a = (1 - share) * 50.0 + share * 100.0 * 2.0 / 3.0
    assert reloaded.all()
    assert local_gap[0] == pytest.approx(5000.0, rel=1e-9)
    np.testing.assert_allclose(flows[0], [line_a, 100 - line_a, line_a, 100 - line_a], rtol=1e-9)
    np.testing.assert_allclose(volume, flows[0], rtol=1e-12)


def test_stops_parameters_checked_and_local_gap_recorded():
    with pytest.raises(ValueError, match="stops_gain"):
        CapacityParameters(step_rule="stops", stops_gain=0.0)
    with pytest.raises(ValueError, match="stops_passes"):
        CapacityParameters(step_rule="stops", stops_passes=0)
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    with pytest.warns(UserWarning, match="relative gap"):
        result = assign_transit_capacity(
            graph, demand, params=stops_params(beta=4.0, tolerance=1e-9, max_iter=5)
        )
    local = result.history["local_gap_s"].to_numpy()
    # measured after each averaging step (every row here: none converged), never negative
    assert np.isfinite(local).all() and (local >= 0.0).all()
    # flows conserved: the demand boards one of the two lines
    got = boardings(result)
    assert got["A"] + got["B"] == pytest.approx(800.0, rel=1e-12)
