"""The multimodal model as a library: run from a script without any scenario file, it gives
the scenario path's numbers exactly; plain synthetic inputs; input errors; a cached scenario
result rebuilds the model's final state (the frequency optimiser's start)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transitopt import ConvergenceWarning, DemandError
from transitopt.assignment import MultimodalModel, MultimodalParameters, run_multimodal
from transitopt.assignment.multimodal import FeedbackParameters, ModelInputError
from transitopt.network import load_network
from transitopt.scenario import clear_results, evaluate, evaluate_file
from transitopt.scenario.evaluate import final_state
from transitopt.transit import read_osm_routes

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"
SCENARIO = f"""\
[scenario]
name = "Town by file"

[network]
source = "{TOWN.as_posix()}"

[zones]
file = "zones.csv"

[demand]
od_file = "od.csv"

[transit]
osm_routes = true
line_fare = 1.0
trip_fare = 0.5

[model]
value_of_time_per_h = 12.0
"""


@pytest.fixture(scope="module")
def inputs():
    """The town's networks, transit lines, a zone at every street node and an OD matrix."""
    drive = load_network(str(TOWN), network_type="drive")
    walk = load_network(str(TOWN), network_type="walk")
    supply, _ = read_osm_routes(TOWN)
    zones = pd.DataFrame(
        {
            "zone": np.arange(1, drive.n_nodes + 1, dtype=np.int64),
            "lon": drive.node_x,
            "lat": drive.node_y,
        }
    )
    z = len(zones)
    i, j = np.meshgrid(np.arange(z), np.arange(z), indexing="ij")
    demand = 100.0 + 10.0 * i + 3.0 * j  # trips/h, 100-200 per pair
    return drive, walk, supply, zones, demand


@pytest.fixture(scope="module")
def scenario_file(inputs, tmp_path_factory) -> Path:
    _, _, _, zones, demand = inputs
    folder = tmp_path_factory.mktemp("multimodal")
    table = zones.assign(population=1000.0, jobs=1000.0)
    table.to_csv(folder / "zones.csv", index=False)
    ids = zones["zone"].to_numpy()
    z = ids.size
    pd.DataFrame(
        {
            "origin": np.repeat(ids, z),
            "destination": np.tile(ids, z),
            "trips": demand.ravel(),
        }
    ).to_csv(folder / "od.csv", index=False)
    path = folder / "town.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_script_run_equals_the_scenario_path(inputs, scenario_file):
    drive, walk, supply, zones, demand = inputs
    model = MultimodalModel(
        zones,
        demand,
        drive=drive,
        walk=walk,
        supply=supply,
        line_fares={line.id: 1.0 for line in supply.lines},
        parameters=MultimodalParameters(value_of_time_per_h=12.0, trip_fare=0.5),
    )
    mine = model.run()
    theirs = evaluate(scenario_file).outcome
    assert mine.converged and theirs.converged
    for mode in ("car", "transit", "walk"):
        np.testing.assert_array_equal(mine.demand[mode], theirs.demand[mode])
    for name, skim in theirs.skims.items():
        np.testing.assert_array_equal(mine.skims[name], skim, err_msg=name)
    np.testing.assert_array_equal(mine.logsum, theirs.logsum)
    np.testing.assert_array_equal(mine.link_time_s, theirs.link_time_s)
    np.testing.assert_array_equal(mine.transit.link_volume, theirs.transit.link_volume)
    drop = ["seconds"]
    pd.testing.assert_frame_equal(
        mine.convergence.drop(columns=drop), theirs.convergence.drop(columns=drop)
    )
    assert mine.line_one_way_s == theirs.line_one_way_s


def test_walks_are_searched_only_as_far_as_walking_is_a_choice(inputs):
    """The walk matrix searches the walk network up to ``max_walk_km`` only: within it the
    full search's numbers bit for bit, beyond it ``inf`` (walking unavailable either way,
    so its logit utility is ``-inf`` and its share exactly 0); the model's answers equal
    those of a run given the full-length matrix."""
    from dataclasses import replace

    from transitopt.paths import snap_points, walk_distances

    drive, walk, supply, zones, demand = inputs
    base = MultimodalParameters()
    params = replace(base, mode_choice=replace(base.mode_choice, max_walk_km=0.4))
    model = MultimodalModel(zones, demand, drive=drive, walk=walk, supply=supply, parameters=params)
    setup = model._setup
    node, snap = snap_points(walk, setup.lon, setup.lat)
    nodes, inv = np.unique(node, return_inverse=True)
    full = walk_distances(walk, nodes)[np.ix_(inv, inv)] + snap[:, None] + snap[None, :]
    np.fill_diagonal(full, 0.0)
    assert np.isfinite(full).all()  # the town's walk network is connected
    near = full <= 400.0
    assert 0 < near.sum() < near.size
    np.testing.assert_array_equal(setup.walk_m[near], full[near])
    assert np.all(setup.walk_m[~near] > 400.0)
    bounded = model.run()
    setup.walk_m, setup.walk_time_s = full, full / params.walk_speed_mps
    reference = model.run()
    for mode in ("car", "transit", "walk"):
        np.testing.assert_array_equal(bounded.demand[mode], reference.demand[mode])
    np.testing.assert_array_equal(bounded.logsum, reference.logsum)


