"""Block Gauss-Seidel sweeps over destinations for the capacity-constrained transit
assignment (``step_rule = "sweeps"``, :mod:`transitopt.transit.capacity_sweeps`,
:mod:`transitopt.kernels.transit_sweeps`).

References: the hand-solved cases of ``test_transit_capacity.py`` (closed forms and
``brentq`` roots of the equilibrium conditions of Cepeda, Cominetti & Florian 2006), the
published table of Spiess & Florian (1989) where capacity does not bind, the numpy
formulas of ``transit/capacity.py`` for the kernels' scalar ones, and
``kernels.transit.capacity_response`` (the full search) for each destination's gap.

Tolerances: runs stop at a relative gap of 1e-6; the flows are then within 1e-4 of the
references (observed errors in the comments). Kernel checks are to rounding (1e-9
relative).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from test_transit_capacity import ALPHA, boardings, paper_graph, two_lines

from transitopt.kernels import transit as kernels
from transitopt.kernels import transit_sweeps as sweep_kernels
from transitopt.transit import (
    Line,
    Stop,
    TransitSupply,
    assign_transit,
    build_transit_graph,
    read_gtfs,
)
from transitopt.transit.capacity import (
    CapacityParameters,
    _State,
    assign_transit_capacity,
    crowding_multiplier,
    effective_frequency,
)
from transitopt.transit.capacity_sweeps import _stalled
from transitopt.transit.graph import BOARD, TransitGraph


def sweeps_params(**kw) -> CapacityParameters:
    kw.setdefault("crowding", False)
    return CapacityParameters(step_rule="sweeps", **kw)


# ------------------------------------------------------------------ hand-solved cases


@pytest.mark.parametrize("beta", [2.0, 4.0, 8.0])
def test_marginal_line_closed_form_by_sweeps(beta):
    # as test_marginal_line_equilibrium_closed_form: A is held where alpha / f_A(v_A) =
    # t_B - t_A, v_A = K_A (1 - alpha / (mu_A (t_B - t_A))) ** (1 / beta)
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    result = assign_transit_capacity(
        graph, demand, params=sweeps_params(beta=beta, tolerance=1e-6, max_iter=300)
    )
    v_a = 840.0 * (1.0 - ALPHA / ((1.0 / 300.0) * 300.0)) ** (1.0 / beta)
    got = boardings(result)
    assert result.converged
    # observed errors 1.5e-6, 1.5e-6, 2.9e-7 in 28, 14, 8 sweeps (MSA to the same gap:
    # 332, 92, 205 iterations)
    assert got["A"] == pytest.approx(v_a, rel=1e-4)
    assert got["A"] + got["B"] == pytest.approx(800.0, rel=1e-12)
    history = result.history
    # the relative gap is the full search's, measured only where the sweep's estimate
    # reached sweeps_confirm x the tolerance (and so at the last row, where it stopped)
    confirmed = history["relative_gap"].notna()
    assert confirmed.iloc[-1] and history["relative_gap"].iloc[-1] <= 1e-6
    limit = CapacityParameters().sweeps_confirm * 1e-6
    assert (history.loc[confirmed, "sweep_gap_estimate"] <= limit).all()
    assert (history.loc[~confirmed, "sweep_gap_estimate"] > limit).all()
    assert history["sweep_gap_estimate"].notna().all()
    assert history["sweep_gap_estimate"].iloc[0] > 1e-2  # the unconstrained start is far


def test_common_lines_by_sweeps():
    # as test_common_lines_with_unequal_capacity: v_A / f_A(v_A) = v_B / f_B(v_B)
    graph = two_lines(headway_a=300.0, headway_b=300.0, t_a=600.0, t_b=600.0, cap_b=140.0)
    demand = np.array([[0.0, 1500.0], [0.0, 0.0]])
    beta, mu, k_a, k_b = 2.0, 1.0 / 300.0, 840.0, 1680.0

    def balance(v_a: float) -> float:
        v_b = 1500.0 - v_a
        return v_a / (mu * (1 - (v_a / k_a) ** beta)) - v_b / (mu * (1 - (v_b / k_b) ** beta))

    v_a = brentq(balance, 1.0, 839.0, xtol=1e-10)
    result = assign_transit_capacity(
        graph, demand, params=sweeps_params(beta=beta, tolerance=1e-6, max_iter=300)
    )
    assert result.converged
    assert boardings(result)["A"] == pytest.approx(v_a, rel=1e-4)  # observed 8e-10, 3 sweeps


@pytest.mark.parametrize("beta", [2.0, 4.0])
def test_spiess_florian_full_direct_line_by_sweeps(beta):
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
        params=sweeps_params(beta=beta, tolerance=1e-6, max_iter=300),
    )
    got = boardings(result)
    assert result.converged
    assert got["1"] == pytest.approx(v1, rel=1e-4)  # observed 1.4e-6 in 6 and 5 sweeps
    assert got["4"] == pytest.approx(5.0 * (100.0 - v1) / 6.0, rel=1e-4)
    assert result.history["gap_s"].dropna().ge(-1e-9 * 100 * 1665).all()


def test_published_spiess_florian_table_by_sweeps():
    # ample capacity: the unconstrained start is the equilibrium; the first sweep's
    # estimate is 0, the full search confirms it, and the paper's table comes back
    demand = np.zeros((4, 4))
    demand[0, 3] = 100.0
    result = assign_transit_capacity(paper_graph(), demand, params=sweeps_params(tolerance=1e-9))
    assert result.converged and len(result.history) == 1
    assert result.history["relative_gap"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert result.assignment.skim("total_s")[0, 3] / 60.0 == pytest.approx(27.75, abs=1e-9)
    np.testing.assert_allclose(
        list(boardings(result).values()), [50.0, 50.0, 100 / 12, 500 / 12], rtol=1e-9
    )


# ------------------------------------------------------ the confirmed gap, conservation


def _gap_of_one_destination(result, demand) -> float:
    """Cepeda et al.'s gap (s) of a result whose demand all goes to one zone, from its
    link volumes (its only destination's flows): the flows' link costs and waits minus
    the optimal strategies' expected costs (``kernels.assign`` skims) at the result's
    effective frequencies and crowded costs."""
    g = result.assignment.graph
    v = result.link_volume
    freq = result.effective_freq_hz
    cost = result.link_cost_s
    wait = np.isfinite(freq) & (v > 0)
    node_max = np.zeros(g.n_nodes)
    np.maximum.at(node_max, g.tail[wait], v[wait] / freq[wait])
    experienced = float((cost * v).sum() + ALPHA * node_max.sum())
    _, skims, _ = kernels.assign(
        g.tail, g.head, cost, freq, g.in_indptr, g.in_links, np.zeros((g.n_links, 0)), ALPHA,
        g.origin_node, g.destination_node, demand, True,
    )  # fmt: skip
    served = demand > 0
    best = float((demand[served] * skims[:, :, 0][served]).sum())
    return experienced - best


def test_the_history_gap_is_the_full_search_gap_of_the_final_state():
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    with pytest.warns(UserWarning, match="relative gap"):
        result = assign_transit_capacity(
            graph, demand, params=sweeps_params(beta=4.0, tolerance=1e-9, max_iter=4)
        )
    history = result.history
    assert not result.converged and len(history) == 4
    # sweeps 1-3 (estimate above the tolerance) have no full search; the last has one
    assert history["relative_gap"].iloc[:3].isna().all()
    last = history.iloc[-1]
    reference = _gap_of_one_destination(result, demand)
    assert reference > 0.0
    assert last["gap_s"] == pytest.approx(reference, rel=1e-9)
    # the estimate (each destination's gap at its own search, before its step) is not it
    assert last["sweep_gap_estimate"] != pytest.approx(last["relative_gap"], rel=1e-3)


def corridor():
    """Five stops on a corridor (each a zone), a fast small line A over all of them, a
    slow large line B over all of them and a short line C over the middle three."""
    names = ["s1", "s2", "s3", "s4", "s5"]
    stops = [Stop(s, s, 0.02 * k, 0.0) for k, s in enumerate(names)]
    lines = [
        Line("A", "A", "bus", tuple(names), 300.0, capacity=40.0, running_times_s=(300.0,) * 4),
        Line("B", "B", "bus", tuple(names), 600.0, capacity=120.0, running_times_s=(420.0,) * 4),
        Line("C", "C", "bus", ("s2", "s3", "s4"), 450.0, capacity=40.0, running_times_s=(330.0,) * 2),
    ]  # fmt: skip
    return build_transit_graph(TransitSupply.from_stops(stops, lines), zones="stops")


def corridor_demand() -> np.ndarray:
    """Trips per hour between the corridor's stops, downstream."""
    rng = np.random.default_rng(7)
    # the lines run s1 -> s5 only: trips downstream
    return np.triu(rng.uniform(60.0, 200.0, (5, 5)), k=1)


def _net_outflow(graph: TransitGraph, volume: np.ndarray) -> np.ndarray:
    return np.bincount(graph.tail, weights=volume, minlength=graph.n_nodes) - np.bincount(
        graph.head, weights=volume, minlength=graph.n_nodes
    )


def _zone_balance(graph: TransitGraph, demand: np.ndarray) -> np.ndarray:
    expected = np.zeros(graph.n_nodes)
    np.add.at(expected, graph.origin_node, demand.sum(axis=1))
    np.add.at(expected, graph.destination_node, -demand.sum(axis=0))
    return expected


def test_sweeps_conserve_flow_on_a_corridor_with_many_destinations():
    graph = corridor()
    demand = corridor_demand()
    result = assign_transit_capacity(
        graph, demand, params=sweeps_params(crowding=True, tolerance=1e-4, max_iter=200)
    )
    assert result.converged  # observed 8 sweeps (MSA 807 iterations, node shifts 397)
    v = result.link_volume
    np.testing.assert_allclose(
        _net_outflow(graph, v), _zone_balance(graph, demand), atol=1e-9 * demand.sum()
    )
    assert (v >= 0.0).all() and result.assignment.unassigned == 0.0
    # capacity binds: unconstrained, some line would carry more than its places
    free = assign_transit(graph, demand, skims=False)
    assert free.line_table()["peak_load_per_capacity_hour"].max() > 1.0
    assert result.line_table()["peak_load_factor"].max() < 1.0


# ---------------------------------------------------------------- warm start and stall


def test_a_warm_start_from_the_equilibrium_stops_at_its_first_sweep():
    graph = corridor()
    demand = corridor_demand()
    params = sweeps_params(crowding=True, tolerance=1e-4, max_iter=200)
    cold = assign_transit_capacity(graph, demand, params=params, skims=False)
    assert cold.converged and cold.info["iterations"] > 1  # observed 8 sweeps
    assert cold.sweeps_state is not None
    np.testing.assert_allclose(cold.sweeps_state.flows.sum(axis=0), cold.link_volume, atol=1e-9)
    warm = assign_transit_capacity(graph, demand, params=params, skims=False, start=cold)
    # every destination starts where the cold run ended, so its first sweep confirms
    assert warm.info["warm_destinations"] == 4  # s2..s5 have demand, s1 none
    assert warm.converged and warm.info["iterations"] == 1
    # its step caps go on from the cold run's counts
    assert warm.sweeps_state.sweeps == cold.sweeps_state.sweeps + 1
    assert (warm.sweeps_state.focus_visits >= cold.sweeps_state.focus_visits).all()
    # the equilibrium is unique in the link volumes of the boarding links (Cepeda et
    # al.); both runs are within a 1e-4 gap of it (observed: at most 0.05 of 384 riders)
    board = graph.kind == BOARD
    np.testing.assert_allclose(warm.link_volume[board], cold.link_volume[board], atol=0.5)


def test_a_warm_start_loads_the_new_demand_and_starts_new_origins_cold():
    graph = corridor()
    demand = corridor_demand()
    params = sweeps_params(crowding=True, tolerance=1e-4, max_iter=200)
    first = demand.copy()
    first[0, 4] = 0.0  # no trips s1 -> s5 at first: destination s5's flows skip s1
    start = assign_transit_capacity(graph, first, params=params, skims=False)
    changed = demand * 1.1
    result = assign_transit_capacity(graph, changed, params=params, skims=False, start=start)
    # s5 starts from its unconstrained strategy (nothing of the start leaves s1 for it)
    assert result.info["warm_destinations"] == 3
    assert result.converged
    np.testing.assert_allclose(
        _net_outflow(graph, result.link_volume),
        _zone_balance(graph, changed),
        atol=1e-9 * changed.sum(),
    )
    # observed 5 sweeps, cold 6; the boardings within 0.1 riders of the cold run's
    reference = assign_transit_capacity(graph, changed, params=params, skims=False)
    board = graph.kind == BOARD
    np.testing.assert_allclose(result.link_volume[board], reference.link_volume[board], atol=0.5)


def test_a_start_must_be_sweeps_on_the_same_graph():
    graph = corridor()
    demand = corridor_demand()
    with pytest.warns(UserWarning, match="stopped after 3 iterations"):
        by_msa = assign_transit_capacity(
            graph, demand, params=CapacityParameters(step_rule="msa", max_iter=3), skims=False
        )
    assert by_msa.sweeps_state is None
    with pytest.raises(ValueError, match="kept no per-destination flows.*'msa'"):
        assign_transit_capacity(graph, demand, params=sweeps_params(), start=by_msa)
    other = two_lines()
    start = assign_transit_capacity(
        other, np.array([[0.0, 800.0], [0.0, 0.0]]), params=sweeps_params(), skims=False
    )
    with pytest.raises(ValueError, match="different graph"):
        assign_transit_capacity(graph, demand, params=sweeps_params(), start=start)


def test_stalled_is_a_lack_of_progress_over_the_window():
    assert not _stalled([0.5, 0.4, 0.39, 0.38], 5)  # too few sweeps to judge
    assert _stalled([0.5, 0.4, 0.39, 0.38], 2)  # 0.38 > 0.9 x 0.4
    assert not _stalled([0.5, 0.4, 0.39, 0.35], 2)  # 0.35 <= 0.36
    assert not _stalled([0.5, 0.4, 0.39, 0.38], 0)  # never with a window of 0


def test_a_run_that_stalls_stops_with_a_warning_and_a_confirmed_gap():
    graph = two_lines()
    demand = np.array([[0.0, 800.0], [0.0, 0.0]])
    # a tolerance of 0 cannot be reached: the estimate levels out near 1e-6 (observed
    # 16 sweeps, confirmed gap 2e-7)
    params = sweeps_params(beta=4.0, tolerance=0.0, max_iter=500, sweeps_stall=3)
    with pytest.warns(UserWarning, match="stalled after"):
        result = assign_transit_capacity(graph, demand, params=params)
    assert result.info["stop_reason"] == "stalled"
    assert not result.converged and result.info["iterations"] < 500
    assert np.isfinite(result.history["relative_gap"].iloc[-1])


# ------------------------------------------------------------------------------ kernels


def test_scalar_formulas_match_the_numpy_ones():
    rng = np.random.default_rng(3)
    mu = rng.uniform(1e-4, 1e-2, 400)
    boardings_ = rng.uniform(0.0, 900.0, 400)
    room = rng.uniform(-200.0, 900.0, 400)
    for beta in (2.0, 4.0):
        expected = effective_frequency(mu, boardings_, room, beta=beta, min_share=0.05)
        got = [
            sweep_kernels.effective_frequency_one(m, b, r, beta, 0.05)
            for m, b, r in zip(mu, boardings_, room, strict=True)
        ]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    params = CapacityParameters()
    curve = np.array(
        [
            params.seated_free_load,
            params.seated_full_multiplier,
            params.seated_over_multiplier,
            params.standing_multiplier,
        ]
    )
    load = np.concatenate([[0.0], rng.uniform(0.0, 500.0, 300)])
    seats = np.concatenate([[50.0], rng.uniform(0.0, 200.0, 300)])
    seats[5] = 0.0
    expected = crowding_multiplier(load, seats, params)
    got = [
        sweep_kernels.crowding_multiplier_one(x, s, curve) for x, s in zip(load, seats, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def _kernel_inputs(graph, params):
    state = _State(graph, params)
    m = graph.n_links
    link_places = np.zeros(m)
    link_places[state.board] = state.board_places
    link_dwell = np.full(m, -1, dtype=np.int64)
    link_dwell[state.board] = state.board_dwell
    link_seats = np.full(m, -1.0)
    link_seats[state.in_vehicle] = state.iv_seats
    curve = np.array(
        [
            params.seated_free_load,
            params.seated_full_multiplier,
            params.seated_over_multiplier,
            params.standing_multiplier,
        ]
    )
    return state, link_places, link_dwell, link_seats, curve


def _state_of(graph, state, params, volume):
    freq = graph.freq_hz.copy()
    freq[state.board] = effective_frequency(
        graph.freq_hz[state.board], volume[state.board], state.room(volume),
        beta=params.beta, min_share=params.min_frequency_share,
    )  # fmt: skip
    cost = graph.cost_s.copy()
    iv = state.in_vehicle
    cost[iv] += (crowding_multiplier(volume[iv], state.iv_seats, params) - 1.0) * (
        graph.in_vehicle_s[iv]
    )
    return freq, cost


@pytest.mark.parametrize("max_step", [0.0, 0.4, 1.0])
def test_sweep_block_gaps_and_incremental_state(max_step):
    graph = corridor()
    demand = corridor_demand()
    params = CapacityParameters()
    state, link_places, link_dwell, link_seats, curve = _kernel_inputs(graph, params)
    g = graph
    m = g.n_links
    n_dest = g.destination_node.size
    every = np.arange(m, dtype=np.int64)
    no_orders = np.zeros((0, 0), dtype=np.int32)
    no_counts = np.zeros(n_dest, dtype=np.int64)
    # a state that is no equilibrium: each destination's flows at nominal frequencies
    flows = np.zeros((n_dest, m))
    volume, _, _, _ = kernels.capacity_response(
        g.tail, g.head, g.cost_s, g.freq_hz, g.in_indptr, g.in_links, ALPHA, g.origin_node,
        g.destination_node, demand, every, every, flows, flows, no_orders, no_counts,
    )  # fmt: skip
    freq, cost = _state_of(g, state, params, volume)
    # reference per destination: the full search's terms at that state
    _, _, strategy_cost, flows_wait = kernels.capacity_response(
        g.tail, g.head, cost, freq, g.in_indptr, g.in_links, ALPHA, g.origin_node,
        g.destination_node, demand, every, every, flows.copy(), np.zeros_like(flows),
        no_orders, no_counts,
    )  # fmt: skip
    reference_gap = flows @ cost + flows_wait - strategy_cost
    assert reference_gap.max() > 1.0  # capacity binds somewhere
    _, _, _, _, dem_indptr, dem_origin, dem_value = kernels._assign_setup(
        g.n_nodes, 0, g.origin_node, n_dest, demand, False
    )
    block = np.array([3, 1], dtype=np.int64)
    before = flows.copy()
    response = np.zeros((2, m))
    steps, own_gap, best = np.zeros(2), np.zeros(2), np.zeros(2)
    sweep_kernels.sweep_block(
        g.tail, g.head, g.in_indptr, g.in_links, g.cost_s, g.in_vehicle_s, g.freq_hz,
        link_places, link_dwell, link_seats, curve, params.beta, params.min_frequency_share,
        ALPHA, g.origin_node, g.destination_node, dem_indptr, dem_origin, dem_value, block,
        flows, volume, cost, freq, response, np.full(2, max_step), steps, own_gap, best,
        sweep_kernels.sweep_pool(g.n_nodes, m, 2),
    )  # fmt: skip
    # the first destination of the block saw the state as it was: its gap and optimal
    # cost are the full search's
    assert own_gap[0] == pytest.approx(reference_gap[3], rel=1e-9)
    assert best[0] == pytest.approx(strategy_cost[3], rel=1e-9)
    assert (steps >= 0.0).all() and (steps <= max_step).all()
    assert not response.any()  # scratch left zero
    untouched = [q for q in range(n_dest) if q not in block]
    np.testing.assert_array_equal(flows[untouched], before[untouched])
    if max_step == 0.0:
        np.testing.assert_array_equal(flows, before)
        assert own_gap[1] == pytest.approx(reference_gap[1], rel=1e-9)
    else:
        assert steps[0] > 0.0 and np.abs(flows[3] - before[3]).max() > 1e-6
    # the volumes, frequencies and costs updated on the touched links are those of the
    # new flows
    np.testing.assert_allclose(volume, flows.sum(axis=0), rtol=1e-12, atol=1e-9)
    freq_ref, cost_ref = _state_of(g, state, params, flows.sum(axis=0))
    np.testing.assert_allclose(freq, freq_ref, rtol=1e-9)
    np.testing.assert_allclose(cost, cost_ref, rtol=1e-9)
    assert (flows >= 0.0).all()


def test_sweeps_parameters_checked():
    with pytest.raises(ValueError, match="sweeps_block"):
        CapacityParameters(step_rule="sweeps", sweeps_block=0)
    with pytest.raises(ValueError, match="sweeps_confirm"):
        CapacityParameters(step_rule="sweeps", sweeps_confirm=0.0)
    with pytest.raises(ValueError, match="sweeps_shift_passes"):
        CapacityParameters(step_rule="sweeps", sweeps_shift_passes=-1)
    with pytest.raises(ValueError, match="sweeps_stall"):
        CapacityParameters(step_rule="sweeps", sweeps_stall=-1)


# ------------------------------------------------------------------ the pruned search


def _strategy_and_loads(graph, dest, origins, demand, prune):
    """Labels and link loads of the strategy to node ``dest`` (``kernels.strategy_into``
    with or without pruned pushes; ``origins`` empty: the whole graph is scanned), the
    ``demand`` (per origin node) loaded on it."""
    n, m = graph.n_nodes, graph.n_links
    scratch = kernels.strategy_scratch(n, m, 0)
    is_origin = np.zeros(n, dtype=np.bool_)
    is_origin[origins] = True
    count = kernels.strategy_into(
        graph.tail, graph.head, graph.cost_s, graph.freq_hz, graph.in_indptr, graph.in_links,
        np.empty((m, 0)), dest, ALPHA, origins, is_origin, scratch, prune,
    )  # fmt: skip
    u, f_node, inf_link, _, _, _, _, _, order, _ = scratch
    node_volume = np.zeros(n)
    node_volume[demand[0]] = demand[1]
    loads = np.zeros(m)
    kernels.load_into(graph.tail, graph.head, graph.freq_hz, f_node, inf_link, order, count,
                      node_volume, loads)  # fmt: skip
    return u.copy(), loads


def _check_pruned_search(graph, destinations, rng, share):
    origins_all = np.unique(graph.origin_node)
    loaded = 0.0
    for dest in destinations:
        size = max(1, int(share * origins_all.size))
        origins = rng.choice(origins_all, size=size, replace=False)
        origins = np.sort(origins[origins != dest]).astype(np.int64)
        demand = (origins, rng.uniform(1.0, 10.0, origins.size))
        u_full, loads_full = _strategy_and_loads(graph, dest, np.zeros(0, np.int64), demand, False)
        u, loads = _strategy_and_loads(graph, dest, origins, demand, True)
        # the origins' labels and every link's load as the full, unpruned search's
        np.testing.assert_allclose(u[origins], u_full[origins], rtol=1e-9)
        np.testing.assert_allclose(loads, loads_full, rtol=0, atol=1e-9 * demand[1].sum())
        loaded += loads.sum()
    assert loaded > 0.0


def test_pruned_search_equals_the_full_one_on_spiess_florian():
    # pruned pushes (a link is queued only while its tail can still take it) and the stop
    # once every origin is settled: the same strategy as scanning every link (rounding)
    graph = paper_graph()
    _check_pruned_search(graph, np.unique(graph.destination_node), np.random.default_rng(0), 1.0)


@pytest.mark.parametrize("feed", ["coquimbo.zip", "bogor_angkot.zip"])
def test_pruned_search_equals_the_full_one_on_gtfs_feeds(require_data, feed):
    # Bogor's angkot lines share stops (common lines); Coquimbo's stops mostly have one.
    # Link costs get a seeded jitter in [0, 10 ms): without it Bogor has exact ties
    # (equal-cost strategies, e.g. stops at the same coordinates), between which the
    # heap's pop order picks, and the pruned heap pops equal keys in another order (24
    # of these 25 destinations then load another strategy of the same cost: origin
    # labels equal to 1e-9)
    supply, _ = read_gtfs(require_data(f"gtfs/{feed}"))
    graph = build_transit_graph(supply)  # every stop a zone
    rng = np.random.default_rng(1)
    jitter = rng.uniform(0.0, 0.01, graph.n_links)
    graph = TransitGraph(**{**vars(graph), "cost_s": graph.cost_s + jitter})
    destinations = rng.choice(np.unique(graph.destination_node), size=25, replace=False)
    _check_pruned_search(graph, destinations, rng, 0.5)
