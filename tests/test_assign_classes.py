"""Car class with bus preloads, closed and bus-only links, bad input, stopping rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from transitopt import ConvergenceWarning, DemandError, NetworkError
from transitopt.assignment import UserEquilibrium, assign
from transitopt.demand import ODMatrix
from transitopt.network import MODE_BUS, MODE_CAR, Network


def _two_routes(modes=None, **overrides):
    """Zones 1 and 4; route A 1-2-4 (short, small capacity) and route B 1-3-4 (long, big capacity).

    Per-link inputs are given in the order 1-2, 2-4, 1-3, 3-4 (``from_edges`` re-sorts them).
    """
    tail = np.array([0, 1, 0, 2])
    head = np.array([1, 3, 2, 3])
    attrs = {
        "free_flow_time_s": np.array([300.0, 300.0, 500.0, 500.0]),
        "capacity_vph": np.array([1000.0, 1000.0, 3000.0, 3000.0]),
        "alpha": np.full(4, 0.15),
        "beta": np.full(4, 4.0),
    }
    attrs.update(overrides)
    return Network.from_edges(
        tail, head, n_nodes=4, node_id=np.array([1, 2, 3, 4]), crs=None, modes=modes, **attrs
    )


def _od(trips=2500.0):
    return ODMatrix(zones=np.array([1, 4]), matrix=np.array([[0.0, trips], [0.0, 0.0]]))


def _bpr(v, t0, c):
    return t0 * (1 + 0.15 * (v / c) ** 4)


def _equal_cost_split(demand, preload_a=0.0):
    """Flow on route A where both routes cost the same (scipy brentq): the analytic UE."""

    def diff(x):
        return 2 * _bpr(x + preload_a, 300.0, 1000.0) - 2 * _bpr(demand - x, 500.0, 3000.0)

    return optimize.brentq(diff, 0.0, demand, xtol=1e-12)


@pytest.mark.parametrize("algorithm", ["fw", "bfw", "algb"])
def test_two_route_equilibrium_matches_analytic_split(algorithm):
    result = assign(_two_routes(), _od(), algorithm=algorithm, gap=1e-12, max_iter=5000)
    net = result.network
    on_a = result.flow[(net.tail == 0) & (net.head == 1)][0]
    assert on_a == pytest.approx(_equal_cost_split(2500.0), abs=1e-4)


def test_bus_preload_shifts_cars_to_the_other_route():
    net = _two_routes()
    preload = np.where(
        (net.tail == 0) & (net.head == 1), 200.0, 0.0
    )  # buses in PCU/h on 1 -> 2 only
    result = assign(net, _od(), algorithm="algb", gap=1e-12, preload=preload)

    # analytic: buses occupy the first link of route A only
    def diff(x):
        return (_bpr(x + 200.0, 300.0, 1000.0) + _bpr(x, 300.0, 1000.0)) - 2 * _bpr(
            2500.0 - x, 500.0, 3000.0
        )

    expected = optimize.brentq(diff, 0.0, 2500.0, xtol=1e-12)
    on_a = result.flow[(net.tail == 0) & (net.head == 1)][0]
    assert on_a == pytest.approx(expected, abs=1e-4)
    assert result.link_table()["preload"].sum() == 200.0
    # v/c counts buses: (cars + buses) / capacity
    table = result.link_table().set_index(["from_node", "to_node"])
    assert table.loc[(1, 2), "voc"] == pytest.approx((on_a + 200.0) / 1000.0)


def test_bus_only_link_carries_no_cars():
    modes = np.array([MODE_BUS, MODE_BUS, MODE_CAR | MODE_BUS, MODE_CAR | MODE_BUS], dtype=np.uint8)
    net = _two_routes(modes=modes)
    result = assign(net, _od(), algorithm="bfw", gap=1e-8)
    assert result.closed.sum() == 2
    assert result.flow[result.closed].sum() == 0.0
    assert result.flow[~result.closed] == pytest.approx([2500.0, 2500.0])
    assert np.isinf(result.time_s[result.closed]).all()
    assert not np.isnan(result.cost_s).any()


def test_zero_capacity_link_is_closed_not_nan():
    net = _two_routes(capacity_vph=np.array([0.0, 1000.0, 3000.0, 3000.0]))
    result = assign(net, _od(), algorithm="algb", gap=1e-8)
    assert result.closed.sum() == 1 and result.closed[(net.tail == 0) & (net.head == 1)][0]
    assert result.flow[result.closed].sum() == 0.0
    assert np.isfinite(result.flow).all()
    assert result.relative_gap <= 1e-8


def test_demand_between_disconnected_zones_is_reported_and_the_rest_assigned():
    # zone 5 (node 5) has no links; node 4 is reachable
    net = Network.from_edges(
        [0, 1],
        [1, 2],
        n_nodes=4,
        node_id=np.array([1, 2, 3, 5]),
        crs=None,
        free_flow_time_s=[60.0, 60.0],
        capacity_vph=[1000.0, 1000.0],
    )
    od = ODMatrix(
        zones=np.array([1, 3, 5]), matrix=np.array([[0, 100.0, 40.0], [0, 0, 0], [7.0, 0, 0]])
    )
    with pytest.warns(UserWarning, match="47 trips between 2 OD pairs cannot be assigned"):
        result = assign(net, od, algorithm="bfw", gap=1e-8)
    expected = pd.DataFrame({"origin": [1, 5], "destination": [5, 1], "trips": [40.0, 7.0]})
    got = result.unassigned.sort_values(["origin", "destination"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert result.flow.tolist() == [100.0, 100.0]
    assert "47 trips unassignable" in result.summary()


def test_bad_inputs_fail_before_iterating():
    with pytest.raises(NetworkError, match=r"free_flow_time_s of link 0 \(1 -> 2\) is -1"):
        assign(_two_routes(free_flow_time_s=np.array([-1.0, 300.0, 500.0, 500.0])), _od())
    with pytest.raises(NetworkError, match=r"capacity_vph of link 1 \(1 -> 3\) is nan"):
        assign(_two_routes(capacity_vph=np.array([1000.0, 1000.0, np.nan, 3000.0])), _od())
    bad_zone = ODMatrix(zones=np.array([1, 9]), matrix=np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(DemandError, match="node id 9 is not in the network"):
        assign(_two_routes(), bad_zone)
    with pytest.raises(ValueError, match="unknown algorithm 'newton'"):
        assign(_two_routes(), _od(), algorithm="newton")
    with pytest.raises(ValueError, match="preload has shape"):
        assign(_two_routes(), _od(), preload=np.zeros(3))


def test_stopping_rules_and_history():
    with pytest.warns(ConvergenceWarning, match=r"msa stopped \(max_iter\)"):
        result = assign(_two_routes(), _od(), algorithm="msa", gap=1e-12, max_iter=3)
    assert not result.converged and result.stop_reason == "max_iter"
    assert list(result.history["iteration"]) == [0, 1, 2, 3]
    assert {"relative_gap", "average_excess_cost_s", "objective", "time_s"} <= set(
        result.history.columns
    )
    with pytest.warns(ConvergenceWarning, match="time_limit"):
        result = assign(_two_routes(), _od(), algorithm="msa", gap=0.0, time_limit_s=0.0)
    assert result.stop_reason == "time_limit"
    stops = []
    solver = UserEquilibrium(
        _two_routes(),
        _od(),
        algorithm="msa",
        gap=0.0,
        progress=lambda row: stops.append(row) or len(stops) < 4,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = solver.run()
    assert result.stop_reason == "cancelled" and len(stops) == 4
    with pytest.raises(ValueError):
        result.flow[0] = 1.0  # results are immutable


def test_conical_vdf_converges_on_two_routes():
    net = _two_routes(alpha=np.full(4, 4.0))
    result = assign(net, _od(), algorithm="algb", gap=1e-10, vdf="conical")
    assert result.converged
    costs = result.cost_s
    route_a = (
        costs[(net.tail == 0) & (net.head == 1)][0] + costs[(net.tail == 1) & (net.head == 3)][0]
    )
    route_b = (
        costs[(net.tail == 0) & (net.head == 2)][0] + costs[(net.tail == 2) & (net.head == 3)][0]
    )
    assert route_a == pytest.approx(route_b, rel=1e-8)  # Wardrop: used routes cost the same


def test_summary_link_table_and_convergence_plot(tmp_path):
    result = assign(_two_routes(), _od(), algorithm="bfw", gap=1e-8)
    assert result.summary().startswith("bfw: converged after")
    table = result.link_table()
    assert list(table.columns) == [
        "edge",
        "from_node",
        "to_node",
        "flow",
        "preload",
        "time_s",
        "cost_s",
        "voc",
        "way",
        "name",
        "highway",
        "length_m",
        "lanes",
        "capacity_vph",
        "free_flow_time_s",
    ]
    assert table["way"].isna().all()  # a network built from arrays has no OSM ways
    assert table["flow"].sum() == pytest.approx(2 * 2500.0)
    path = tmp_path / "gap.png"
    result.plot_convergence(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gap.png"]