def test_plain_synthetic_inputs_without_networks():
    zones = pd.DataFrame({"zone": [1, 2, 3], "lon": [24.90, 24.92, 24.95], "lat": [60.17] * 3})
    demand = np.array([[5.0, 100.0, 50.0], [80.0, 0.0, 40.0], [30.0, 20.0, 0.0]])
    result = run_multimodal(zones, demand)
    served = sum(result.demand[m] for m in ("car", "transit", "walk")) + result.unserved
    np.testing.assert_allclose(served.sum() + result.intrazonal.sum(), demand.sum())
    assert result.intrazonal.tolist() == [5.0, 0.0, 0.0]
    assert result.demand["transit"].sum() == 0.0 and result.transit is None
    assert result.road is None and result.link_time_s is None
    assert result.converged and result.stop_reason == "tolerance"
    assert any("no street network" in note for note in result.notes)
    with pytest.raises(AttributeError):
        result.converged = False  # the result is immutable


def test_progress_cancels_and_warns_with_the_name():
    zones = pd.DataFrame({"zone": [1, 2], "lon": [24.90, 24.93], "lat": [60.17, 60.17]})
    model = MultimodalModel(
        zones,
        np.array([[0.0, 100.0], [100.0, 0.0]]),
        parameters=MultimodalParameters(feedback=FeedbackParameters(max_iter=5)),
        name="my run",
    )
    rows = []
    with pytest.warns(ConvergenceWarning, match="my run: the feedback loop was cancelled after 1"):
        result = model.run(lambda row: rows.append(row) or False)
    assert result.stop_reason == "cancelled" and len(rows) == 1 == len(result.history)


def test_inputs_that_do_not_fit():
    zones = pd.DataFrame({"zone": [1, 2], "lon": [24.90, 24.93], "lat": [60.17, 60.17]})
    with pytest.raises(DemandError, match=r"2 zones need \(2, 2\)"):
        MultimodalModel(zones, np.zeros((3, 3)))
    with pytest.raises(ModelInputError, match="missing \\['lat'\\]"):
        MultimodalModel(zones.drop(columns="lat"), np.zeros((2, 2)))


def test_headways_through_the_model(inputs):
    drive, walk, supply, zones, demand = inputs
    model = MultimodalModel(zones, demand, drive=drive, walk=walk, supply=supply)
    graph = model.transit_graph()
    line = supply.lines[0].id
    faster = model.transit_graph(headway_s={line: 120.0})
    changed = np.flatnonzero(faster.freq_hz != graph.freq_hz)
    assert changed.size > 0 and np.allclose(faster.freq_hz[changed], 1.0 / 120.0)
    np.testing.assert_array_equal(faster.cost_s, graph.cost_s)
    with pytest.raises(ModelInputError, match="no-such-line"):
        model.transit_graph(headway_s={"no-such-line": 60.0})


def test_a_cached_result_rebuilds_the_final_state(scenario_file, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = evaluate_file(scenario_file, cache_folder=tmp_path)
        clear_results()
        cached = evaluate_file(scenario_file, cache_folder=tmp_path)
    assert cached.outcome is None  # read back from disk
    state = final_state(cached)
    final = first.outcome.transit
    np.testing.assert_array_equal(state.transit_demand, final.demand)
    graph = state.model.transit_graph(state.link_time_s)
    np.testing.assert_array_equal(graph.cost_s, final.graph.cost_s)
    np.testing.assert_array_equal(graph.freq_hz, final.graph.freq_hz)
    assert state.model.wait_factor == final.wait_factor


def test_crowding_and_capacity_push_riders_to_other_modes(inputs):
    """Small vehicles: the capacity-constrained transit assignment lengthens waits and
    weights in-vehicle time by crowding, so the transit skims rise and transit loses share."""
    from transitopt.transit import CapacityParameters

    drive, walk, supply, zones, demand = inputs
    small = supply.replace_lines([line.replace(capacity=4.0) for line in supply.lines])

    def run(capacity):
        params = MultimodalParameters(transit_capacity=capacity)
        model = MultimodalModel(
            zones, demand, drive=drive, walk=walk, supply=small, parameters=params
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.run()

    free = run(None)
    capped = run(CapacityParameters())
    finite = np.isfinite(free.skims["transit_gc_min"])
    assert (
        capped.skims["transit_gc_min"][finite] >= free.skims["transit_gc_min"][finite] - 1e-9
    ).all()
    assert (
        capped.skims["transit_gc_min"][finite].mean() > free.skims["transit_gc_min"][finite].mean()
    )
    assert capped.demand["transit"].sum() < free.demand["transit"].sum()


def test_walk_setup_on_a_side_thread_gives_the_same_model(inputs, monkeypatch):
    """The walk searches run beside the drive set-up where numba's threading layer allows
    it; the matrices, the transit graph and the car distances are the same numbers as on
    one thread."""
    from transitopt.assignment import multimodal

    drive, walk, supply, zones, demand = inputs
    built = {}
    for side in (False, True):
        monkeypatch.setattr(multimodal, "_threads_side_by_side", lambda side=side: side)
        model = MultimodalModel(zones, demand, drive=drive, walk=walk, supply=supply)
        built[side] = model._setup
        assert built[side]._walk_pending is None  # taken by the transit set-up
    one, two = built[False], built[True]
    np.testing.assert_array_equal(one.walk_m, two.walk_m)
    np.testing.assert_array_equal(one.walk_time_s, two.walk_time_s)
    np.testing.assert_array_equal(one.car_dist_m, two.car_dist_m)
    np.testing.assert_array_equal(one.graph.cost_s, two.graph.cost_s)
    assert np.isfinite(one.walk_m).any() and (one.walk_m > 0).any()
