"""Kept shortest-path trees: a road equilibrium starts from the car skim's search.

A search pass (a skim, or a loading with its zone costs) can keep each origin's tree;
a later all-or-nothing loading at the same link costs pushes its demand down them
without searching (:meth:`KeptTrees.start_flow`). Checked against a plain all-or-nothing
loading (``kernels.assignment.aon_load``, itself checked against scipy in
``test_assign_aon.py``) to 1e-9 veh/h: continuous random costs give unique shortest
paths, so only the order of summation differs (~1e-13 relative); against the loader
that searches the same core graph without pruning, bit for bit (the same trees, the
same order of additions).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _street_grid import street_grid

from transitopt.assignment import UserEquilibrium, _aon, _hierarchy
from transitopt.assignment._aon import CompressedAON
from transitopt.assignment._problem import build_problem
from transitopt.demand.od import ODMatrix
from transitopt.kernels.assignment import aon_load
from transitopt.kernels.vdf import costs_into
from transitopt.network import Network, load_network

#: flows on kept trees vs a plain search: the same paths summed in another order
TOL_VEH = 1e-9


def _fresh(monkeypatch) -> None:
    """Trees kept on these small graphs too, and fresh caches."""
    monkeypatch.setattr(_aon, "KEEP_TREES_WORK", 0.0)
    monkeypatch.setattr(_aon, "_SEARCHES", {})
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    monkeypatch.setattr(_hierarchy, "_HIERARCHIES", {})


@pytest.fixture(autouse=True)
def _keep_all(monkeypatch):
    _fresh(monkeypatch)


def _grid(seed: int, side: int = 14, n_zones: int = 6) -> Network:
    """A street grid (no chains to contract) with ``n_zones`` centroids attached."""
    rng = np.random.default_rng(seed)
    tail, head, centroid = street_grid(side, n_zones, rng)
    return Network.from_edges(
        tail, head, n_nodes=centroid.size, centroid=centroid,
        free_flow_time_s=rng.uniform(5.0, 20.0, tail.size), crs=None,
    )  # fmt: skip


def _tntp(require_data) -> Network:
    from transitopt.network.tntp import read_tntp_network

    folder = require_data("tntp/Berlin-Mitte-Center")
    return read_tntp_network(folder / "berlin-mitte-center_net.tntp")


def _osm(require_data) -> Network:
    return load_network(
        require_data("osm/monaco-250101.osm.pbf"), network_type="drive", cache=False
    )


def _case(net: Network, seed: int, zones_idx: np.ndarray, share: float):
    """A problem on ``net`` (a few links closed) and continuous random link costs."""
    rng = np.random.default_rng(seed)
    closed = rng.random(net.n_edges) < 0.03
    matrix = rng.uniform(0.5, 10.0, (zones_idx.size,) * 2) * (
        rng.random((zones_idx.size,) * 2) < share
    )
    np.fill_diagonal(matrix, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pairs cut off by the closed links
        problem = build_problem(
            net, ODMatrix(zones=net.node_id[zones_idx], matrix=matrix), closed=closed
        )
    cost = net.free_flow_time_s * rng.uniform(1.0, 2.0, net.n_edges) + rng.uniform(
        0.0, 1.0, net.n_edges
    )
    cost[problem.closed] = np.inf
    return problem, cost


def _plain(net: Network, problem, cost: np.ndarray) -> np.ndarray:
    return aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid,
        problem.origin_nodes, problem.dest_nodes, problem.demand, True,
    )[0]  # fmt: skip


@pytest.mark.parametrize("where", ["grid", "tntp", pytest.param("osm", marks=pytest.mark.slow)])
@pytest.mark.parametrize("max_added", [0, 32])
def test_a_loading_on_kept_trees_equals_a_fresh_one(where, max_added, require_data, monkeypatch):
    monkeypatch.setattr(_aon, "MIN_ELIMINATION_NODES", 0)
    if where == "grid":
        net = _grid(1)
        zones_idx = np.arange(6)
    elif where == "tntp":
        net = _tntp(require_data)
        zones_idx = np.flatnonzero(net.centroid)
    else:
        net = _osm(require_data)
        zones_idx = np.random.default_rng(4).choice(net.n_nodes, 40, replace=False)
    problem, cost = _case(net, 5, zones_idx, share=0.6)
    assert problem.demand.sum() > 0
    ref = _plain(net, problem, cost)
    usable = ~problem.closed
    # a skim's trees (every zone a destination), as the model's car skim keeps them
    car_core = CompressedAON(
        net.indptr, net.head, usable, net.centroid, zones_idx, zones_idx,
        np.zeros((zones_idx.size,) * 2), max_added,
    )  # fmt: skip
    skim, trees = car_core.skim_keeping(cost)
    assert trees is not None and trees.tree.dtype == np.int32
    assert trees.tree.shape == (zones_idx.size, car_core.n_core)
    np.testing.assert_array_equal(skim, car_core.skim(cost))  # keeping changes nothing
    flow = trees.start_flow(problem)
    assert flow is not None
    np.testing.assert_allclose(flow, ref, rtol=0, atol=TOL_VEH)
    assert np.count_nonzero(flow) > 0
    # the loader on the same core, unpruned: the same additions in the same order
    loader = CompressedAON.of_problem(problem, max_added)
    fresh, _, _ = loader.load(cost)
    if loader.args is car_core.args:  # the same zones protected: the same core graph
        np.testing.assert_array_equal(flow, fresh)
    np.testing.assert_allclose(fresh, ref, rtol=0, atol=TOL_VEH)
    # a loading's trees (its zone costs final only where there is demand), also pruned
    # and on a core eliminated further (DenseCoreAON's two cores)
    for prune in (False, True):
        loader = CompressedAON.of_problem(problem, max_added, prune=prune)
        for aon in (loader, loader.larger()):
            aon.keep_trees = True
            aon.load(cost)
            kept = aon.kept_trees
            assert kept is not None
            np.testing.assert_allclose(kept.start_flow(problem), ref, rtol=0, atol=TOL_VEH)


def test_the_dense_core_loader_keeps_its_trees_and_the_hierarchy_none(monkeypatch):
    net = _grid(2)
    problem, cost = _case(net, 6, np.arange(6), share=1.0)
    ref = _plain(net, problem, cost)
    dense = _hierarchy.DenseCoreAON(CompressedAON.of_problem(problem))
    dense.load(cost)
    assert dense.kept_trees is None  # only on request
    dense.keep_trees = True
    flow, _, _ = dense.load(cost)
    np.testing.assert_allclose(dense.kept_trees.start_flow(problem), flow, rtol=0, atol=TOL_VEH)
    np.testing.assert_allclose(flow, ref, rtol=0, atol=TOL_VEH)
    hier = _hierarchy.HierarchyAON(CompressedAON.of_problem(problem))
    hier.keep_trees = True
    hier.load(cost)
    assert hier.kept_trees is None  # its searches are not the core's: nothing kept
    # small problems keep none (the loading kernel's compilation is not won back)
    monkeypatch.setattr(_aon, "KEEP_TREES_WORK", np.inf)
    assert CompressedAON.of_problem(problem).skim_keeping(cost)[1] is None


def test_trees_that_do_not_fit_the_problem_are_not_used():
    net = _grid(3)
    zones_idx = np.arange(6)
    problem, cost = _case(net, 7, zones_idx, share=1.0)
    usable = ~problem.closed
    car_core = CompressedAON(
        net.indptr, net.head, usable, net.centroid, zones_idx, zones_idx, np.zeros((6, 6))
    )
    _, trees = car_core.skim_keeping(cost)
    assert trees is not None and trees.start_flow(problem) is not None
    # other open links
    closed = problem.closed.copy()
    closed[np.flatnonzero(~closed)[0]] = True
    other = build_problem(net, ODMatrix(zones=net.node_id[zones_idx], matrix=problem.demand),
                          closed=closed)  # fmt: skip
    assert trees.start_flow(other) is None
    # a flow-independent cost (distance): the trees are searches of link times
    priced = build_problem(
        net.replace(length_m=np.full(net.n_edges, 100.0)),
        ODMatrix(zones=net.node_id[zones_idx], matrix=problem.demand),
        closed=problem.closed, distance_factor=0.05,
    )  # fmt: skip
    assert priced.fixed[~priced.closed].max() > 0.0
    assert trees.start_flow(priced) is None
    # a loading's trees do not reach the pairs without demand in that loading
    sparse = problem.demand.copy()
    sparse[0, 1:] = 0.0
    loader = CompressedAON.of_problem(
        build_problem(
            net, ODMatrix(zones=net.node_id[zones_idx], matrix=sparse), closed=problem.closed
        )  # fmt: skip
    )
    loader.keep_trees = True
    loader.load(cost)
    assert loader.kept_trees is not None
    assert loader.kept_trees.start_flow(problem) is None  # origin 0 to the others
    # demand from a node the trees have no row for
    more = np.arange(7)
    bigger = build_problem(
        net, ODMatrix(zones=net.node_id[more], matrix=np.ones((7, 7)) - np.eye(7)),
        closed=problem.closed,
    )  # fmt: skip
    assert trees.start_flow(bigger) is None


def _equilibrium_case():
    net = _grid(4, side=16, n_zones=8)
    net = net.replace(capacity_vph=np.full(net.n_edges, 600.0))
    rng = np.random.default_rng(9)
    matrix = rng.uniform(20.0, 120.0, (8, 8))
    np.fill_diagonal(matrix, 0.0)
    return net, ODMatrix(zones=net.node_id[:8], matrix=matrix)


@pytest.mark.parametrize("algorithm", ["fw", "cfw", "bfw", "msa"])
def test_an_equilibrium_started_from_a_skims_trees(algorithm):
    net, od = _equilibrium_case()
    problem = build_problem(net, od)
    zero_flow = np.empty(net.n_edges)
    costs_into(np.zeros(net.n_edges), *problem.vdf_args, zero_flow)
    car_core = CompressedAON.of_problem(problem)
    _, at_zero = car_core.skim_keeping(zero_flow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cold = UserEquilibrium(net, od, algorithm=algorithm, gap=1e-4, max_iter=200).run()
        # (a) the trees of the costs at zero flow: the start it would search, bit for bit
        same = UserEquilibrium(
            net, od, algorithm=algorithm, gap=1e-4, max_iter=200, start_trees=at_zero,
            keep_trees=True, keep_zone_costs=True,
        ).run()  # fmt: skip
        assert same.started_from_trees and not cold.started_from_trees
        np.testing.assert_array_equal(same.flow, cold.flow)
        assert same.iterations == cold.iterations
        # (b) the trees of that equilibrium's last search: a warm start, the same
        # equilibrium within the gap
        warm = UserEquilibrium(
            net, od, algorithm=algorithm, gap=1e-4, max_iter=200, start_trees=same.kept_trees
        ).run()  # fmt: skip
    assert warm.started_from_trees
    assert warm.converged and cold.converged  # an extreme point: not always fewer iterations
    # link flows at two points within a 1e-4 gap: close, not equal
    scale = np.abs(cold.flow).max()
    assert np.abs(warm.flow - cold.flow).max() < 0.05 * scale
    tstt = lambda r: float(r.flow @ r.time_s)  # noqa: E731
    assert tstt(warm) == pytest.approx(tstt(cold), rel=1e-3)


def test_algorithm_b_and_classes_start_as_before():
    from transitopt.assignment.classes import VehicleClass

    net, od = _equilibrium_case()
    problem = build_problem(net, od)
    _, trees = CompressedAON.of_problem(problem).skim_keeping(net.free_flow_time_s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = UserEquilibrium(net, od, algorithm="algb", gap=1e-6, start_trees=trees).run()
        classes = UserEquilibrium(
            net, classes=[VehicleClass("car", od)], gap=1e-4, start_trees=trees, keep_trees=True
        ).run()
    assert not b.started_from_trees and b.kept_trees is None
    assert not classes.started_from_trees and classes.kept_trees is None


@pytest.fixture(scope="module")
def town_model():
    """The town of ``tests/test_car_skim_reuse.py``: a zone at every street node."""
    from pathlib import Path

    import pandas as pd

    from transitopt.assignment import MultimodalModel, MultimodalParameters
    from transitopt.transit import read_osm_routes

    town = Path(__file__).parent / "data" / "scenario_town.osm"
    drive = load_network(str(town), network_type="drive")
    walk = load_network(str(town), network_type="walk")
    supply, _ = read_osm_routes(town)
    zones = pd.DataFrame(
        {"zone": np.arange(1, drive.n_nodes + 1), "lon": drive.node_x, "lat": drive.node_y}
    )
    i, j = np.meshgrid(np.arange(len(zones)), np.arange(len(zones)), indexing="ij")
    return MultimodalModel(
        zones,
        200.0 + 20.0 * i + 6.0 * j,
        drive=drive,
        walk=walk,
        supply=supply,
        parameters=MultimodalParameters(value_of_time_per_h=12.0, trip_fare=0.5),
    )


def _counted_run(model, monkeypatch, trees: bool):
    """The model's run with or without starting the road from kept trees; the number of
    searches from every origin (skims and loadings) and of loadings on kept trees."""
    from dataclasses import replace

    from transitopt.assignment import multimodal

    counts = {"skims": 0, "searches": 0, "tree loadings": 0}

    def counted(kernel, key):
        def call(*args):
            counts[key] += 1
            return kernel(*args)

        return call

    monkeypatch.setattr(_aon, "skim_compressed", counted(_aon.skim_compressed, "skims"))
    monkeypatch.setattr(_aon, "aon_load_compressed", counted(_aon.aon_load_compressed, "searches"))
    monkeypatch.setattr(_aon, "load_trees", counted(_aon.load_trees, "tree loadings"))
    if not trees:
        monkeypatch.setattr(multimodal, "_road_starts_from_trees", lambda setup: False)
    model = replace(model)  # a fresh set-up
    assert model._setup is not None  # the set-up and its distance skim, not counted
    before = dict(counts)
    result = model.run()
    monkeypatch.undo()
    _fresh(monkeypatch)
    return result, {k: counts[k] - before[k] for k in counts}


def test_the_feedback_loop_saves_a_search_per_road_equilibrium(town_model, monkeypatch):
    new, count = _counted_run(town_model, monkeypatch, trees=True)
    old, count_old = _counted_run(town_model, monkeypatch, trees=False)
    n_road = int(new.convergence["road_iterations"].notna().sum())
    assert n_road >= 2
    assert count_old["tree loadings"] == 0
    assert count["tree loadings"] == n_road  # every equilibrium started on kept trees
    # one search fewer per equilibrium: each loads (iterations + 1) times after its start
    assert count["skims"] == count_old["skims"] == 1  # the first car skim; then reused
    iterations = new.convergence["road_iterations"].to_numpy()
    assert count["searches"] == int((iterations + 1).sum())
    iterations_old = old.convergence["road_iterations"].to_numpy()
    assert count_old["searches"] == int((iterations_old + 2).sum())
    # the same fixed point within the road gap (1e-4) and the feedback tolerance: the
    # warm starts end at other points of the gap's neighbourhood (measured 6.4 of up to
    # 4,053 veh/h, car times 0.8 s, mode shares 6e-7)
    assert np.abs(new.road.flow - old.road.flow).max() < 0.005 * np.abs(old.road.flow).max()
    for mode in new.modes:
        share = new.demand[mode].sum() / sum(new.demand[m].sum() for m in new.modes)
        share_old = old.demand[mode].sum() / sum(old.demand[m].sum() for m in old.modes)
        assert share == pytest.approx(share_old, abs=1e-4), mode
