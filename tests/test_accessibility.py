"""Accessibility kernels and API against a scipy-skim reference, hand-computed cases,
isochrones and the choropleth writer.

Reference: ``scipy.sparse.csgraph.dijkstra`` from the origin nodes, then
``(D <= cutoff) @ opportunities`` and ``exp(-decay D) @ opportunities``. With integer
opportunity counts the cumulative sums are exact in float64 whatever the summation
order, so they must be identical; gravity sums agree to 1e-12 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from transitopt import Network
from transitopt.accessibility import (
    accessibility,
    accessibility_from_matrix,
    isochrones,
    plot_accessibility,
    population_weighted,
    transit_accessibility,
)
from transitopt.kernels import accessibility as K

CUTOFFS_S = np.array([300.0, 600.0, 900.0])
DECAY_S = np.array([0.002])


def random_graph(n: int = 300, m: int = 1500, seed: int = 0):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep], head[keep]
    net = Network.from_edges(
        tail, head, n_nodes=n, free_flow_time_s=rng.uniform(10, 200, tail.size)
    )
    return net, rng.integers(0, 6, (n, 2)).astype(np.float64)


def csr(net: Network, weight: np.ndarray, keep: np.ndarray | None = None) -> sp.csr_matrix:
    """The network as a scipy CSR matrix, parallel edges kept as separate entries
    (building it from COO triples would add them up)."""
    keep = np.ones(net.n_edges, dtype=bool) if keep is None else keep
    indptr = np.zeros(net.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(net.tail[keep], minlength=net.n_nodes), out=indptr[1:])
    return sp.csr_matrix((weight[keep], net.head[keep], indptr), shape=(net.n_nodes, net.n_nodes))


def reference(
    net: Network,
    weight: np.ndarray,
    sources: np.ndarray,
    opp: np.ndarray,
    cutoffs,
    decay,
    start=None,
):
    dist = dijkstra(csr(net, weight), indices=sources)
    if start is not None:
        dist = dist + start[:, None]
    cum = np.stack([(dist <= c).astype(np.float64) @ opp for c in cutoffs], axis=1)
    grav = np.stack([np.exp(-g * dist) @ opp for g in decay], axis=1)
    return cum, grav


def test_kernels_match_the_scipy_reference_on_random_graphs():
    net, opp = random_graph()
    w = net.free_flow_time_s
    src = np.arange(0, net.n_nodes, 7, dtype=np.int64)
    ref_cum, ref_grav = reference(net, w, src, opp, CUTOFFS_S, DECAY_S)
    start = np.zeros(src.size)
    cum, grav = K.network_sums(
        net.indptr, net.head, w, net.centroid, src, start, opp, CUTOFFS_S, DECAY_S, np.inf, np.inf
    )
    np.testing.assert_array_equal(cum, ref_cum)
    np.testing.assert_allclose(grav, ref_grav, rtol=1e-12)
    graph = csr(net, w)
    cum2, grav2 = K.matrix_sums(dijkstra(graph, indices=src), opp, CUTOFFS_S, DECAY_S, np.inf)
    np.testing.assert_array_equal(cum2, ref_cum)
    np.testing.assert_allclose(grav2, ref_grav, rtol=1e-12)
    # a bounded search (gravity within 900 s) equals the reference restricted to 900 s
    cum3, grav3 = K.network_sums(
        net.indptr, net.head, w, net.centroid, src, start, opp, CUTOFFS_S, DECAY_S, 900.0, 900.0
    )
    dist = dijkstra(graph, indices=src)
    ref_grav3 = (np.exp(-DECAY_S[0] * dist) * (dist <= 900.0)) @ opp
    np.testing.assert_array_equal(cum3, ref_cum)
    np.testing.assert_allclose(grav3[:, 0], ref_grav3, rtol=1e-12)


def test_centroids_are_not_passed_through():
    net, opp = random_graph(n=120, m=600, seed=4)
    centroid = np.zeros(net.n_nodes, dtype=bool)
    centroid[:10] = True
    w = net.free_flow_time_s
    src = np.arange(0, 20, dtype=np.int64)
    cum, _ = K.network_sums(
        net.indptr,
        net.head,
        w,
        centroid,
        src,
        np.zeros(src.size),
        opp,
        CUTOFFS_S,
        DECAY_S,
        np.inf,
        np.inf,
    )
    for r, s in enumerate(src):  # reference: out-edges of other centroids removed
        blocked = centroid[net.tail] & (net.tail != s)
        dist = dijkstra(csr(net, w, ~blocked), indices=[s])
        ref = np.stack([(dist <= c).astype(float) @ opp for c in CUTOFFS_S], axis=1)
        np.testing.assert_array_equal(cum[r], ref[0])


def test_hand_computed_path():
    # 0 -> 1 -> 2 -> 3, 5 min per edge; opportunities 1, 2, 4, 8
    net = Network.from_edges([0, 1, 2], [1, 2, 3], n_nodes=4, free_flow_time_s=[300.0, 300.0, 300.0],
                             node_x=[0.0, 1.0, 2.0, 3.0], node_y=[0.0] * 4, crs=None)  # fmt: skip
    zones = pd.DataFrame({"zone": [1, 2], "node": [0, 2]})
    table = accessibility(
        net, zones, np.array([1.0, 2.0, 4.0, 8.0]), cutoffs_min=(4, 9, 15), decay_per_min=0.1
    )
    assert table["opportunities_4min"].tolist() == [1.0, 4.0]
    assert table["opportunities_9min"].tolist() == [3.0, 12.0]
    assert table["opportunities_15min"].tolist() == [15.0, 12.0]
    assert table["opportunities_gravity"].iloc[0] == pytest.approx(
        1 + 2 * math.exp(-0.5) + 4 * math.exp(-1) + 8 * math.exp(-1.5), rel=1e-14
    )
    assert table["opportunities_gravity"].iloc[1] == pytest.approx(
        4 + 8 * math.exp(-0.5), rel=1e-14
    )
    # gravity only within 5 min
    capped = accessibility(
        net, zones, np.array([1.0, 2.0, 4.0, 8.0]), decay_per_min=0.1, gravity_max_min=5.0
    )
    assert capped["opportunities_gravity"].iloc[0] == pytest.approx(
        1 + 2 * math.exp(-0.5), rel=1e-14
    )


@pytest.fixture(scope="module")
def surabaya(require_data):
    from transitopt.demand.landuse import read_landuse
    from transitopt.network import load_network

    path = require_data("osm/Surabaya-Sukolilo.osm")
    return load_network(path, network_type="walk", profile="indonesia"), read_landuse(path)


@pytest.mark.parametrize("method", ["auto", "ch", "dijkstra", "bounded"])
def test_surabaya_walk_matches_the_scipy_skim_reference(surabaya, method):
    from transitopt.demand.landuse import node_totals
    from transitopt.zones import grid_zones

    net, land = surabaya
    zones = grid_zones(net, cell_size_m=250.0, shape="hexagon", geometry=True)
    points = land.points()
    table = accessibility(net, zones, points, columns=["pois", "shop", "population"], cutoffs_min=(5, 10, 15, 30),
                          decay_per_min=0.08, method=method)  # fmt: skip
    assert len(table) == len(zones)
    opp = node_totals(net, points, columns=["pois", "shop", "population"])
    cum, grav = reference(net, net.free_flow_time_s, table["node"].to_numpy(), opp,
                          np.array([5, 10, 15, 30]) * 60.0, [0.08 / 60.0])  # fmt: skip
    for k, name in enumerate(["pois", "shop"]):  # integer counts: identical
        for j, c in enumerate((5, 10, 15, 30)):
            np.testing.assert_array_equal(table[f"{name}_{c}min"], cum[:, j, k])
        np.testing.assert_allclose(table[f"{name}_gravity"], grav[:, 0, k], rtol=1e-12)
    np.testing.assert_allclose(table["population_30min"], cum[:, 3, 2], rtol=1e-12)
    assert table["pois_30min"].max() <= points["pois"].sum()


def test_access_walk_and_congested_weight(surabaya):
    net, land = surabaya
    zones = pd.DataFrame(
        {"zone": [1, 2, 3], "x": [112.772, 112.78, 112.785], "y": [-7.29, -7.30, -7.295]}
    )
    opp = np.ones(net.n_nodes)
    base = accessibility(net, zones, opp, cutoffs_min=(5, 10))
    slow = accessibility(net, zones, opp, cutoffs_min=(10, 20), weight=net.free_flow_time_s * 2.0)
    np.testing.assert_array_equal(base["opportunities_5min"], slow["opportunities_10min"])
    with_access = accessibility(net, zones, opp, cutoffs_min=(5, 10), access_speed_kph=4.8)
    start = with_access["snap_m"].to_numpy() / (4.8 / 3.6)
    cum, grav = reference(net, net.free_flow_time_s, with_access["node"].to_numpy(), opp[:, None],
                          [300.0, 600.0], [0.08 / 60.0], start=start)  # fmt: skip
    np.testing.assert_array_equal(with_access["opportunities_10min"], cum[:, 1, 0])
    np.testing.assert_allclose(with_access["opportunities_gravity"], grav[:, 0, 0], rtol=1e-12)


def test_from_matrix_and_population_weighting():
    times = np.array([[0.0, 10.0, np.inf], [20.0, 0.0, 40.0]])
    opp = pd.DataFrame({"jobs": [5.0, 7.0, 11.0]})
    table = accessibility_from_matrix(
        [10, 20], times, opp, cutoffs_min=(15, 45), decay_per_min=0.05
    )
    assert table["zone"].tolist() == [10, 20]
    assert table["jobs_15min"].tolist() == [12.0, 7.0]
    assert table["jobs_45min"].tolist() == [12.0, 23.0]
    assert table["jobs_gravity"].tolist() == pytest.approx(
        [5 + 7 * math.exp(-0.5), 5 * math.exp(-1) + 7 + 11 * math.exp(-2)]
    )
    avg = population_weighted(table, np.array([1.0, 3.0]))
    assert avg["jobs_45min"] == pytest.approx((12 + 3 * 23) / 4)
    with pytest.raises(ValueError, match="NaN or negative"):
        accessibility_from_matrix([1], [[np.nan]], [1.0])
    with pytest.raises(ValueError, match="sums to zero"):
        population_weighted(table, np.zeros(2))


def test_transit_skim_through_the_matrix_path():
    """Transit: the OD total-time skim of an optimal-strategies assignment feeds the same sums."""
    from transitopt.transit import Line, Stop, TransitSupply, build_transit_graph
    from transitopt.transit.assign import assign_transit

    lat0, deg = -6.2, 100.0 / 111_195.0
    stops = [Stop(s, s, 106.8 + k * 4 * deg, lat0) for k, s in enumerate("abcd")]
    supply = TransitSupply.from_stops(
        stops,
        [Line("L1", "1", "bus", ("a", "b", "c", "d"), 600.0, running_times_s=(60.0, 70.0, 80.0))],
    )
    zones = pd.DataFrame(
        {"zone": [1, 2, 3, 4], "x": [s.lon for s in stops], "y": [s.lat for s in stops]}
    )
    graph = build_transit_graph(supply, zones=zones)
    skim = assign_transit(graph, np.zeros((4, 4))).skim("total_s") / 60.0
    table = accessibility_from_matrix(
        graph.zone_ids, skim, np.array([1.0, 10.0, 100.0, 1000.0]), cutoffs_min=(10, 30)
    )
    for i in range(4):
        assert (
            table["opportunities_10min"].iloc[i]
            == np.array([1.0, 10, 100, 1000])[skim[i] <= 10].sum()
        )
    # the one-call version, opportunities given by zone id (zone 3 left out: none there)
    jobs = pd.DataFrame({"zone": [4, 1, 2], "jobs": [1000.0, 1.0, 10.0]})
    one = transit_accessibility(graph, jobs, cutoffs_min=(10, 30))
    expected = np.array([1.0, 10.0, 0.0, 1000.0])
    for i in range(4):
        assert one["jobs_30min"].iloc[i] == expected[skim[i] <= 30].sum()
        assert one["jobs_gravity"].iloc[i] == pytest.approx(
            (expected * np.exp(-0.08 * skim[i])).sum(), rel=1e-12
        )
    with pytest.raises(ValueError, match="does not have"):
        transit_accessibility(graph, pd.DataFrame({"zone": [99], "jobs": [1.0]}))


def test_isochrones_hold_the_reached_nodes(surabaya):
    import shapely

    net, _ = surabaya
    x, y = 112.778, -7.296
    iso = isochrones(net, x, y, minutes=(5, 10), kind="convex", buffer_m=1.0)
    convex = iso.copy()
    from transitopt.paths import snap_points

    node, _ = snap_points(net, [x], [y])
    dist = dijkstra(csr(net, net.free_flow_time_s), indices=node[0])
    for row in iso.itertuples():
        reached = dist <= row.minutes * 60.0
        assert row.n_nodes == reached.sum()
        assert shapely.intersects_xy(row.geometry, net.node_x[reached], net.node_y[reached]).all()
    concave = isochrones(net, x, y, minutes=(5, 10), kind="concave", ratio=0.2, buffer_m=1.0)
    metric = 3857
    assert (
        concave.to_crs(metric).area.to_numpy() <= convex.to_crs(metric).area.to_numpy() + 1e-6
    ).all()
    assert concave["n_nodes"].tolist() == convex["n_nodes"].tolist()


def test_choropleth_png(tmp_path, surabaya):
    from transitopt.zones import grid_zones

    net, _ = surabaya
    zones = grid_zones(net, cell_size_m=300.0, shape="hexagon", geometry=True)
    table = accessibility(net, zones, np.ones(net.n_nodes), cutoffs_min=(10,))
    out = plot_accessibility(
        zones.merge(table, on="zone"), "opportunities_10min", tmp_path / "map.png", network=net
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not in the zones table"):
        plot_accessibility(zones, "nope", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_bad_arguments():
    net, opp = random_graph(n=20, m=60)
    zones = pd.DataFrame({"zone": [1], "node": [0]})
    with pytest.raises(ValueError, match="one row per node"):
        accessibility(net, zones, np.ones(5))
    with pytest.raises(ValueError, match="finite >= 0"):
        accessibility(net, zones, -np.ones(20))
    with pytest.raises(ValueError, match="cutoffs"):
        accessibility(net, zones, np.ones(20), cutoffs_min=(0, 10))
    with pytest.raises(ValueError, match="method"):
        accessibility(net, zones, np.ones(20), method="magic")
