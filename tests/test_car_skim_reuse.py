"""The road equilibrium's last all-or-nothing search as the next car skim.

The link-based solvers stop right after a loading at the flows they return, so that
loading searched the final link costs: its zone-to-zone costs are the car skim at the
equilibrium link times wherever the skim's costs are the loading's (no toll or distance
cost, the same open links) and every zone pair was settled. Checked against
``scipy.sparse.csgraph.dijkstra`` (the loaders) and against a fresh skim of the same
link times (the model), to 1e-9 s: both sum the same link costs along the same shortest
paths, in another order (the compressed graphs' derived edges), so they agree to
rounding, ~1e-12 relative.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from transitopt.assignment import (
    MultimodalModel,
    MultimodalParameters,
    UserEquilibrium,
    _aon,
    _hierarchy,
)
from transitopt.assignment._aon import CompressedAON
from transitopt.assignment._problem import build_problem
from transitopt.assignment.multimodal import _car_skim_of_road, _road, vehicle_demand
from transitopt.demand.od import ODMatrix
from transitopt.kernels.assignment import prune_core
from transitopt.network import Network, load_network
from transitopt.transit import read_osm_routes

TOWN = Path(__file__).parent / "data" / "scenario_town.osm"

#: reused and fresh skims sum the same links in another order (derived edges): rounding
TOL_S = 1e-9


def _random_network(seed: int, n: int = 120, m: int = 600, n_centroids: int = 10):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    centroid = np.zeros(n, dtype=bool)
    centroid[:n_centroids] = True
    net = Network.from_edges(
        tail[keep],
        head[keep],
        n_nodes=n,
        centroid=centroid,
        free_flow_time_s=rng.uniform(1, 100, int(keep.sum())),
        crs=None,
    )
    return net, rng


def _scipy_costs(net: Network, cost: np.ndarray, origins, dests) -> np.ndarray:
    """Shortest costs by scipy, not passing through centroids other than the origin."""
    n = net.n_nodes
    out = np.empty((len(origins), len(dests)))
    for i, o in enumerate(origins):
        usable = ~(net.centroid[net.tail] & (net.tail != o)) & np.isfinite(cost)
        order = np.lexsort((cost[usable], net.head[usable], net.tail[usable]))
        idx = np.flatnonzero(usable)[order]
        pair = net.tail[idx] * n + net.head[idx]
        best = idx[np.r_[True, pair[1:] != pair[:-1]]]  # cheapest of parallel links
        graph = sp.csr_matrix((cost[best], (net.tail[best], net.head[best])), shape=(n, n))
        out[i] = dijkstra(graph, indices=o)[dests]
    return out


@pytest.mark.parametrize("kind", ["compressed", "hierarchy", "dense core"])
def test_loaders_keep_the_zone_costs_of_their_searches(kind, monkeypatch):
    net, rng = _random_network(3)
    zones = net.node_id[:10]
    matrix = rng.uniform(1.0, 5.0, (10, 10))
    matrix[rng.random((10, 10)) < 0.2] = 0.0  # pairs without demand
    np.fill_diagonal(matrix, 0.0)
    matrix[4] = 0.0
    matrix[4, 4] = 3.0  # an origin with demand to its own node only: not searched
    problem = build_problem(net, ODMatrix(zones=zones, matrix=matrix))
    monkeypatch.setattr(_aon, "_SEARCHES", {})
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    monkeypatch.setattr(_hierarchy, "_HIERARCHIES", {})
    if kind == "compressed":
        loader = CompressedAON.of_problem(problem)
    elif kind == "hierarchy":
        loader = _hierarchy.HierarchyAON(CompressedAON.of_problem(problem))
    else:
        loader = _hierarchy.DenseCoreAON(CompressedAON.of_problem(problem))
    cost = net.free_flow_time_s.copy()
    flow, sptt, _ = loader.load(cost)
    assert loader.zone_cost_s is None  # kept only on request
    loader.keep_zone_costs = True
    flow2, sptt2, _ = loader.load(cost)
    np.testing.assert_array_equal(flow2, flow)  # keeping them changes nothing else
    assert sptt2 == sptt
    got = loader.zone_cost_s
    assert got is not None and got.shape == problem.demand.shape
    ref = _scipy_costs(net, cost, problem.origin_nodes, problem.dest_nodes)
    has_demand = problem.demand > 0.0
    np.testing.assert_allclose(got[has_demand], ref[has_demand], rtol=0, atol=TOL_S)
    searched = problem.demand.sum(axis=1) > 0
    assert not searched.all()  # the origin without demand is kept, as a row of NaN
    assert np.isnan(got[~searched]).all()
    if kind == "hierarchy":  # its searches reach every destination
        np.testing.assert_allclose(got[searched], ref[searched], rtol=0, atol=TOL_S)
    else:  # pairs without demand are NaN: the search may stop before them
        assert np.isnan(got[~has_demand]).all()
    # the next loading's costs replace them
    loader.load(2.0 * cost)
    np.testing.assert_allclose(
        loader.zone_cost_s[has_demand], 2.0 * ref[has_demand], rtol=1e-12, atol=TOL_S
    )


@pytest.mark.parametrize("algorithm", ["fw", "bfw", "msa"])
def test_the_equilibrium_keeps_the_skim_of_its_final_link_costs(algorithm):
    net, rng = _random_network(5, n=150, m=900)
    zones = net.node_id[:10]
    matrix = rng.uniform(50.0, 400.0, (10, 10))
    np.fill_diagonal(matrix, 0.0)
    net = net.replace(capacity_vph=np.full(net.n_edges, 300.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = UserEquilibrium(
            net,
            ODMatrix(zones=zones, matrix=matrix),
            algorithm=algorithm,
            gap=1e-4,
            max_iter=15,
            keep_zone_costs=True,
        ).run()
        plain = UserEquilibrium(
            net, ODMatrix(zones=zones, matrix=matrix), algorithm=algorithm, gap=1e-4, max_iter=15
        ).run()
    assert plain.zone_cost_s is None
    np.testing.assert_array_equal(plain.flow, result.flow)  # the same run
    kept = result.zone_cost_s
    assert kept is not None
    problem = build_problem(net, ODMatrix(zones=zones, matrix=matrix))
    ref = _scipy_costs(net, np.asarray(result.cost_s), problem.origin_nodes, problem.dest_nodes)
    np.testing.assert_allclose(kept.to_numpy(), ref, rtol=0, atol=TOL_S)
    assert list(kept.index) == list(problem.origin_zones)
    # the final flows are congested: the skim is not the free-flow one
    free = _scipy_costs(net, net.free_flow_time_s, problem.origin_nodes, problem.dest_nodes)
    assert np.abs(kept.to_numpy() - free).max() > 1.0


@pytest.fixture(scope="module")
def town_model():
    """The town of ``tests/test_multimodal.py``: a zone at every street node, dense demand."""
    drive = load_network(str(TOWN), network_type="drive")
    walk = load_network(str(TOWN), network_type="walk")
    supply, _ = read_osm_routes(TOWN)
    zones = pd.DataFrame(
        {"zone": np.arange(1, drive.n_nodes + 1), "lon": drive.node_x, "lat": drive.node_y}
    )
    i, j = np.meshgrid(np.arange(len(zones)), np.arange(len(zones)), indexing="ij")
    demand = 100.0 + 10.0 * i + 3.0 * j  # trips/h, 100-200 per pair
    return MultimodalModel(
        zones,
        demand,
        drive=drive,
        walk=walk,
        supply=supply,
        parameters=MultimodalParameters(value_of_time_per_h=12.0, trip_fare=0.5),
    )


def _car_demand(model: MultimodalModel) -> dict[str, np.ndarray]:
    return {"car": 0.4 * np.asarray(model.demand, dtype=float)}


def test_the_model_reuses_the_road_skim_where_it_is_the_car_skim(town_model):
    setup = town_model._setup
    drive = town_model.drive
    road, link_time, _ = _road(setup, drive, _car_demand(town_model))
    reused = _car_skim_of_road(setup, road)
    assert reused is not None
    fresh = setup.car_core.skim(link_time)
    np.testing.assert_allclose(reused, fresh, rtol=0, atol=TOL_S)
    assert np.abs(fresh - setup.car_core.skim(setup.free_time_s)).max() > 0.0  # congested
    # the whole run: the final car skim is the one of the final link times
    result = town_model.run()
    params = town_model.parameters
    ix = np.ix_(setup.inv, setup.inv)
    car_s = (
        setup.car_core.skim(result.link_time_s)[ix]
        + setup.car_access_s[:, None]
        + setup.car_access_s[None, :]
        + 60.0 * params.car_terminal_min
    )
    np.fill_diagonal(car_s, 0.0)
    np.testing.assert_allclose(result.skims["car_time_s"], car_s, rtol=0, atol=TOL_S)


def test_a_fresh_skim_where_the_road_searches_are_not_the_car_skim(town_model):
    setup = town_model._setup
    drive = town_model.drive
    demand = _car_demand(town_model)
    road, _, _ = _road(setup, drive, demand)
    assert _car_skim_of_road(setup, road) is not None
    # a pair without car demand: its search need not have settled it
    sparse = {"car": demand["car"].copy()}
    sparse["car"][0, -1] = 0.0
    road_sparse, _, _ = _road(setup, drive, sparse)
    if setup.inv[0] != setup.inv[-1]:
        assert _car_skim_of_road(setup, road_sparse) is None
    # Algorithm B has no final all-or-nothing search
    params = town_model.parameters
    model_b = replace(
        town_model, parameters=replace(params, road=replace(params.road, algorithm="algb"))
    )
    road_b, _, _ = _road(model_b._setup, drive, demand)
    assert road_b.zone_cost_s is None and _car_skim_of_road(model_b._setup, road_b) is None
    # costs other than the link times (a distance cost) or other open links
    matrix = np.zeros((setup.nodes.size, setup.nodes.size))
    veh = vehicle_demand(demand, town_model.parameters)["car"]
    np.add.at(matrix, (setup.inv[:, None], setup.inv[None, :]), veh)
    np.fill_diagonal(matrix, 0.0)
    od = ODMatrix(zones=drive.node_id[setup.nodes], matrix=matrix)
    closed = setup.closed | setup.closed_car
    for options in (
        {"distance_factor": 0.05},
        {"closed": closed | (np.arange(drive.n_edges) == 0)},
    ):
        other = UserEquilibrium(
            drive,
            od,
            preload=setup.preload,
            keep_zone_costs=True,
            **{"closed": closed, **options},
        ).run()
        assert other.zone_cost_s is not None
        assert _car_skim_of_road(setup, other) is None, options


@pytest.mark.parametrize("seed", [7, 8])
def test_skims_on_the_pruned_core_are_the_same(seed, monkeypatch):
    # large skims search the core without its redundant edges: distances unchanged
    net, rng = _random_network(seed, n=200, m=1200, n_centroids=20)
    cost = net.free_flow_time_s.copy()
    cost[rng.choice(net.n_edges, 30, replace=False)] = np.inf
    cost[net.head == 19] = np.inf  # zone 19 cannot be reached
    zones = np.arange(20)
    monkeypatch.setattr(_aon, "_SEARCHES", {})
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    monkeypatch.setattr(_aon, "MIN_ELIMINATION_NODES", 0)
    aon = CompressedAON(
        net.indptr, net.head, np.isfinite(cost), net.centroid, zones, zones, np.zeros((20, 20))
    )
    monkeypatch.setattr(_aon, "PRUNE_SKIM_WORK", np.inf)
    plain = aon.skim(cost)
    monkeypatch.setattr(_aon, "PRUNE_SKIM_WORK", 0.0)
    pruned = aon.skim(cost)
    ref = _scipy_costs(net, cost, zones, zones)
    assert np.isinf(ref).any() and np.isfinite(ref).any()
    # the graph has redundant edges to drop (a shorter path of two or more edges)
    kept = prune_core(net.indptr, net.head.astype(np.int64), cost, net.centroid)[1].size
    assert kept < np.isfinite(cost).sum()
    np.testing.assert_array_equal(np.isinf(pruned), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(pruned[finite], ref[finite], rtol=0, atol=TOL_S)
    np.testing.assert_allclose(pruned[finite], plain[finite], rtol=0, atol=TOL_S)
