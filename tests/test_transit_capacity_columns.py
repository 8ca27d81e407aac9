"""Strategy columns for the capacity-constrained transit assignment (``step_rule =
"columns"``, :mod:`transitopt.transit.capacity_columns`): the hand-solved cases of
``test_transit_capacity.py`` (closed forms and ``brentq`` roots of the equilibrium
conditions of Cepeda, Cominetti & Florian 2006) and the kernels against independent
formulas.

Tolerances: runs stop at a relative gap of 1e-6 (1e-5 for the marginal line); the flows
are then within 1e-4 of the references (observed errors in the comments). The restricted
gap is a lower bound of the true gap (Larsson & Patriksson 1992: no kept column is
cheaper than the optimal strategy), checked to rounding (1e-12).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from test_transit_capacity import ALPHA, _random_graph, boardings, paper_graph, two_lines

from transitopt.kernels import transit as kernels
from transitopt.transit.capacity import CapacityParameters, assign_transit_capacity
from transitopt.transit.capacity_columns import StrategyColumns


def columns_params(**kw) -> CapacityParameters:
    return CapacityParameters(crowding=False, step_rule="columns", **kw)


def test_marginal_line_closed_form_by_columns():
    # as test_marginal_line_equilibrium_closed_form: v_A = K_A (1 - alpha / (mu_A (t_B -
    # t_A))) ** (1 / beta); beta 2 (the columns method stalls near 1e-4 at beta 4 and 8
    # on this tie, see docs/model.md)
    beta = 2.0
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    result = assign_transit_capacity(
        graph, demand, params=columns_params(beta=beta, tolerance=1e-5, max_iter=50)
    )
    v_a = 840.0 * (1.0 - ALPHA / ((1.0 / 300.0) * 300.0)) ** (1.0 / beta)
    got = boardings(result)
    assert result.converged and len(result.history) <= 10  # observed 7 (MSA: 107)
    assert got["A"] == pytest.approx(v_a, rel=1e-4)  # observed 4.0e-5
    assert got["A"] + got["B"] == pytest.approx(800.0, rel=1e-12)


def test_common_lines_by_columns():
    # as test_common_lines_with_unequal_capacity: v_A / f_A(v_A) = v_B / f_B(v_B)
    graph = two_lines(headway_a=300.0, headway_b=300.0, t_a=600.0, t_b=600.0, cap_b=140.0)
    demand = np.array([[0.0, 1500.0], [0.0, 0.0]])
    beta, mu, k_a, k_b = 2.0, 1.0 / 300.0, 840.0, 1680.0

    def balance(v_a: float) -> float:
        v_b = 1500.0 - v_a
        return v_a / (mu * (1 - (v_a / k_a) ** beta)) - v_b / (mu * (1 - (v_b / k_b) ** beta))

    v_a = brentq(balance, 1.0, 839.0, xtol=1e-10)
    result = assign_transit_capacity(
        graph, demand, params=columns_params(beta=beta, tolerance=1e-6, max_iter=50)
    )
    assert result.converged and len(result.history) <= 10  # observed 7 (MSA: 66)
    assert boardings(result)["A"] == pytest.approx(v_a, rel=1e-4)  # observed 9e-7


@pytest.mark.parametrize("beta", [2.0, 4.0])
def test_spiess_florian_full_direct_line_by_columns(beta):
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
        params=columns_params(beta=beta, tolerance=1e-6, max_iter=50),
    )
    got = boardings(result)
    assert result.converged and len(result.history) <= 10  # observed 7 (MSA: 168, 163)
    assert got["1"] == pytest.approx(v1, rel=1e-4)  # observed 6e-7, 7e-7
    assert got["4"] == pytest.approx(5.0 * (100.0 - v1) / 6.0, rel=1e-4)
    history = result.history
    # the restricted gap after the passes is at most the true gap of the same flows
    assert (
        history["relative_gap"].to_numpy()[1:] >= history["restricted_gap"].to_numpy()[:-1] - 1e-12
    ).all()
    assert (history["gap_s"] >= -1e-9 * 100 * 1665).all()


@pytest.mark.parametrize("beta", [4.0, 8.0])
def test_restricted_gap_bounds_the_true_gap(beta):
    # the marginal-line tie, where the columns converge slowly: the bound still holds at
    # every iteration, and the restricted passes never leave the flows worse than they
    # found them (the passes keep the least restricted gap they evaluated)
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    with pytest.warns(UserWarning, match="relative gap"):
        result = assign_transit_capacity(
            graph, demand, params=columns_params(beta=beta, tolerance=1e-9, max_iter=30)
        )
    history = result.history
    true_gap = history["relative_gap"].to_numpy()
    restricted = history["restricted_gap"].to_numpy()
    assert (true_gap[1:] >= restricted[:-1] - 1e-12).all()
    assert (history["restricted_passes"].iloc[:-1] >= 1).all()
    # but it stalls: after 30 iterations 3.0 % of the first gap at beta 8 (0.3 % at 4)
    assert true_gap[-1] < 5e-2 * true_gap[0]


def _strategy_order(tail, head, cost, freq, in_indptr, in_links, dest):
    """The attractive links of the optimal strategy to ``dest`` that carry flow from any
    node, in the order they became attractive, via kernels.strategy_into."""
    n = in_indptr.size - 1
    scratch = kernels.strategy_scratch(n, tail.size, 0)
    count = kernels.strategy_into(
        tail, head, cost, freq, in_indptr, in_links, np.empty((tail.size, 0)), dest, ALPHA,
        np.empty(0, dtype=np.int64), np.zeros(n, dtype=np.bool_), scratch, False,
    )  # fmt: skip
    return scratch[8][:count].copy(), scratch[2].copy()  # order, inf_link


@pytest.mark.parametrize("seed", range(4))
def test_column_pass_against_assignment_and_flow_costs(seed):
    # one column per destination, found at (cost, freq) by capacity_response:
    # (1) at the same (cost, freq) the column pass loads exactly what kernels.assign does
    # and costs what its skims say; (2) at other costs and frequencies each column's
    # expected cost equals the cost of its own flows, sum_a c_a y_a + alpha sum_i Y_i / F_i
    # (Y_i the flow leaving node i on waiting links, F_i their combined frequency): an
    # identity of strategies (Spiess & Florian 1989), independent of the label recurrence
    n = 25
    tail, head, cost, freq, in_indptr, in_links = _random_graph(seed, n)
    rng = np.random.default_rng(70 + seed)
    origins = np.arange(0, 8, dtype=np.int64)
    destinations = np.arange(8, 14, dtype=np.int64)
    demand = np.where(rng.random((8, 6)) < 0.7, rng.uniform(1, 20, (8, 6)), 0.0)
    wait_links = np.flatnonzero(np.isfinite(freq))
    wait_index = np.full(tail.size, -1, dtype=np.int64)
    wait_index[wait_links] = np.arange(wait_links.size)
    averaged = np.zeros((6, wait_links.size))
    response = np.zeros_like(averaged)
    orders = np.zeros((6, tail.size), dtype=np.int32)
    counts = np.zeros(6, dtype=np.int64)
    volume, _, strategy_cost, _ = kernels.capacity_response(
        tail, head, cost, freq, in_indptr, in_links, ALPHA, origins, destinations, demand,
        wait_links, wait_index, averaged, response, orders, counts,
    )  # fmt: skip
    columns = StrategyColumns(6, 3)
    columns.add(orders, counts)
    dest_columns, column_indptr, column_links, weight = columns.flat()
    mixture = np.zeros_like(averaged)
    loaded, column_cost, restricted, least = kernels.column_pass(
        tail, head, cost, freq, ALPHA, n, origins, destinations, demand, dest_columns,
        column_indptr, column_links, weight, 1.0, wait_index, mixture,
    )  # fmt: skip
    np.testing.assert_allclose(loaded, volume, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(mixture, response, rtol=1e-12, atol=1e-9)
    has = dest_columns[1:] > dest_columns[:-1]
    np.testing.assert_allclose(least[has], strategy_cost[has], rtol=1e-12)
    assert (restricted == 0.0).all()  # one column each: nothing to re-balance

    other_cost = cost * rng.uniform(0.5, 2.0, cost.size)
    other_freq = np.where(np.isfinite(freq), freq * rng.uniform(0.2, 1.0, freq.size), np.inf)
    for q in np.flatnonzero(has):
        one = np.zeros_like(demand)
        one[:, q] = demand[:, q]
        c = dest_columns[q]
        links = column_links[column_indptr[c] : column_indptr[c + 1]]
        flows, cost_q, _, _ = kernels.column_pass(
            tail, head, other_cost, other_freq, ALPHA, n, origins, destinations, one,
            dest_columns, column_indptr, column_links, weight.copy(), 1.0, wait_index,
            np.zeros_like(averaged),
        )  # fmt: skip
        waiting = links[np.isfinite(other_freq[links])]
        no_wait_nodes = set(tail[links[~np.isfinite(other_freq[links])]])
        wait_term = 0.0
        for i in set(tail[waiting]) - no_wait_nodes:
            out = waiting[tail[waiting] == i]
            wait_term += ALPHA * flows[out].sum() / other_freq[out].sum()
        expected = float(np.dot(other_cost, flows) + wait_term)
        assert cost_q[c] == pytest.approx(expected, rel=1e-10)
        # the flows split in proportion to the new frequencies at every node
        for i in set(tail[waiting]) - no_wait_nodes:
            out = waiting[tail[waiting] == i]
            if flows[out].sum() > 0:
                np.testing.assert_allclose(
                    flows[out] / flows[out].sum(), other_freq[out] / other_freq[out].sum(),
                    rtol=1e-10,
                )  # fmt: skip


def test_column_pass_weight_shift():
    # two columns of one destination: the direct line A (cost 600 + alpha / mu_A) and the
    # common lines {A, B}; the dearer gives weight * min(1, shift * excess / least)
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    from transitopt.transit.capacity import _State  # the boarding links

    state = _State(graph, CapacityParameters())
    board_a, board_b = state.board[np.argsort(graph.line[state.board])]
    lines_ab = None
    only_a = None
    for freq_b in (graph.freq_hz[board_b], 1e-9):
        freq = graph.freq_hz.copy()
        freq[board_b] = freq_b
        wait_links = np.flatnonzero(np.isfinite(freq))
        wait_index = np.full(graph.n_links, -1, dtype=np.int64)
        wait_index[wait_links] = np.arange(wait_links.size)
        n_dest = graph.destination_node.size
        orders = np.zeros((n_dest, graph.n_links), dtype=np.int32)
        counts = np.zeros(n_dest, dtype=np.int64)
        kernels.capacity_response(
            graph.tail, graph.head, graph.cost_s, freq * 0.01 if freq_b > 1e-6 else freq,
            graph.in_indptr, graph.in_links, ALPHA, graph.origin_node, graph.destination_node,
            demand, wait_links, wait_index, np.zeros((n_dest, wait_links.size)),
            np.zeros((n_dest, wait_links.size)), orders, counts,
        )  # fmt: skip
        if freq_b > 1e-6:
            lines_ab = (orders, counts)
        else:
            only_a = (orders, counts)
    assert lines_ab is not None and only_a is not None
    columns = StrategyColumns(graph.destination_node.size, 3)
    columns.add(*only_a)
    columns.add(*lines_ab)
    assert columns.count == 2 and columns.weights[1] == [1.0, 0.0]
    dest_columns, column_indptr, column_links, weight = columns.flat()
    wait_links = np.flatnonzero(np.isfinite(graph.freq_hz))
    wait_index = np.full(graph.n_links, -1, dtype=np.int64)
    wait_index[wait_links] = np.arange(wait_links.size)
    mu_a, mu_b = 1.0 / 300.0, 1.0 / 600.0
    cost_a = 800.0 * (600.0 + ALPHA / mu_a)
    cost_ab = 800.0 * (ALPHA + mu_a * 600.0 + mu_b * 900.0) / (mu_a + mu_b)
    assert cost_a < cost_ab  # at nominal frequencies A alone is the better strategy
    weight[:] = [0.5, 0.5]
    shift = 3.0
    _, column_cost, restricted, least = kernels.column_pass(
        graph.tail, graph.head, graph.cost_s, graph.freq_hz, ALPHA, graph.n_nodes,
        graph.origin_node, graph.destination_node, demand, dest_columns, column_indptr,
        column_links, weight, shift, wait_index, np.zeros((graph.destination_node.size, wait_links.size)),
    )  # fmt: skip
    np.testing.assert_allclose(column_cost, [cost_a, cost_ab], rtol=1e-12)
    assert least[1] == pytest.approx(cost_a, rel=1e-12)
    assert restricted[1] == pytest.approx(0.5 * (cost_ab - cost_a), rel=1e-12)
    give = 0.5 * min(1.0, shift * (cost_ab - cost_a) / cost_a)
    np.testing.assert_allclose(weight, [0.5 + give, 0.5 - give], rtol=1e-12)
