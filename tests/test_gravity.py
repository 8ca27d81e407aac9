"""Trip generation and the doubly-constrained gravity model.

References: closed forms (no deterrence: T = O D / total; a symmetric 2 x 2 case:
T11 = 2 / (1 + q), q = f12 / f11, and the beta giving a chosen mean cost), an
independent solve of the balancing equations with ``scipy.optimize.root``, and random
cases for the balancing and calibration tolerances (row/column sums to 1e-9 relative,
mean cost to 1e-6 min).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import root

from transitopt import ConvergenceWarning, DemandError
from transitopt.demand import ODMatrix
from transitopt.demand.gravity import (
    deterrence_matrix,
    furness,
    generate_trips,
    gravity_model,
    intrazonal_cost,
)


def random_case(z: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    xy = rng.random((z, 2)) * 10.0
    cost = 3.0 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) + 1.0
    o = rng.random(z) * 100.0
    d = rng.random(z)
    return o, d * o.sum() / d.sum(), cost


def test_no_deterrence_gives_the_product_of_margins():
    o = np.array([10.0, 20.0, 30.0])
    d = np.array([15.0, 25.0, 20.0])
    cost = np.array([[1.0, 5.0, 9.0], [5.0, 1.0, 4.0], [9.0, 4.0, 1.0]])
    result = gravity_model(o, d, cost, beta=0.0)
    np.testing.assert_allclose(result.od.matrix, np.outer(o, d) / 60.0, rtol=1e-12)


@pytest.mark.parametrize("beta", [0.05, 0.1, 0.3])
def test_symmetric_two_by_two_closed_form(beta):
    cost = np.array([[0.0, 10.0], [10.0, 0.0]])
    result = gravity_model([2.0, 2.0], [2.0, 2.0], cost, beta=beta, zones=[7, 9])
    x = 2.0 / (1.0 + math.exp(-10.0 * beta))
    np.testing.assert_allclose(result.od.matrix, [[x, 2 - x], [2 - x, x]], rtol=1e-9)
    assert result.mean_cost_min == pytest.approx(5.0 * (2.0 - x), rel=1e-9)
    assert isinstance(result.od, ODMatrix) and result.od.zones.tolist() == [7, 9]


def test_calibrated_two_by_two_closed_form():
    # mean cost 3 min <=> off-diagonal trips 0.6 <=> exp(-10 beta) = 2 / 1.4 - 1
    cost = np.array([[0.0, 10.0], [10.0, 0.0]])
    result = gravity_model([2.0, 2.0], [2.0, 2.0], cost, target_mean_cost_min=3.0)
    assert result.beta == pytest.approx(-math.log(2.0 / 1.4 - 1.0) / 10.0, rel=1e-9)
    assert result.mean_cost_min == pytest.approx(3.0, abs=1e-9)
    assert len(result.calibration) > 2


def test_power_two_by_two_closed_form():
    cost = np.array([[1.0, 10.0], [10.0, 1.0]])
    result = gravity_model([2.0, 2.0], [2.0, 2.0], cost, deterrence="power", beta=1.5)
    x = 2.0 / (1.0 + 10.0**-1.5)
    np.testing.assert_allclose(result.od.matrix[0], [x, 2 - x], rtol=1e-9)


def test_three_by_three_against_an_independent_solve():
    o = np.array([10.0, 20.0, 30.0])
    d = np.array([15.0, 25.0, 20.0])
    cost = np.array([[2.0, 5.0, 9.0], [6.0, 1.0, 4.0], [8.0, 3.0, 2.0]])
    beta = 0.25
    f = np.exp(-beta * cost)

    def equations(v):  # log a (3), log b1, log b2 (b0 = 1)
        a = np.exp(v[:3])
        b = np.exp(np.concatenate([[0.0], v[3:]]))
        t = a[:, None] * f * b[None, :]
        return np.concatenate([t.sum(axis=1) - o, (t.sum(axis=0) - d)[1:]])

    sol = root(equations, np.zeros(5), tol=1e-14)
    assert sol.success
    a = np.exp(sol.x[:3])
    b = np.exp(np.concatenate([[0.0], sol.x[3:]]))
    ref = a[:, None] * f * b[None, :]
    result = gravity_model(o, d, cost, beta=beta)
    np.testing.assert_allclose(result.od.matrix, ref, rtol=1e-9)


@pytest.mark.parametrize("deterrence", ["exponential", "power"])
def test_balancing_and_calibration_tolerances(deterrence):
    o, d, cost = random_case()
    result = gravity_model(o, d, cost, deterrence=deterrence, target_mean_cost_min=12.0)
    t = result.od.matrix
    np.testing.assert_allclose(t.sum(axis=1), o, rtol=1e-9)
    np.testing.assert_allclose(t.sum(axis=0), d, rtol=1e-9)
    assert result.balance_error < 1e-9
    assert result.mean_cost_min == pytest.approx(12.0, abs=1e-6)
    # the mean cost falls as beta grows (what calibration relies on)
    means = [
        gravity_model(o, d, cost, deterrence=deterrence, beta=b).mean_cost_min
        for b in (0.0, 0.05, 0.2, 0.8)
    ]
    assert np.all(np.diff(means) < 0)


def test_seed_spanning_huge_magnitudes_still_balances():
    # row and column factors of the seed cancel in the balanced matrix
    o, d, cost = random_case(z=12, seed=2)
    rng = np.random.default_rng(9)
    s, t = rng.uniform(-300, 300, 12), rng.uniform(-300, 300, 12)
    seed = np.exp(s[:, None] + t[None, :] - 0.1 * cost)
    trips, err, _ = furness(o, d, seed)
    ref = gravity_model(o, d, cost, beta=0.1).od.matrix
    np.testing.assert_allclose(trips, ref, rtol=1e-8)
    assert err < 1e-9


def test_huge_beta_fails_loudly_not_silently():
    o, d, cost = random_case(z=20, seed=2)
    with pytest.warns(ConvergenceWarning):  # near a transport-problem corner: slow, reported
        result = gravity_model(o, d, cost * 100.0, beta=5.0, max_iterations=200)
    assert np.isfinite(result.od.matrix).all()


def test_unreachable_pairs_get_no_trips():
    o, d, cost = random_case(z=10, seed=3)
    cost[0, 5] = cost[5, 0] = np.inf
    result = gravity_model(o, d, cost, beta=0.1)
    assert result.od.matrix[0, 5] == 0.0 and result.od.matrix[5, 0] == 0.0
    np.testing.assert_allclose(result.od.matrix.sum(axis=0), d, rtol=1e-9)
    assert deterrence_matrix(np.array([[np.inf, 1.0]]), beta=0.0)[0, 0] == 0.0


def test_bad_inputs():
    o, d, cost = random_case(z=5)
    with pytest.raises(DemandError, match="equal totals"):
        gravity_model(o, d * 2, cost)
    with pytest.raises(DemandError, match="square"):
        gravity_model(o, d, cost[:, :4])
    with pytest.raises(DemandError, match="productions of zone 3"):
        gravity_model(np.where(np.arange(5) == 2, -1.0, o), d, cost, zones=[1, 2, 3, 4, 5])
    blocked = cost.copy()
    blocked[1, :] = np.inf
    with pytest.raises(DemandError, match="zone 2 produces trips but reaches no zone"):
        gravity_model(o, d, blocked)
    with pytest.raises(DemandError, match="above the .* of beta = 0"):
        gravity_model(o, d, cost, target_mean_cost_min=1000.0)
    with pytest.raises(DemandError, match="NaN|expected >= 0"):
        gravity_model(o, d, np.where(cost > 5, np.nan, cost))


def test_generate_trips_by_rates():
    ends = generate_trips([1, 2, 3], [100.0, 0.0, 300.0], [50.0, 150.0, 0.0], production_rate=0.5)
    np.testing.assert_allclose(ends.productions, [50.0, 0.0, 150.0])
    np.testing.assert_allclose(ends.attractions, [50.0, 150.0, 0.0])  # scaled to 200 trips
    with pytest.raises(DemandError, match="no zone has jobs"):
        generate_trips([1], [10.0], [0.0])
    with pytest.raises(DemandError, match="population of zone 2"):
        generate_trips([1, 2], [10.0, np.nan], [1.0, 1.0])


def test_intrazonal_cost_and_furness():
    cost = np.array([[0.0, 4.0, 6.0], [4.0, 0.0, 10.0], [6.0, 10.0, 0.0]])
    np.testing.assert_allclose(np.diag(intrazonal_cost(cost)), [2.0, 2.0, 3.0])
    trips, err, it = furness(np.array([1.0, 2.0]), np.array([2.0, 1.0]), np.ones((2, 2)))
    np.testing.assert_allclose(trips, [[2 / 3, 1 / 3], [4 / 3, 2 / 3]], rtol=1e-12)
    assert err < 1e-12 and it >= 1


def test_surabaya_end_to_end(require_data):
    """OSM buildings -> zones -> trip ends -> free-flow car skim -> calibrated gravity model."""
    from transitopt.demand.landuse import read_landuse, zone_totals
    from transitopt.network import load_network
    from transitopt.skims import zone_skim
    from transitopt.zones import attach_zones, grid_zones

    path = require_data("osm/Surabaya-Sukolilo.osm")
    net = load_network(path, network_type="drive", profile="indonesia")
    zones = attach_zones(net, grid_zones(net, cell_size_m=500.0, shape="hexagon", geometry=True))
    land = zone_totals(zones, read_landuse(path).points(), columns=["population", "jobs"])
    ends = generate_trips(zones["zone"], land["population"], land["jobs"])
    skim = zone_skim(net, zones)
    cost = intrazonal_cost(skim.matrix / 60.0)
    result = gravity_model(
        ends.productions, ends.attractions, cost, zones=ends.zones, target_mean_cost_min=1.0
    )
    assert result.od.n_zones == len(zones)
    assert result.od.total() == pytest.approx(ends.productions.sum(), rel=1e-9)
    np.testing.assert_allclose(result.od.matrix.sum(axis=1), ends.productions, rtol=1e-6)
    np.testing.assert_allclose(result.od.matrix.sum(axis=0), ends.attractions, rtol=1e-6)
    assert result.mean_cost_min == pytest.approx(1.0, abs=1e-6)  # 1.19 min without deterrence
