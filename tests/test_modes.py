"""Motorcycles, ojek and nested logit in the multimodal model (issue #15).

Checked against hand computations: the nested logit's probabilities and logsum (closed
form, and the probabilities as the derivatives of the logsum), the ojek fare and
generalised cost, the vehicle classes of the road step (motorcycles kept off the links
barred to them, PCU on shared links), OSM permissions under the Indonesian profile, and
the scenario layer (profile defaults, edits, metrics, calibration targets).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt.assignment.mode_choice import ModeChoiceParameters, Nest, logit_choice
from transitopt.assignment.multimodal import (
    MultimodalModel,
    MultimodalParameters,
    RoadParameters,
    ojek_fare,
)
from transitopt.network import load_network
from transitopt.network.imputation import load_profile, motorcycle_barred

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"


# ---------------------------------------------------------------------------- nested logit
def _skims(**gc: float) -> dict[str, np.ndarray]:
    return {f"{m}_gc_min": np.array([[v]]) for m, v in gc.items()}


def test_nested_logit_by_hand():
    # V = beta * gc with beta = -0.1: car -2, motorcycle -1, transit -1.2 (utils); walk
    # unavailable (too far); car and motorcycle in a nest of scale 0.5
    mc = ModeChoiceParameters(
        beta_per_min=-0.1,
        max_walk_km=1.0,
        modes=("car", "motorcycle", "transit", "walk"),
        nests=(Nest("private", ("car", "motorcycle"), 0.5),),
    )
    skims = _skims(car=20.0, motorcycle=10.0, transit=12.0, walk=30.0)
    probs, logsum = logit_choice(skims, np.array([[5000.0]]), mc)
    # by hand: I = ln(e^(-2/0.5) + e^(-1/0.5)) = ln(e^-4 + e^-2) = -1.873097 (4 d.p. by
    # calculator: e^-4 = 0.018316, e^-2 = 0.135335, sum 0.153651, ln -1.873089)
    inclusive = math.log(math.exp(-4.0) + math.exp(-2.0))
    assert inclusive == pytest.approx(-1.873089, abs=2e-5)
    upper = math.exp(0.5 * inclusive) + math.exp(-1.2)  # 0.391983 + 0.301194
    assert upper == pytest.approx(0.693177, abs=1e-5)
    p_nest = math.exp(0.5 * inclusive) / upper  # 0.565488
    assert probs["motorcycle"][0, 0] == pytest.approx(p_nest * math.exp(-2.0) / 0.153651, rel=1e-5)
    assert probs["car"][0, 0] == pytest.approx(p_nest * math.exp(-4.0) / 0.153651, rel=1e-5)
    assert probs["transit"][0, 0] == pytest.approx(math.exp(-1.2) / upper, rel=1e-6)
    assert probs["walk"][0, 0] == 0.0
    assert logsum[0, 0] == pytest.approx(math.log(0.693177), abs=2e-5)  # -0.366427
    assert sum(p[0, 0] for p in probs.values()) == pytest.approx(1.0, abs=1e-12)


def test_nested_probabilities_are_the_logsum_derivatives():
    # Williams-Daly-Zachary: P_m = d logsum / d V_m; V_m = beta * gc_m, so
    # d logsum / d gc_m = beta * P_m (central differences, error O(h^2) ~ 1e-10)
    mc = ModeChoiceParameters(
        beta_per_min=-0.07,
        asc_transit=-0.3,
        asc_ojek=0.4,
        modes=("car", "motorcycle", "ojek", "transit", "walk"),
        nests=(Nest("private", ("car", "motorcycle", "ojek"), 0.35),),
    )
    gc = {"car": 31.0, "motorcycle": 24.0, "ojek": 29.0, "transit": 35.0, "walk": 40.0}
    walk_m = np.array([[2500.0]])
    probs, _ = logit_choice(_skims(**gc), walk_m, mc)
    h = 1e-4
    for mode in gc:
        up, down = dict(gc), dict(gc)
        up[mode] += h
        down[mode] -= h
        slope = (
            logit_choice(_skims(**up), walk_m, mc)[1][0, 0]
            - logit_choice(_skims(**down), walk_m, mc)[1][0, 0]
        ) / (2 * h)
        assert slope == pytest.approx(mc.beta_per_min * probs[mode][0, 0], abs=1e-8), mode


def test_scale_one_is_the_multinomial_logit():
    gc = _skims(car=20.0, motorcycle=15.0, transit=25.0, walk=50.0)
    walk_m = np.array([[3000.0]])
    modes = ("car", "motorcycle", "transit", "walk")
    plain = logit_choice(gc, walk_m, ModeChoiceParameters(modes=modes))
    nested = logit_choice(
        gc,
        walk_m,
        ModeChoiceParameters(modes=modes, nests=(Nest("n", ("car", "motorcycle"), 1.0),)),
    )
    for mode in plain[0]:
        assert nested[0][mode][0, 0] == pytest.approx(plain[0][mode][0, 0], rel=1e-12)
    assert nested[1][0, 0] == pytest.approx(plain[1][0, 0], rel=1e-12)


def test_bad_nests_are_refused():
    with pytest.raises(ValueError, match="scale must be in"):
        Nest("n", ("car", "motorcycle"), 1.5)
    with pytest.raises(ValueError, match="unknown modes"):
        Nest("n", ("car", "bicycle"), 0.5)
    with pytest.raises(ValueError, match="at most one nest"):
        ModeChoiceParameters(
            nests=(Nest("a", ("car", "motorcycle"), 0.5), Nest("b", ("motorcycle", "ojek"), 0.5))
        )


# ---------------------------------------------------------------------------- skims
def test_ojek_fare_and_generalised_cost_by_hand():
    params = MultimodalParameters(
        value_of_time_per_h=12000.0,
        ojek_fare_per_km=2000.0,
        ojek_flag_fall=1000.0,
        ojek_min_fare=10000.0,
        ojek_wait_min=4.0,
        wait_weight=1.5,
        car_speed_kph=20.0,
        car_detour_factor=1.0,
        mode_choice=ModeChoiceParameters(modes=("car", "ojek", "walk")),
    )
    # fare = max(10,000, 1,000 + 2,000 km): 2 km -> 10,000 (minimum), 6 km -> 13,000
    assert ojek_fare(np.array([2.0, 6.0]), params).tolist() == [10000.0, 13000.0]
    # two zones 6 km apart on the equator (no street network: straight line at 20 km/h)
    lon = 6000.0 / 6_371_008.8 * 180.0 / math.pi
    zones = pd.DataFrame({"zone": [1, 2], "lon": [0.0, lon], "lat": [0.0, 0.0]})
    model = MultimodalModel(zones, np.array([[0.0, 100.0], [100.0, 0.0]]), parameters=params)
    result = model.run()
    # ride 6 km at 20 km/h = 18 min; gc = 18 + 1.5 x 4 wait + 13,000 / (12,000 / 60) = 89 min
    assert result.skims["ojek_time_s"][0, 1] == pytest.approx(60.0 * (18.0 + 4.0), rel=1e-4)
    assert result.skims["ojek_gc_min"][0, 1] == pytest.approx(18.0 + 6.0 + 65.0, rel=1e-4)
    assert set(result.demand) == {"car", "ojek", "transit", "walk"}
    assert result.modes == ("car", "ojek", "transit", "walk")
    assert "share_ojek" in result.history[-1]


# ---------------------------------------------------------------------------- road step
@pytest.fixture(scope="module")
def town():
    drive = load_network(str(TOWN), network_type="drive")
    zones = pd.DataFrame({"zone": [1, 2], "lon": drive.node_x[[0, 2]], "lat": drive.node_y[[0, 2]]})
    return drive, zones


def _links(drive, *ways: int) -> np.ndarray:
    osmid = drive.edges["osmid"].to_numpy(object)
    return np.array([any(w in np.atleast_1d(o) for w in ways) for o in osmid])


def test_motorcycles_keep_off_barred_links_and_share_pcu(town):
    """Zones at nodes 1 and 3 (South Street, way 101); motorcycles barred from way 101 must
    go round (1-4-5-6-3 or via North Street); cars keep it."""
    drive, zones = town
    barred = _links(drive, 101)
    edges = drive.edges.copy()
    edges["motorcycle_barred"] = barred
    net = drive.replace(edges=edges)
    params = MultimodalParameters(
        road=RoadParameters(algorithm="bfw", gap=1e-6, max_iter=2000),
        mode_choice=ModeChoiceParameters(modes=("car", "motorcycle")),
        motorcycle_pcu=0.25,
    )
    demand = np.array([[0.0, 1200.0], [0.0, 0.0]])
    result = MultimodalModel(zones, demand, drive=net, parameters=params).run()
    road = result.road
    moto = road.class_flow["motorcycle"]
    assert moto.sum() > 0 and moto[barred].max() == 0.0
    assert road.class_flow["car"][barred].sum() > 0
    # PCU on every link: cars + 0.25 x motorcycles (vehicles = persons / occupancy)
    np.testing.assert_allclose(road.flow, road.class_flow["car"] + 0.25 * moto, atol=1e-9)
    car_persons = result.demand["car"][0, 1]
    moto_persons = result.demand["motorcycle"][0, 1]
    out_of_origin = drive.tail == 0
    assert road.class_flow["car"][out_of_origin].sum() == pytest.approx(
        car_persons / params.car_occupancy, rel=1e-9
    )
    assert moto[out_of_origin].sum() == pytest.approx(
        moto_persons / params.motorcycle_occupancy, rel=1e-9
    )
    # the motorcycle skim goes round: longer than the car's straight run on South Street
    assert result.skims["motorcycle_time_s"][0, 1] - 60.0 * params.motorcycle_terminal_min > (
        result.skims["car_time_s"][0, 1] - 60.0 * params.car_terminal_min
    )


def test_car_only_model_is_unchanged_by_motorcycle_columns(town):
    """Links barred to motorcycles change nothing while motorcycles are not modelled."""
    drive, zones = town
    edges = drive.edges.copy()
    edges["motorcycle_barred"] = _links(drive, 101)
    demand = np.array([[0.0, 900.0], [300.0, 0.0]])
    a = MultimodalModel(zones, demand, drive=drive).run()
    b = MultimodalModel(zones, demand, drive=drive.replace(edges=edges)).run()
    assert set(a.demand) == {"car", "transit", "walk"}
    for m in a.demand:
        np.testing.assert_array_equal(a.demand[m], b.demand[m])
    np.testing.assert_array_equal(a.road.flow, b.road.flow)
    assert not a.road.class_flow


# ---------------------------------------------------------------------------- OSM permissions
def test_motorcycle_permissions_from_osm_tags(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSITOPT_CACHE", str(tmp_path / "cache"))
    text = TOWN.read_text(encoding="utf-8")

    def tag(way: int, extra: str) -> None:
        nonlocal text
        text = re.sub(
            rf'(<way id="{way}" version="1">.*?)(\s*</way>)',
            lambda m: m.group(1) + extra + m.group(2),
            text,
            count=1,
            flags=re.S,
        )

    tag(101, '<tag k="toll" v="yes"/>')  # a toll road: barred in Indonesia
    tag(102, '<tag k="motorcycle" v="no"/>')  # barred everywhere
    tag(103, '<tag k="toll" v="yes"/><tag k="motorcycle" v="yes"/>')  # toll with a motorcycle lane
    path = tmp_path / "tolled.osm"
    path.write_text(text, encoding="utf-8")
    generic = load_network(str(path), network_type="drive", profile="generic")
    indonesia = load_network(str(path), network_type="drive", profile="indonesia")
    for net, expected in ((generic, {102}), (indonesia, {101, 102})):
        barred = net.edges["motorcycle_barred"].to_numpy(bool)
        ways = {int(w) for w in net.edges["osmid"][barred]}
        assert ways == expected, net.info["profile"]
    profile = load_profile("indonesia")
    assert motorcycle_barred({"highway": "motorway"}, profile)
    assert motorcycle_barred({"highway": "motorway_link"}, profile)
    assert not motorcycle_barred({"highway": "motorway"}, load_profile("generic"))
    assert not motorcycle_barred({"highway": "trunk", "motorcycle": "designated"}, profile)


def test_plausible_car_share_counts_motorcycles():
    """The car range of the plausibility checks (journeys to work by private motor vehicle,
    10-90 %) applies to car + motorcycle + ojek where motorcycles are modes."""
    from transitopt.scenario.plausibility import _mode_shares

    shares = pd.DataFrame(
        {"mode": ["car", "motorcycle", "ojek", "transit", "walk"],
         "share": [0.05, 0.55, 0.05, 0.10, 0.25]}
    )  # fmt: skip
    assert not [w for w in _mode_shares(shares) if w.ids == ("car",)]
    shares["share"] = [0.02, 0.03, 0.01, 0.44, 0.50]
    (warning,) = [w for w in _mode_shares(shares) if w.ids == ("car",)]
    assert "car + motorcycle + ojek share 6.0% is below" in warning.message
