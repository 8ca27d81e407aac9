"""External zones (gateways) of a clipped network: where they are, their names, and the
through and external-internal trips of the capacity rule (transitopt.demand.external)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt._errors import ConvergenceWarning, DemandError
from transitopt.assignment import UserEquilibrium
from transitopt.assignment.classes import VehicleClass
from transitopt.demand import ODMatrix
from transitopt.demand.external import (
    ExternalRule,
    external_demand,
    external_rule,
    find_gateways,
    read_bounds,
)
from transitopt.network import Network

#: the declared bounds of the hand case (degrees: west, south, east, north)
BOUNDS = (-0.0005, -0.0005, 0.0025, 0.0025)


def _corridor_grid() -> Network:
    """A 3 x 3 grid of residential streets 0.001 degrees apart (nodes 0..8, node = 3 row +
    column), whose middle row is "Main Road" (primary) running on past the bounds to two
    dead ends: node 9 in the west, node 10 in the east. Node 11 is a residential dead end
    outside the bounds and node 12 a tertiary dead end inside them: neither is a gateway."""
    x = [0.0, 0.001, 0.002] * 3 + [-0.001, 0.003, 0.001, 0.0015]
    y = [0.0] * 3 + [0.001] * 3 + [0.002] * 3 + [0.001, 0.001, 0.003, 0.0005]
    pairs, kinds, names = [], [], []
    for r in range(3):
        for c in range(3):
            v = 3 * r + c
            for w in ([v + 1] if c < 2 else []) + ([v + 3] if r < 2 else []):
                main = r == 1 and w == v + 1
                pairs.append((v, w))
                kinds.append("primary" if main else "residential")
                names.append("Main Road" if main else None)
    pairs += [(9, 3), (5, 10), (7, 11), (1, 12)]
    kinds += ["primary", "primary", "residential", "tertiary"]
    names += ["Main Road", "Main Road", None, "Side Street"]
    tail = [a for a, b in pairs] + [b for a, b in pairs]
    head = [b for a, b in pairs] + [a for a, b in pairs]
    kind = kinds * 2
    capacity = [1000.0 if k == "primary" else 500.0 for k in kind]
    edges = pd.DataFrame({"highway": kind, "name": names * 2, "oneway": False})
    return Network.from_edges(
        tail,
        head,
        n_nodes=13,
        node_x=np.array(x),
        node_y=np.array(y),
        node_id=np.arange(100, 113),
        edges=edges,
        capacity_vph=np.array(capacity),
        free_flow_time_s=np.full(len(tail), 10.0),
        length_m=np.full(len(tail), 110.0),
    )


def _rule(**change: object) -> ExternalRule:
    values: dict[str, object] = {
        "utilisation": 0.5,
        "through_share": 0.4,
        "vehicle_shares": {"car": 0.5, "motorcycle": 0.5},
        "pce": {"car": 1.0, "motorcycle": 0.25},
        "min_through_km": 0.3,
        "decay_per_km": 0.0,
    }
    values.update(change)
    return ExternalRule(**values)  # type: ignore[arg-type]


def test_gateways_are_major_dead_ends_outside_the_bounds():
    gates = find_gateways(_corridor_grid(), bounds=BOUNDS)
    assert list(gates["gateway"]) == ["Main Road (east)", "Main Road (west)"]
    assert list(gates["node_id"]) == [110, 109]
    # one two-way primary link of 1000 PCU/h each way at each gateway
    assert list(gates["capacity_in_pcu"]) == [1000.0, 1000.0]
    assert list(gates["capacity_out_pcu"]) == [1000.0, 1000.0]
    # without bounds: dead ends within boundary_m of the bounding box (the tertiary dead
    # end 0.0005 degrees, 55 m, from the south edge counts then; the residential one not)
    near = find_gateways(_corridor_grid(), boundary_m=60.0)
    assert list(near["gateway"]) == [
        "Main Road (east)",
        "Main Road (west)",
        "Side Street (south-east)",
    ]


def test_capacity_rule_by_hand():
    """In: 0.5 x 1000 PCU/h = 500 PCU/h per gateway, at 0.5 x 1 + 0.5 x 0.25 = 0.625 PCU
    per vehicle 800 veh/h: 400 cars and 400 motorcycles. Through (40 %): 160 of each
    class from west to east and 160 from east to west (the only pair, 0.44 km apart). The
    other 240 go to the zones in proportion to their jobs (1 : 3, no decay): 60 and 180;
    leaving, 240 from the zones in proportion to residents (3 : 1): 180 and 60."""
    zones = pd.DataFrame(
        {"lon": [0.0, 0.002], "lat": [0.0, 0.002], "population": [3.0, 1.0], "jobs": [1.0, 3.0]}
    )
    ext = external_demand(_corridor_grid(), zones, _rule(), bounds=BOUNDS)
    east, west = 0, 1
    for c in ("car", "motorcycle"):
        assert ext.gateways[f"in_{c}"].tolist() == pytest.approx([400.0, 400.0])
        np.testing.assert_allclose(ext.through[c], [[0.0, 160.0], [160.0, 0.0]])
        np.testing.assert_allclose(ext.inbound[c][west], [60.0, 180.0])
        np.testing.assert_allclose(ext.outbound[c][:, east], [180.0, 60.0])
    assert ext.totals()["through_car"] == pytest.approx(320.0)
    # gateways closer than min_through_km send no through traffic: all of it to the zones
    near = external_demand(_corridor_grid(), zones, _rule(min_through_km=1.0), bounds=BOUNDS)
    assert near.through["car"].sum() == 0.0
    np.testing.assert_allclose(near.inbound["car"][west], [100.0, 300.0])


def test_vehicle_od_adds_gateway_nodes_and_folds_missing_classes():
    zones = pd.DataFrame({"lon": [0.0, 0.002], "lat": [0.0, 0.002], "population": 1.0, "jobs": 1.0})
    ext = external_demand(_corridor_grid(), zones, _rule(), bounds=BOUNDS)
    nodes, od = ext.vehicle_od(np.array([100, 108]), np.array([100, 108]), ["car", "motorcycle"])
    assert list(nodes) == [100, 108, 110, 109]
    assert od["car"][3, 2] == pytest.approx(160.0)  # west -> east through
    # 320 through + 480 in + 480 out (800 vehicles in and 800 out, a through trip is both)
    assert od["car"].sum() == pytest.approx(1280.0)
    # a car-only model takes the motorcycles as cars at their PCE: 400 + 0.25 x 400 per gateway
    _, cars = ext.vehicle_od(np.array([100, 108]), np.array([100, 108]), ["car"])
    assert cars["car"].sum() == pytest.approx(1280.0 * 1.25)


def test_assigned_flows_at_the_gateways_equal_the_cordon_volumes():
    """A gateway is a dead end: every vehicle entering the area uses its one link in, every
    vehicle leaving its link out; in PCU on the corridor's first link inwards: 500."""
    net = _corridor_grid()
    zones = pd.DataFrame({"lon": [0.0, 0.002], "lat": [0.0, 0.002], "population": 1.0, "jobs": 1.0})
    ext = external_demand(net, zones, _rule(), bounds=BOUNDS)
    nodes, od = ext.vehicle_od(np.array([100, 108]), np.array([100, 108]), ["car", "motorcycle"])
    classes = [
        VehicleClass(c, ODMatrix(zones=nodes, matrix=od[c]), pce=p)
        for c, p in (("car", 1.0), ("motorcycle", 0.25))
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = UserEquilibrium(net, classes=classes, gap=1e-6, max_iter=200).run()
    into_west = np.flatnonzero((net.tail == 9) & (net.head == 3))[0]
    out_east = np.flatnonzero((net.tail == 5) & (net.head == 10))[0]
    for c in ("car", "motorcycle"):
        assert result.class_flow[c][into_west] == pytest.approx(400.0, rel=1e-9)
        assert result.class_flow[c][out_east] == pytest.approx(400.0, rel=1e-9)
    assert result.flow[into_west] == pytest.approx(500.0, rel=1e-9)


def test_counts_replace_the_rule_where_given(tmp_path):
    zones = pd.DataFrame({"lon": [0.0], "lat": [0.0], "population": 1.0, "jobs": 1.0})
    counts = tmp_path / "cordon.csv"
    counts.write_text("from_node,to_node,count,class\n109,103,900,motorcycle\n109,103,300,car\n")
    ext = external_demand(_corridor_grid(), zones, _rule(), bounds=BOUNDS, counts=counts)
    gates = ext.gateways.set_index("gateway")
    assert gates.loc["Main Road (west)", "in_motorcycle"] == 900.0
    assert gates.loc["Main Road (west)", "in_car"] == 300.0
    assert gates.loc["Main Road (west)", "source"] == "counts"
    # the other direction and the other gateway keep the capacity rule
    assert gates.loc["Main Road (west)", "out_car"] == pytest.approx(400.0)
    assert gates.loc["Main Road (east)", "in_car"] == pytest.approx(400.0)


def test_bad_rules_and_no_gateway_are_named():
    with pytest.raises(ValueError, match="vehicle_shares"):
        _rule(vehicle_shares={"car": 0.5, "motorcycle": 0.2})
    with pytest.raises(ValueError, match="through_share"):
        _rule(through_share=1.5)
    with pytest.raises(ValueError, match="unknown key"):
        external_rule("indonesia", cordon=0.5)
    zones = pd.DataFrame({"lon": [0.0], "lat": [0.0], "population": 1.0, "jobs": 1.0})
    with pytest.raises(DemandError, match="no gateway"):
        external_demand(_corridor_grid(), zones, _rule(road_classes=("trunk",)), bounds=BOUNDS)


def test_profile_rule_and_bounds(tmp_path):
    rule = external_rule("indonesia", pce={"car": 1.0, "motorcycle": 0.25})
    assert rule.vehicle_shares == {"car": 0.25, "motorcycle": 0.75}
    assert rule.pcu_per_vehicle == pytest.approx(0.25 + 0.75 * 0.25)
    assert external_rule("generic").vehicle_shares == {"car": 1.0, "motorcycle": 0.0}
    osm = tmp_path / "x.osm"
    osm.write_text(
        '<osm>\n <bounds minlat="-7.3" minlon="112.7" maxlat="-7.2" maxlon="112.8"/>\n</osm>'
    )
    assert read_bounds(osm) == (112.7, -7.3, 112.8, -7.2)
    assert read_bounds(tmp_path / "missing.osm") is None


def test_a_class_barred_at_a_gateway_enters_by_the_nearest_open_one():
    """Motorcycles barred from Main Road's western end: their 240 inbound and 240 outbound
    vehicles/h there move to the eastern gateway, the nearest one joined to the zone; the
    160 + 160 through trips between the two gateways, no longer joined inside the area,
    are dropped (they go round outside it). Cars are unchanged."""
    net = _corridor_grid()
    zones = pd.DataFrame({"lon": [0.0], "lat": [0.0], "population": 1.0, "jobs": 1.0})
    ext = external_demand(net, zones, _rule(), bounds=BOUNDS)
    west_links = (net.tail == 9) | (net.head == 9)
    moved = ext.routable(net, {"motorcycle": ~west_links}, np.array([100]))
    east, west = 0, 1
    assert moved.inbound["motorcycle"][west].sum() == 0.0
    assert moved.inbound["motorcycle"][east].sum() == pytest.approx(480.0)
    assert moved.outbound["motorcycle"][:, east].sum() == pytest.approx(480.0)
    assert moved.through["motorcycle"].sum() == 0.0
    np.testing.assert_array_equal(moved.through["car"], ext.through["car"])
    np.testing.assert_array_equal(moved.inbound["car"], ext.inbound["car"])


# ------------------------------------------------------------------ Surabaya (shared data)
@pytest.fixture(scope="module")
def surabaya_model(require_data):
    """The Surabaya baseline's model (with its gateways) and its final mode demand."""
    from transitopt.scenario import load_scenario
    from transitopt.scenario.edits import apply_edits
    from transitopt.scenario.evaluate import build_model
    from transitopt.scenario.inputs import load_base

    require_data("osm/Surabaya-Sukolilo.osm")
    scenario = load_scenario(
        Path(__file__).resolve().parents[1] / "scenarios" / "surabaya_base.toml"
    )
    model = build_model(apply_edits(scenario, load_base(scenario)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = model.run()
    return model, result


@pytest.mark.slow
def test_surabaya_gateways_and_cordon_flows(surabaya_model):
    """The extract's gateways are named by their roads, and at equilibrium each carries
    its cordon volume (a gateway is a dead end: all its traffic uses its links)."""
    model, result = surabaya_model
    gates = model.external.gateways
    assert len(gates) == 14
    for road in ("Jalan Arif Rahman Hakim (east)", "Dr Ir H Soekarno (south)"):
        assert road in set(gates["gateway"])
    assert not gates["gateway"].str.contains(r"\d{6,}").any()  # names, not OSM ids
    drive = model.drive
    index = {int(v): i for i, v in enumerate(drive.node_id)}
    flows = result.road.class_flow
    zone_nodes = set(model._setup.nodes.tolist())
    checked = 0
    for row in gates.itertuples():
        v = index[row.node_id]
        if v in zone_nodes:  # a zone's own trips start there too
            continue
        checked += 1
        into, out_of = drive.tail == v, drive.head == v
        for c in ("car", "motorcycle"):
            # rel 1e-6: the assignment loads whole OD pairs; the only error is rounding
            assert flows[c][into].sum() == pytest.approx(getattr(row, f"in_{c}"), rel=1e-6)
            assert flows[c][out_of].sum() == pytest.approx(getattr(row, f"out_{c}"), rel=1e-6)
    assert checked >= 8  # 6 of the 14 gateways are also the node of a zone at the edge


@pytest.mark.slow
def test_surabaya_diagonalisation_converges(surabaya_model):
    """Diagonalisation (MKJI PCE by road type: asymmetric) on the Surabaya baseline with
    its external traffic: bfw and Algorithm B inside reach a relative gap of 1e-5 within
    12 outer rounds (8 on the run of benchmarks/bench_diagonalisation.py) and the same
    link PCU to 1 % of the largest (the two differ by 0.6 % at 1e-5: flat BPR segments
    leave flows loosely pinned)."""
    from dataclasses import replace

    from transitopt.assignment.multimodal import _road

    model, result = surabaya_model
    flows = {}
    for algorithm in ("bfw", "algb"):
        road = replace(model.parameters.road, algorithm=algorithm, gap=1e-5, max_iter=12)
        m = replace(model, parameters=replace(model.parameters, road=road))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            assignment, _, _ = _road(m._setup, m._setup.drive, result.demand)
        history = assignment.history
        assert (history["direction"] == "diagonal").all()
        assert history["relative_gap"].iloc[-1] <= 1e-5
        assert history["inner_iterations"].is_monotonic_increasing
        flows[algorithm] = assignment.flow
    assert np.max(np.abs(flows["bfw"] - flows["algb"])) <= 0.01 * np.max(flows["bfw"])


def _town_with_external(tmp_path: Path, town_osm: Path, external: str) -> Path:
    path = tmp_path / "town.toml"
    path.write_text(
        f'[scenario]\nname = "Town"\n\n[network]\nsource = "{town_osm.as_posix()}"\n\n'
        '[zones]\ngrid_cell_m = 300\nweights = "uniform"\n\n'
        "[demand.synthesis]\ntrips_per_hour = 1000\n\n"
        f"[demand.external]\n{external}"
    )
    return path


@pytest.mark.slow
def test_scenario_external_zones_on_the_town(tmp_path, town_osm):
    """``[demand.external]`` in a baseline: the profile's values become part of the spec
    (so of the result's key), the gateways (the town's four residential spurs, named by
    their streets) are loaded, and the result's summary carries them."""
    from transitopt.scenario import evaluate, load_scenario

    path = _town_with_external(tmp_path, town_osm, 'road_classes = ["residential"]\n')
    scenario = load_scenario(path)
    spec = scenario.baseline.demand.external
    assert spec is not None and spec.utilisation == 0.6 and spec.through_share == 0.3
    result = evaluate(path)
    external = result.summary["external"]
    assert external["enabled"] and len(external["gateways"]) == 4
    assert {g["gateway"].split(" (")[0] for g in external["gateways"]} == {
        "Spur 11",
        "Spur 13",
        "Spur 17",
        "Spur 19",
    }
    assert any(note.startswith("external traffic: 4 gateways") for note in result.summary["notes"])
    # the car vehicle-km include the external cars (none of them is a person trip)
    inside = _town_with_external(
        tmp_path, town_osm, 'road_classes = ["residential"]\nutilisation = 0.0\n'
    )
    assert result["car_veh_km"] > evaluate(inside)["car_veh_km"]


def test_scenario_external_errors_name_the_field(tmp_path, town_osm):
    from transitopt.scenario import ScenarioError, load_scenario
    from transitopt.scenario.inputs import load_base

    with pytest.raises(ScenarioError, match="demand.external"):
        load_scenario(_town_with_external(tmp_path, town_osm, "cordon = 0.5\n"))
    none = _town_with_external(tmp_path, town_osm, 'road_classes = ["trunk"]\n')
    with pytest.raises(ScenarioError, match=r"demand\.external.*no gateway"):
        load_base(load_scenario(none))
