"""Metric functions against values computed by hand (reference: the arithmetic in each test).

Tolerances are 1e-12 relative unless stated: every value here is a short sum.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from transitopt import metrics as M
from transitopt.metrics.operator import route_fleet


def _links() -> pd.DataFrame:
    # L1: 1 km, 2 lanes, 2000 veh/h, t0 60 s, t 90 s, 1000 cars + 200 PCU of buses -> v/c 0.6
    # L2: 0.5 km, 1 lane, 1000 veh/h, t0 30 s, t 45 s, 950 cars + 100 PCU -> v/c 1.05
    # L3: closed (ignored in every total)
    return pd.DataFrame(
        {
            "length_m": [1000.0, 500.0, 800.0],
            "lanes": [2.0, 1.0, 3.0],
            "capacity_vph": [2000.0, 1000.0, 3000.0],
            "free_flow_time_s": [60.0, 30.0, 40.0],
            "time_s": [90.0, 45.0, np.nan],
            "flow": [1000.0, 950.0, 0.0],
            "preload": [200.0, 100.0, 0.0],
            "bus_vph": [100.0, 50.0, 0.0],
            "closed": [False, False, True],
        }
    )


def test_road_summary_by_hand():
    s = M.road_summary(_links())
    assert s["car_veh_km"] == pytest.approx(1000 * 1.0 + 950 * 0.5)  # 1475
    assert s["car_veh_h"] == pytest.approx((1000 * 90 + 950 * 45) / 3600)  # 36.875
    assert s["car_delay_veh_h"] == pytest.approx((1000 * 30 + 950 * 15) / 3600)
    assert s["car_avg_speed_kph"] == pytest.approx(1475 / 36.875)  # 40 km/h
    assert s["bus_veh_km"] == pytest.approx(100 * 1.0 + 50 * 0.5)
    assert s["lane_km"] == pytest.approx(2 * 1.0 + 1 * 0.5)
    assert s["lane_km_voc_over_0_9"] == pytest.approx(0.5)
    assert s["lane_km_voc_over_1_0"] == pytest.approx(0.5)
    assert s["max_voc"] == pytest.approx(1.05)


def test_voc_distribution_by_hand():
    d = M.voc_distribution(_links()).set_index("voc_class")
    assert list(d.index) == ["0-0.5", "0.5-0.7", "0.7-0.9", "0.9-1", ">=1"]
    assert d["links"].tolist() == [0, 1, 0, 0, 1]
    assert d.loc["0.5-0.7", "share_lane_km"] == pytest.approx(2.0 / 2.5)
    assert d.loc[">=1", "share_lane_km"] == pytest.approx(0.5 / 2.5)
    assert d.loc[">=1", "car_veh_km"] == pytest.approx(475.0)


def _segments() -> pd.DataFrame:
    # line A: 100 board at stop 0, 70 alight and 20 board at stop 1, 50 alight at stop 2
    # line B: one segment, 30 passengers
    return pd.DataFrame(
        {
            "line": ["A", "A", "B"],
            "seq": [0, 1, 0],
            "length_m": [1000.0, 2000.0, 3000.0],
            "run_time_s": [120.0, 240.0, 300.0],
            "load": [100.0, 50.0, 30.0],
            "boardings": [100.0, 20.0, 30.0],
            "capacity_per_hour": [600.0, 600.0, 20.0],
        }
    )


def test_line_summary_by_hand():
    t = M.line_summary(_segments()).set_index("line")
    assert t.loc["A", "boardings"] == pytest.approx(120.0)
    assert t.loc["A", "passenger_km"] == pytest.approx(100 * 1.0 + 50 * 2.0)
    assert t.loc["A", "passenger_h"] == pytest.approx((100 * 120 + 50 * 240) / 3600)
    assert t.loc["A", "peak_load"] == pytest.approx(100.0)
    assert t.loc["A", "max_load_ratio"] == pytest.approx(100 / 600)
    assert t.loc["B", "max_load_ratio"] == pytest.approx(1.5)


def test_transit_summary_by_hand():
    lines = M.line_summary(_segments())
    od = pd.DataFrame(
        {
            "transit": [60.0, 40.0, 0.0],
            "transit_wait_s": [120.0, 300.0, np.nan],  # a pair without trips (or path) is ignored
            "transit_boardings": [1.0, 2.0, np.nan],
            "transit_time_s": [600.0, 1200.0, np.nan],
        }
    )
    s = M.transit_summary(lines, od)
    assert s["trips"] == pytest.approx(100.0)
    assert s["boardings"] == pytest.approx(150.0)
    assert s["avg_wait_min"] == pytest.approx((60 * 120 + 40 * 300) / 100 / 60)  # 3.2 min
    assert s["avg_time_min"] == pytest.approx((60 * 600 + 40 * 1200) / 100 / 60)  # 14 min
    assert s["transfers_per_trip"] == pytest.approx(0.4)
    assert s["lines_over_capacity"] == 1
    assert s["max_load_ratio"] == pytest.approx(1.5)


def test_cumulative_opportunities_by_hand():
    t = np.array([[0.0, 240.0, 900.0], [300.0, 0.0, np.inf], [600.0, 601.0, 0.0]])
    jobs = np.array([10.0, 20.0, 30.0])
    a = M.cumulative_opportunities(t, jobs, cutoffs_min=(5, 10))
    # within 5 min: zone 0 reaches 0, 1 (240 s); zone 1 reaches 0 (300 s), 1; zone 2 only itself
    # within 10 min: zone 0 adds nothing (900 s); zone 2 adds zone 0 (600 s), not zone 1 (601 s)
    np.testing.assert_allclose(a, [[30, 30], [30, 30], [30, 40]])
    assert M.population_weighted_mean(a, np.array([1.0, 1.0, 2.0])) == pytest.approx([30.0, 35.0])


def test_gini_by_hand():
    assert M.gini([5, 5, 5, 5]) == pytest.approx(0.0, abs=1e-15)
    # one of four people holds everything: (n - 1) / n
    assert M.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    # weights: values [1, 3] with populations [3, 1] = people 1, 1, 1, 3; mean 1.5;
    # sum over ordered pairs |xi - xj| = 3 * 1 * 2 (both orders) * 2 = 12; G = 12 / (2 * 16 * 1.5)
    assert M.gini([1, 3], [3, 1]) == pytest.approx(0.25)
    # permutation invariant, scale invariant
    assert M.gini([3, 1], [1, 3]) == pytest.approx(0.25)
    assert M.gini([10, 30], [3, 1]) == pytest.approx(0.25)


def test_palma_by_hand():
    # ten equal zones with values 1..10: top 10 % hold 10/55, bottom 40 % hold 1+2+3+4 = 10/55
    assert M.palma(np.arange(1, 11)) == pytest.approx(1.0)
    # nine zones with 1 and one with 11: top 11/20, bottom 4/20
    assert M.palma([1] * 9 + [11]) == pytest.approx(2.75)
    # a zone split by the cut points: 2 zones of 5 people, values 1 and 3; bottom 40 % = 4 people
    # with 1 each = 4/20; top 10 % = 1 person with 3 = 3/20 -> 0.75
    assert M.palma([1, 3], [5, 5]) == pytest.approx(0.75)
    assert M.lorenz_share([1, 3], [5, 5], 0.5) == pytest.approx(0.25)


def test_gains_losses_by_hand():
    g = M.gains_losses([1, 2, 3], [2, 2, 1], [10, 20, 30])
    assert g == {
        "zones_gain": 1,
        "zones_lose": 1,
        "zones_same": 1,
        "population_gain": 10.0,
        "population_lose": 30.0,
    }


def test_operations_and_fleet_by_hand():
    lines = pd.DataFrame(
        {
            "line": ["R:0", "R:1", "S", "L"],
            "route_key": ["R", "R", "S", "L"],
            "mode": ["bus", "bus", "bus", "tram"],
            "one_way_time_s": [1500.0, 1500.0, 1200.0, 1800.0],
            "length_km": [10.0, 10.0, 8.0, 12.0],
            "headway_s": [600.0, 600.0, 600.0, 300.0],
            "loop": [False, False, False, True],
        }
    )
    ops = M.line_operations(lines, layover_share=0.1).set_index("line")
    # out-and-back route R: cycle 2 x 1500 x 1.1 = 3300 s, 600 s headway -> 5.5 vehicles -> fleet 6
    assert ops.loc["R:0", "cycle_s"] == pytest.approx(1650.0)
    assert ops.loc["R:0", "vehicles"] + ops.loc["R:1", "vehicles"] == pytest.approx(5.5)
    # lone direction S runs back too: 2 x 1200 x 1.1 = 2640 s -> 4.4 -> 5; 2 x 8 km x 6/h = 96 veh-km/h
    assert ops.loc["S", "directions_operated"] == 2
    assert ops.loc["S", "vehicles"] == pytest.approx(4.4)
    assert ops.loc["S", "veh_km"] == pytest.approx(96.0)
    # loop L: 1800 x 1.1 = 1980 s every 300 s -> 6.6 -> 7; 12 km x 12/h = 144 veh-km/h
    assert ops.loc["L", "vehicles"] == pytest.approx(6.6)
    assert ops.loc["L", "veh_km"] == pytest.approx(144.0)
    fleet = route_fleet(ops.reset_index()).set_index("route_key")["fleet"]
    assert fleet.to_dict() == {"R": 6, "S": 5, "L": 7}
    total = M.operator_summary(ops.reset_index())
    assert total["fleet"] == 18
    assert total["veh_km"] == pytest.approx(2 * 60.0 + 96.0 + 144.0)
    assert total["veh_h"] == pytest.approx(5.5 + 4.4 + 6.6)


def test_co2_by_hand():
    # IPCC 2006 default factors: gasoline 69,300 kg/TJ x 44.3 TJ/Gg x 0.745 kg/L; diesel 74,100 x 43.0 x 0.84
    gasoline = 69_300 * 44.3e-6 * 0.745
    diesel = 74_100 * 43.0e-6 * 0.84
    assert gasoline == pytest.approx(2.287, abs=5e-4)
    assert diesel == pytest.approx(2.676, abs=5e-4)
    out = M.co2_kg_per_hour(1000.0, {"bus": 100.0, "tram": 50.0})
    assert out["car_kg"] == pytest.approx(1000 * 0.075 * gasoline)
    assert out["transit_kg_bus"] == pytest.approx(100 * 0.40 * diesel)
    assert out["transit_kg_tram"] == 0.0  # electric, grid factor 0 by default
    assert out["total_kg"] == pytest.approx(out["car_kg"] + out["transit_kg"])
    green = M.EmissionFactors(grid_kg_per_kwh=0.1)
    assert M.co2_kg_per_hour(0.0, {"tram": 50.0}, factors=green)["transit_kg"] == pytest.approx(
        50 * 4.0 * 0.1
    )
    with pytest.raises(KeyError, match="no emission factor"):
        M.co2_kg_per_hour(0.0, {"zeppelin": 1.0})


def test_mode_shares_by_hand():
    t = M.mode_shares({"car": 30.0, "transit": 20.0, "walk": 50.0}).set_index("mode")
    assert t["share"].to_dict() == {"car": 0.3, "transit": 0.2, "walk": 0.5}
    assert math.isclose(M.mode_shares({"car": 0.0})["share"].iloc[0], 0.0)
