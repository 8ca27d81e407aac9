"""Multi-class road equilibrium: a hand-solvable case and bad input.

AequilibraE comparisons on TNTP networks are in tests/test_assign_multiclass_aeq.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from transitopt.assignment import UserEquilibrium, VehicleClass, assign
from transitopt.demand import ODMatrix
from transitopt.network import Network


def _two_routes():
    """Zones 1 and 4; route A 1-2-4 (short, small capacity), route B 1-3-4 (long, big
    capacity) with a toll of 1 unit on 1-3 (inputs in the order 1-2, 2-4, 1-3, 3-4)."""
    return Network.from_edges(
        np.array([0, 1, 0, 2]),
        np.array([1, 3, 2, 3]),
        n_nodes=4,
        node_id=np.array([1, 2, 3, 4]),
        crs=None,
        free_flow_time_s=np.array([300.0, 300.0, 500.0, 500.0]),
        capacity_vph=np.array([1000.0, 1000.0, 3000.0, 3000.0]),
        toll=np.array([0.0, 0.0, 1.0, 0.0]),
    )


def _od(trips):
    return ODMatrix(zones=np.array([1, 4]), matrix=np.array([[0.0, trips], [0.0, 0.0]]))


def _bpr(v, t0, c):
    return t0 * (1 + 0.15 * (v / c) ** 4)


def _link(net, a, b):
    return np.flatnonzero((net.tail == a) & (net.head == b))[0]


def _three_classes(net):
    on_a = np.zeros(net.n_edges, dtype=bool)
    on_a[[_link(net, 0, 1), _link(net, 1, 3)]] = True
    return [
        VehicleClass("car", _od(2000.0), pce=1.0, toll_factor=60.0),
        # motorcycles barred from the tolled route B, trucks from route A
        VehicleClass("motorcycle", _od(1000.0), pce=0.5, toll_factor=0.0, closed=~on_a),
        VehicleClass("truck", _od(200.0), pce=2.5, toll_factor=120.0, closed=on_a),
    ]


def _expected_car_split():
    """Cars on route A where their costs are equal: motorcycles (500 PCU) all on A,
    trucks (500 PCU) all on B, cars pay 60 s of toll on B (scipy brentq)."""

    def diff(x):
        return 2 * _bpr(x + 500.0, 300.0, 1000.0) - (
            2 * _bpr(2000.0 - x + 500.0, 500.0, 3000.0) + 60
        )

    return optimize.brentq(diff, 0.0, 2000.0, xtol=1e-12)


@pytest.mark.parametrize("algorithm", ["fw", "cfw", "bfw", "algb"])
def test_three_classes_on_two_routes_match_the_hand_solution(algorithm):
    net = _two_routes()
    result = assign(net, classes=_three_classes(net), algorithm=algorithm, gap=1e-12, max_iter=5000)
    assert result.converged
    car_a = _expected_car_split()
    a, b = _link(net, 0, 1), _link(net, 0, 2)
    # the analytic split is exact; 1e-4 veh/h is the float accuracy at gap 1e-12
    assert result.class_flow["car"][a] == pytest.approx(car_a, abs=1e-4)
    assert result.class_flow["car"][b] == pytest.approx(2000.0 - car_a, abs=1e-4)
    assert result.class_flow["motorcycle"][a] == pytest.approx(1000.0)
    assert result.class_flow["motorcycle"][b] == 0.0
    assert result.class_flow["truck"][b] == pytest.approx(200.0)
    assert result.class_flow["truck"][a] == 0.0
    # total flow in PCU; link times at the PCU total
    assert result.flow[a] == pytest.approx(car_a + 500.0, abs=1e-4)
    assert result.time_s[a] == pytest.approx(_bpr(car_a + 500.0, 300.0, 1000.0), rel=1e-9)
    # class costs: the toll weighted by each class's factor; closed links cost inf
    assert result.class_cost_s["truck"][b] == pytest.approx(result.time_s[b] + 120.0)
    assert np.isinf(result.class_cost_s["truck"][a]) and np.isinf(
        result.class_cost_s["motorcycle"][b]
    )
    # the objective: Beckmann integral of the PCU total plus the PCU-weighted tolls
    t_a = 2 * (300.0 * (car_a + 500) + 0.15 * 300.0 * 1000.0 / 5 * ((car_a + 500) / 1000.0) ** 5)
    v_b = 2000.0 - car_a + 500.0
    t_b = 2 * (500.0 * v_b + 0.15 * 500.0 * 3000.0 / 5 * (v_b / 3000.0) ** 5)
    tolls = 60.0 * (2000.0 - car_a) + 120.0 * 500.0
    assert result.objective == pytest.approx(t_a + t_b + tolls, rel=1e-9)


@pytest.mark.parametrize("algorithm", ["bfw", "algb"])
def test_one_class_equals_the_single_class_run(algorithm):
    net = _two_routes()
    single = assign(net, _od(2500.0), algorithm=algorithm, gap=1e-10, toll_factor=60.0)
    classes = assign(
        net,
        classes=[VehicleClass("car", _od(2500.0), toll_factor=60.0)],
        algorithm=algorithm,
        gap=1e-10,
    )
    np.testing.assert_allclose(classes.flow, single.flow, atol=1e-6)
    np.testing.assert_allclose(classes.class_flow["car"], single.flow, atol=1e-6)
    assert classes.objective == pytest.approx(single.objective, rel=1e-10)


def test_class_without_a_permitted_path_is_reported():
    net = _two_routes()
    everything = np.ones(net.n_edges, dtype=bool)
    with pytest.warns(UserWarning, match="7 trips between 1 OD pairs and classes"):
        result = assign(
            net,
            classes=[
                VehicleClass("car", _od(100.0)),
                VehicleClass("bicycle", _od(7.0), closed=everything),
            ],
            gap=1e-8,
        )
    assert result.unassigned[["vehicle_class", "trips"]].values.tolist() == [["bicycle", 7.0]]
    assert result.class_flow["bicycle"].sum() == 0.0


def test_bad_class_inputs():
    net = _two_routes()
    with pytest.raises(ValueError, match="pce must be one number per class"):
        VehicleClass("truck", _od(1.0), pce=np.ones(4))
    with pytest.raises(ValueError, match="pce must be > 0"):
        VehicleClass("truck", _od(1.0), pce=0.0)
    with pytest.raises(ValueError, match="names must be unique"):
        assign(net, classes=[VehicleClass("a", _od(1.0)), VehicleClass("a", _od(1.0))])
    with pytest.raises(ValueError, match="closed has shape"):
        assign(net, classes=[VehicleClass("a", _od(1.0), closed=np.zeros(3, dtype=bool))])
    with pytest.raises(ValueError, match="either demand"):
        UserEquilibrium(net, _od(1.0), classes=[VehicleClass("a", _od(1.0))])
    with pytest.raises(ValueError, match="either demand"):
        UserEquilibrium(net)
