"""All-or-nothing loading against a scipy.sparse.csgraph reference, and its determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from _street_grid import street_grid
from scipy.sparse.csgraph import dijkstra

from transitopt.kernels.assignment import FEW_TARGETS, aon_load, leaves_last
from transitopt.kernels.shortest_paths import many_to_many
from transitopt.network import Network


def _random_network(seed, n=120, m=600, n_centroids=10):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep], head[keep]
    centroid = np.zeros(n, dtype=bool)
    centroid[:n_centroids] = True
    net = Network.from_edges(
        tail,
        head,
        n_nodes=n,
        centroid=centroid,
        free_flow_time_s=rng.uniform(1, 100, tail.size),
        crs=None,
    )
    return net, rng


def _reference(net, cost, origins, dests, demand):
    """Flows and SPTT by walking scipy's predecessor trees, one origin at a time.

    Out-links of centroids other than the origin are removed so no path passes through them.
    """
    n = net.n_nodes
    flow = np.zeros(net.n_edges)
    sptt = 0.0
    unreachable = 0.0
    for i, o in enumerate(origins):
        usable = ~(net.centroid[net.tail] & (net.tail != o)) & np.isfinite(cost)
        # parallel edges: scipy keeps the sum of duplicates, so pick the cheapest per pair
        order = np.lexsort((cost[usable], net.head[usable], net.tail[usable]))
        idx = np.flatnonzero(usable)[order]
        pair = net.tail[idx] * n + net.head[idx]
        first = np.r_[True, pair[1:] != pair[:-1]]
        best = idx[first]
        graph = sp.csr_matrix((cost[best], (net.tail[best], net.head[best])), shape=(n, n))
        dist, pred = dijkstra(graph, indices=o, return_predecessors=True)
        edge_of = {(int(net.tail[e]), int(net.head[e])): int(e) for e in best}
        for j, d in enumerate(dests):
            q = demand[i, j]
            if q <= 0 or d == o:
                continue
            if not np.isfinite(dist[d]):
                unreachable += q
                continue
            sptt += q * dist[d]
            v = d
            while v != o:
                u = pred[v]
                flow[edge_of[(int(u), int(v))]] += q
                v = u
    return flow, sptt, unreachable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aon_matches_scipy_reference(seed):
    net, rng = _random_network(seed)
    cost = net.free_flow_time_s.copy()
    cost[rng.choice(net.n_edges, 20, replace=False)] = np.inf  # closed links
    origins = np.arange(10)
    dests = np.arange(10)
    demand = rng.uniform(0, 100, (10, 10))
    np.fill_diagonal(demand, 0.0)
    flow, sptt, unreachable = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid, origins, dests, demand, True
    )
    ref_flow, ref_sptt, ref_unreach = _reference(net, cost, origins, dests, demand)
    # random continuous weights: shortest paths are unique, so flows agree to rounding
    np.testing.assert_allclose(flow, ref_flow, rtol=1e-12, atol=1e-9)
    assert sptt == pytest.approx(ref_sptt, rel=1e-12)
    assert unreachable == pytest.approx(ref_unreach, rel=1e-12, abs=1e-12)
    _, sptt_only, _ = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid, origins, dests, demand, False
    )
    assert sptt_only == pytest.approx(sptt, rel=1e-12)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_sparse_demand_to_centroids_and_street_nodes_matches_reference(seed):
    # each search stops early and keeps centroids out of its heap: destinations with
    # demand are a few centroids (leaves) and street nodes (settled through the heap),
    # some rows empty, an origin that is also a destination of its own row
    net, rng = _random_network(seed)
    cost = net.free_flow_time_s.copy()
    origins = np.array([0, 1, 2, 3, 4, 5, 40, 41])
    dests = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 40, 50, 60, 70])
    demand = rng.uniform(0, 100, (origins.size, dests.size))
    demand[rng.random(demand.shape) < 0.7] = 0.0
    demand[2] = 0.0
    demand[6, 10] = 5.0  # origin node 40 to destination node 40: no link, not loaded
    flow, sptt, unreachable = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid, origins, dests, demand, True
    )
    ref_flow, ref_sptt, ref_unreach = _reference(net, cost, origins, dests, demand)
    np.testing.assert_allclose(flow, ref_flow, rtol=1e-12, atol=1e-9)
    assert sptt == pytest.approx(ref_sptt, rel=1e-12)
    assert unreachable == pytest.approx(ref_unreach, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_few_targets_per_origin_skip_centroid_edges_and_match_reference(seed):
    # rows with demand to fewer than a quarter of the destinations take the searches that
    # look only at centroid edges feeding a target (kernels.assignment.FEW_TARGETS)
    net, rng = _random_network(seed, n_centroids=30)
    cost = net.free_flow_time_s.copy()
    origins = np.arange(0, 30, 2)
    dests = np.arange(60)
    demand = np.zeros((origins.size, dests.size))
    for i in range(origins.size):
        demand[i, rng.choice(dests.size, 5, replace=False)] = rng.uniform(1, 100, 5)
    assert (FEW_TARGETS * (demand > 0).sum(axis=1) < dests.size).all()
    flow, sptt, unreachable = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid, origins, dests, demand, True
    )
    ref_flow, ref_sptt, ref_unreach = _reference(net, cost, origins, dests, demand)
    np.testing.assert_allclose(flow, ref_flow, rtol=1e-12, atol=1e-9)
    assert sptt == pytest.approx(ref_sptt, rel=1e-12)
    assert unreachable == pytest.approx(ref_unreach, rel=1e-12, abs=1e-12)


def test_leaves_last_orders_each_nodes_edges_through_heads_first():
    # node 0 (a centroid) and 1, 2 (through) with edges in mixed order, node 3 a centroid
    indptr = np.array([0, 2, 6, 8, 9])
    head = np.array([3, 1, 3, 0, 2, 3, 3, 1, 2])
    cost = np.arange(9, dtype=np.float64)
    no_through = np.array([True, False, False, True])
    l_head, l_cost, perm, split, feed_ptr, feed_tail = leaves_last(indptr, head, cost, no_through)
    # each node's through heads first, then its centroid heads, each group in its order
    np.testing.assert_array_equal(perm, [1, 0, 4, 2, 3, 5, 7, 6, 8])
    np.testing.assert_array_equal(split, [1, 3, 7, 9])
    np.testing.assert_array_equal(l_head, head[perm])
    np.testing.assert_array_equal(l_cost, cost[perm])
    # through nodes with an edge into each centroid, once per edge; centroid 0's own
    # edge into centroid 3 does not feed it (centroids are never passed through)
    assert feed_ptr.tolist() == [0, 1, 1, 1, 4]
    assert feed_tail.tolist() == [1, 1, 1, 2]


@pytest.mark.parametrize("seed", [0, 3, 4, 5])
def test_hierarchy_aon_matches_scipy_reference(seed):
    # the contraction-hierarchy search (dense demand): upward search + sweep; origins
    # and destinations both centroids and street nodes, an empty row, closed links
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._hierarchy import HierarchyAON

    net, rng = _random_network(seed)
    cost = net.free_flow_time_s.copy()
    cost[rng.choice(net.n_edges, 20, replace=False)] = np.inf
    origins = np.array([0, 1, 2, 3, 4, 5, 40, 41])
    dests = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 40, 50, 60, 70])
    demand = rng.uniform(0, 100, (origins.size, dests.size))
    demand[rng.random(demand.shape) < 0.2] = 0.0
    demand[2] = 0.0
    demand[6, 10] = 5.0  # origin node 40 to destination node 40: no link, not loaded
    aon = CompressedAON(
        net.indptr, net.head, np.isfinite(cost), net.centroid, origins, dests, demand
    )
    flow, sptt, unreachable = HierarchyAON(aon).load(cost)
    ref_flow, ref_sptt, ref_unreach = _reference(net, cost, origins, dests, demand)
    np.testing.assert_allclose(flow, ref_flow, rtol=1e-12, atol=1e-9)
    assert sptt == pytest.approx(ref_sptt, rel=1e-12)
    assert unreachable == pytest.approx(ref_unreach, rel=1e-12, abs=1e-12)


def test_loader_takes_the_hierarchy_for_large_dense_demand(monkeypatch):
    from transitopt.assignment import _hierarchy
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._problem import build_problem
    from transitopt.demand.od import ODMatrix

    net, rng = _random_network(6)
    zones = net.node_id[:10]
    dense = rng.uniform(1, 5, (10, 10))
    sparse = dense * (rng.random((10, 10)) < 0.1)
    for matrix in (dense, sparse):
        np.fill_diagonal(matrix, 0.0)
    problem = build_problem(net, ODMatrix(zones=zones, matrix=dense))
    assert isinstance(_hierarchy.aon_loader(problem), CompressedAON)  # small: no hierarchy
    monkeypatch.setattr(_hierarchy, "MIN_WORK", 0)
    assert isinstance(_hierarchy.aon_loader(problem), _hierarchy.HierarchyAON)
    # a hierarchy that makes too many derived edges is given up (a grid city's core)
    monkeypatch.setattr(_hierarchy, "MAX_OPS", 10)
    monkeypatch.setattr(_hierarchy, "_HIERARCHIES", {})
    assert isinstance(_hierarchy.aon_loader(problem), _hierarchy.DenseCoreAON)
    with pytest.raises(ValueError, match="too dense"):
        _hierarchy.HierarchyAON(CompressedAON.of_problem(problem))
    problem = build_problem(net, ODMatrix(zones=zones, matrix=sparse))
    assert isinstance(_hierarchy.aon_loader(problem), CompressedAON)


def test_dense_demand_without_a_hierarchy_searches_a_smaller_core(monkeypatch):
    # dense demand, hierarchy given up: the graph's first SWITCH_SEARCHES searches (one
    # per origin, loadings and skims) run on the core at MAX_ADDED_EDGES (pruned), later
    # ones on a core eliminated further (LARGER_MAX_ADDED), built on from the first;
    # flows those of a plain AON, skims those of the first core
    from transitopt.assignment import _aon, _hierarchy
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._problem import build_problem
    from transitopt.demand.od import ODMatrix

    net, rng = _random_network(6)
    zones = net.node_id[:10]
    dense = rng.uniform(1, 5, (10, 10))
    np.fill_diagonal(dense, 0.0)
    problem = build_problem(net, ODMatrix(zones=zones, matrix=dense))
    monkeypatch.setattr(_hierarchy, "MIN_WORK", 0)
    monkeypatch.setattr(_hierarchy, "MAX_OPS", 10)
    monkeypatch.setattr(_hierarchy, "_HIERARCHIES", {})
    monkeypatch.setattr(_aon, "_SEARCHES", {})
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    monkeypatch.setattr(_aon, "MIN_ELIMINATION_NODES", 0)
    monkeypatch.setattr(_aon, "MAX_ADDED_EDGES", 0)
    monkeypatch.setattr(_aon, "LARGER_MAX_ADDED", 10_000)
    monkeypatch.setattr(_aon, "SWITCH_SEARCHES", 20)  # two loadings from the 10 zones
    default = CompressedAON.of_problem(problem)
    cost = net.free_flow_time_s
    skim = default.skim(cost)  # counts 10 searches
    monkeypatch.setattr(_aon, "_SEARCHES", {})
    ref = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid,
        problem.origin_nodes, problem.dest_nodes, problem.demand, True,
    )  # fmt: skip
    cores = []
    for _ in range(2):  # two runs (a feedback loop): the count goes on across them
        loader = _hierarchy.aon_loader(problem)
        assert isinstance(loader, _hierarchy.DenseCoreAON)
        for _ in range(2):
            flow, sptt, _ = loader.load(cost)
            cores.append(loader.core.n_core)
            assert loader.core.prune and loader.core.dense  # aon_load_dense: bucket queue
            np.testing.assert_allclose(flow, ref[0], rtol=1e-12, atol=1e-9)
            assert sptt == pytest.approx(ref[1], rel=1e-12)
    assert cores[:2] == [default.n_core] * 2
    assert cores[2] == cores[3] < default.n_core
    np.testing.assert_allclose(default.skim(cost), skim, rtol=1e-12)  # on the larger core
    assert default._larger is not None and default._larger.n_core == cores[2]
    # built on from the first core or from scratch: both as small, both exact
    further = CompressedAON.of_problem(problem, 10_000)
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    scratch = CompressedAON.of_problem(problem, 10_000)
    assert further.n_core == scratch.n_core == cores[2]
    for aon in (further, scratch):
        flow, sptt, _ = aon.load(cost)
        np.testing.assert_allclose(flow, ref[0], rtol=1e-12, atol=1e-9)
        assert sptt == pytest.approx(ref[1], rel=1e-12)


def test_centroids_are_not_passed_through():
    # 0 -> 1 -> 2 costs 2 through centroid 1; the detour 0 -> 3 -> 2 costs 10
    net = Network.from_edges(
        [0, 1, 0, 3],
        [1, 2, 3, 2],
        n_nodes=4,
        centroid=np.array([1, 1, 0, 0], bool),
        free_flow_time_s=[1.0, 1.0, 5.0, 5.0],
        crs=None,
    )
    demand = np.array([[7.0]])
    flow, sptt, _ = aon_load(
        net.indptr,
        net.head,
        net.tail,
        net.free_flow_time_s,
        net.centroid,
        np.array([0]),
        np.array([2]),
        demand,
        True,
    )
    loaded = {(int(net.tail[e]), int(net.head[e])): flow[e] for e in range(net.n_edges)}
    assert loaded == {(0, 1): 0.0, (1, 2): 0.0, (0, 3): 7.0, (3, 2): 7.0}
    assert sptt == 70.0


def test_same_result_with_one_and_two_threads():
    net, rng = _random_network(5, n=300, m=1500, n_centroids=60)
    cost = net.free_flow_time_s.copy()
    zones = np.arange(60)
    demand = rng.uniform(0, 10, (60, 60))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = aon_load(
            net.indptr, net.head, net.tail, cost, net.centroid, zones, zones, demand, True
        )
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = aon_load(
            net.indptr, net.head, net.tail, cost, net.centroid, zones, zones, demand, True
        )
    finally:
        numba.set_num_threads(before)
    # fixed origin blocks summed in block order: identical bits, well within the 1e-9 required
    assert np.array_equal(one[0], two[0])
    assert one[1] == two[1]


def test_unreachable_pairs_match_infinite_distances():
    from transitopt.kernels.assignment import unreachable_pairs

    net, rng = _random_network(9, n=150, m=300, n_centroids=15)  # sparse: many pairs disconnected
    cost = net.free_flow_time_s.copy()
    closed = rng.random(net.n_edges) < 0.1
    cost[closed] = np.inf
    zones = np.arange(15)
    demand = rng.uniform(0, 5, (15, 15)) * (rng.random((15, 15)) < 0.7)
    np.fill_diagonal(demand, 0.0)
    got = unreachable_pairs(net.indptr, net.head, ~closed, net.centroid, zones, zones, demand)
    # reference: the scipy-based loader counts exactly the unreachable demand
    _, _, unreachable = _reference(net, cost, zones, zones, demand)
    assert demand[got].sum() == pytest.approx(unreachable, rel=1e-12, abs=0.0)
    assert got.any() and not got[demand == 0].any()


@pytest.mark.parametrize("seed", range(12))
def test_unreachable_via_components_equals_a_search_per_origin(seed):
    """The strongly-connected-component shortcut of the problem set-up marks exactly the
    pairs that one search per origin marks (sparse to dense graphs, closed links,
    centroids as origins, destinations and through-blocked nodes)."""
    from transitopt.assignment._problem import _unreachable
    from transitopt.kernels.assignment import unreachable_pairs

    m = (160, 250, 400, 900)[seed % 4]
    net, rng = _random_network(seed, n=150, m=m, n_centroids=20)
    usable = rng.random(net.n_edges) >= 0.1
    origins = rng.choice(np.arange(150), 25, replace=False).astype(np.int64)
    dests = rng.choice(np.arange(150), 30, replace=False).astype(np.int64)
    demand = rng.uniform(0, 5, (25, 30)) * (rng.random((25, 30)) < 0.8)
    demand[origins[:, None] == dests[None, :]] = 0.0
    want = unreachable_pairs(net.indptr, net.head, usable, net.centroid, origins, dests, demand)
    got = _unreachable(net, usable, net.centroid, origins, dests, demand)
    np.testing.assert_array_equal(got, want)


def _dense_vs_heap(aon, cost, plain):
    """:func:`aon_load_dense` with its bucket queue forced (``max_slots`` unbounded) against
    the heap's search of the same pruned core: zone costs bit for bit, flows and SPTT
    equal to the plain AON's up to summation order (unique paths: continuous costs).
    Returns whether the kernel had a bucket queue (not where no edge of the pruned core
    leads into a through node: the heap then searches)."""
    from transitopt.kernels import assignment as ka
    from transitopt.kernels.assignment import aon_load_compressed, aon_load_dense
    from transitopt.kernels.buckets import bucket_ring

    # the ring the kernel builds: it must exist (else the heap would be tested twice)
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, k_ptr, k_head, _, k_edge = aon.args
    ec = np.empty(c_link.size + op_a.size)
    ka._compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, np.empty(step_ptr.size, int))
    ka._derived_costs(ec, c_link.size, op_sum, op_a, op_b, np.empty(op_a.size, int))
    ptr, p_head, _, p_cost, _ = ka.prune_core(k_ptr, k_head, ec[k_edge], aon.no_through)
    width, n_slots = bucket_ring(ptr, p_head, p_cost, aon.no_through)
    shape = (aon.origins.size, aon.dests.size)
    no_tree, no_count = np.empty((0, 0), np.int32), np.empty(0, np.int64)
    common = (*aon.args, cost, aon.no_through, aon.origins, aon.dests, aon.demand, True)
    heap_costs, bucket_costs = np.empty(shape), np.empty(shape)
    aon_load_compressed(*common, True, heap_costs, no_tree, no_count)
    got = aon_load_dense(*common, bucket_costs, no_tree, no_count, 2**40)
    np.testing.assert_array_equal(bucket_costs, heap_costs)  # NaN where no demand
    np.testing.assert_allclose(got[0], plain[0], rtol=1e-12, atol=1e-9)
    assert got[1] == pytest.approx(plain[1], rel=1e-12)
    assert got[2] == pytest.approx(plain[2], rel=1e-12, abs=1e-12)
    return width > 0.0 and n_slots > 0


def _compressed_vs_plain(net, cost, origins, dests, demand):
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._hierarchy import HierarchyAON

    aon = CompressedAON(
        net.indptr, net.head, np.isfinite(cost), net.centroid, origins, dests, demand
    )
    plain = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid, origins, dests, demand, True
    )
    comp = aon.load(cost)
    # continuous random costs: unique shortest paths, equal up to summation order
    np.testing.assert_allclose(comp[0], plain[0], rtol=1e-12, atol=1e-9)
    assert comp[1] == pytest.approx(plain[1], rel=1e-12)
    assert comp[2] == pytest.approx(plain[2], rel=1e-12, abs=1e-12)
    assert aon.load(cost, False)[1] == comp[1]
    # the same with the core's redundant edges dropped first (dense demand)
    pruned = CompressedAON(
        net.indptr, net.head, np.isfinite(cost), net.centroid, origins, dests, demand,
        prune=True,
    ).load(cost)  # fmt: skip
    np.testing.assert_allclose(pruned[0], plain[0], rtol=1e-12, atol=1e-9)
    assert pruned[1] == pytest.approx(plain[1], rel=1e-12)
    assert pruned[2] == pytest.approx(plain[2], rel=1e-12, abs=1e-12)
    # the same with the dense loader's bucket queue (forced: any ring size)
    buckets = _dense_vs_heap(aon, cost, plain)
    # the same search on a contraction hierarchy of the core graph (dense demand)
    hier = HierarchyAON(aon)
    got = hier.load(cost)
    np.testing.assert_allclose(got[0], plain[0], rtol=1e-12, atol=1e-9)
    assert got[1] == pytest.approx(plain[1], rel=1e-12)
    assert got[2] == pytest.approx(plain[2], rel=1e-12, abs=1e-12)
    assert hier.load(cost, False)[1] == got[1]
    # skims on the core graph: the plain Dijkstra's distances, up to summation order
    full = many_to_many(net.indptr, net.head, cost, origins, dests, net.centroid)
    np.testing.assert_allclose(aon.skim(cost), full, rtol=1e-12)
    return aon.n_core, int((aon.args[0] < 0).sum()), buckets


def test_compressed_aon_equals_plain_on_tntp(require_data):
    from transitopt.network.tntp import read_tntp_network

    folder = require_data("tntp/Berlin-Mitte-Center")
    net = read_tntp_network(folder / "berlin-mitte-center_net.tntp")
    rng = np.random.default_rng(3)
    cost = net.free_flow_time_s * rng.uniform(1.0, 2.0, net.n_edges) + rng.uniform(
        0, 1, net.n_edges
    )
    zones = np.flatnonzero(net.centroid)
    demand = rng.uniform(0, 10, (zones.size, zones.size)) * (rng.random((zones.size,) * 2) < 0.2)
    np.fill_diagonal(demand, 0.0)
    n_kept, n_shortcuts, buckets = _compressed_vs_plain(net, cost, zones, zones, demand)
    assert n_kept < net.n_nodes and n_shortcuts > 0 and buckets


def test_compressed_aon_equals_plain_on_osm_drive(require_data):
    from transitopt.network import load_network

    net = load_network(require_data("osm/monaco-250101.osm.pbf"), network_type="drive", cache=False)
    rng = np.random.default_rng(4)
    cost = net.free_flow_time_s * rng.uniform(1.0, 2.0, net.n_edges) + rng.uniform(
        0, 1, net.n_edges
    )
    cost[rng.random(net.n_edges) < 0.03] = np.inf  # closed links
    zones = rng.choice(net.n_nodes, 40, replace=False)
    demand = rng.uniform(0, 10, (40, 40))
    np.fill_diagonal(demand, 0.0)
    n_kept, n_shortcuts, buckets = _compressed_vs_plain(net, cost, zones, zones, demand)
    assert n_kept < net.n_nodes and n_shortcuts > 0 and buckets


@pytest.mark.parametrize("max_added", [0, 4, 32, 10_000])
def test_compressed_aon_equals_plain_on_a_grid(monkeypatch, max_added):
    # a street grid has no chains: only eliminating nodes that add edges shrinks it
    from transitopt.assignment import _aon

    monkeypatch.setattr(_aon, "MAX_ADDED_EDGES", max_added)
    monkeypatch.setattr(_aon, "MIN_ELIMINATION_NODES", 0)
    side, n_zones = 14, 6
    rng = np.random.default_rng(max_added)
    tail, head, centroid = street_grid(side, n_zones, rng)
    net = Network.from_edges(
        tail, head, n_nodes=centroid.size, centroid=centroid, free_flow_time_s=tail * 0.0 + 1.0,
        crs=None,
    )  # fmt: skip
    cost = rng.uniform(1.0, 2.0, net.n_edges)
    cost[rng.random(net.n_edges) < 0.05] = np.inf
    zones = np.arange(n_zones)
    demand = rng.uniform(0, 10, (n_zones, n_zones)) * (rng.random((n_zones, n_zones)) < 0.6)
    np.fill_diagonal(demand, 0.0)
    n_core, _, buckets = _compressed_vs_plain(net, cost, zones, zones, demand)
    assert buckets or max_added > 4  # the large limits leave little but centroids
    if max_added == 0:
        assert n_core > side * side // 2  # a grid node adds edges when eliminated
    else:
        assert n_core < side * side // 2


def test_compressed_graph_is_built_once_per_network(monkeypatch):
    from transitopt.assignment import _aon

    net, rng = _random_network(7)
    zones = np.arange(10)
    calls = []
    build = _aon._build
    monkeypatch.setattr(_aon, "_GRAPHS", {})
    monkeypatch.setattr(_aon, "_build", lambda *a: calls.append(1) or build(*a))
    for _ in range(3):  # new demand each time (a feedback loop): same graph
        demand = rng.uniform(0, 5, (10, 10))
        _aon.CompressedAON(
            net.indptr, net.head, np.ones(net.n_edges, bool), net.centroid, zones, zones, demand
        )
    closed = np.ones(net.n_edges, bool)
    closed[0] = False
    _aon.CompressedAON(net.indptr, net.head, closed, net.centroid, zones, zones, demand)
    assert len(calls) == 2
    assert len(_aon._GRAPHS) <= _aon.CACHED_GRAPHS


@pytest.mark.slow
def test_bfw_with_the_hierarchy_reaches_the_same_equilibrium(require_data, monkeypatch):
    # SiouxFalls (24 zones, every pair with demand) solved by bfw with the hierarchy
    # forced and without it: the same unique link flows (BPR, b > 0) within the gap asked
    from transitopt.assignment import _hierarchy, assign
    from transitopt.network.tntp import load_tntp

    require_data("tntp/SiouxFalls")
    case = load_tntp("SiouxFalls")
    plain = assign(case.network, case.demand, algorithm="bfw", gap=1e-7, max_iter=20_000)
    monkeypatch.setattr(_hierarchy, "MIN_WORK", 0)
    calls = []
    load = _hierarchy.HierarchyAON.load
    monkeypatch.setattr(
        _hierarchy.HierarchyAON, "load", lambda self, *a: calls.append(1) or load(self, *a)
    )
    hier = assign(case.network, case.demand, algorithm="bfw", gap=1e-7, max_iter=20_000)
    assert calls and hier.relative_gap <= 1e-7 and plain.relative_gap <= 1e-7
    # two points within relative gap 1e-7 of the same equilibrium: link flows agree to
    # about 1e-3 of the largest (both within that of SiouxFalls' best-known flows)
    np.testing.assert_allclose(hier.flow, plain.flow, rtol=0, atol=1e-3 * plain.flow.max())


def _through_distances(n, tail, head, cost, no_through):
    """All-pairs distances (scipy) where a path may start or end at a ``no_through`` node
    but not pass through one: one search per source with the other centroids' out-edges cut."""
    out = np.empty((n, n))
    for s in range(n):
        ok = np.isfinite(cost) & (~no_through[tail] | (tail == s))
        order = np.lexsort((cost[ok], head[ok], tail[ok]))  # cheapest of parallel edges
        idx = np.flatnonzero(ok)[order]
        pair = tail[idx] * n + head[idx]
        best = idx[np.r_[True, pair[1:] != pair[:-1]]]
        # scipy drops explicit zeros: a tiny positive stand-in for zero-cost edges
        w = np.where(cost[best] == 0.0, 1e-300, cost[best])
        graph = sp.csr_matrix((w, (tail[best], head[best])), shape=(n, n))
        out[s] = dijkstra(graph, indices=s)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_pruned_core_keeps_every_distance(seed):
    # the witness pruning of the core graph drops edges, never a distance: all pairs
    # against scipy on random graphs with centroids, zero-cost, parallel and closed edges
    from transitopt.kernels.assignment import prune_core

    rng = np.random.default_rng(seed)
    n, m = 60, 420
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    cost = rng.uniform(1.0, 10.0, m)
    cost[rng.random(m) < 0.05] = 0.0
    cost[rng.random(m) < 0.05] = np.inf
    cost[:40] = rng.integers(1, 4, 40).astype(float)  # ties
    no_through = rng.random(n) < 0.15
    order = np.argsort(tail, kind="stable")
    tail, head, cost = tail[order], head[order], cost[order]
    indptr = np.r_[0, np.cumsum(np.bincount(tail, minlength=n))].astype(np.int64)
    ptr, k_head, k_tail, k_cost, k_edge = prune_core(indptr, head, cost, no_through)
    assert 0 < k_edge.size < m  # something dropped, something kept
    assert np.array_equal(k_head, head[k_edge]) and np.array_equal(k_tail, tail[k_edge])
    assert np.array_equal(k_cost, cost[k_edge])
    assert np.array_equal(np.diff(ptr), np.bincount(k_tail, minlength=n))
    full = _through_distances(n, tail, head, cost, no_through)
    kept = _through_distances(n, k_tail, k_head, k_cost, no_through)
    # same distances up to the order of summation (scipy sums along its own paths)
    np.testing.assert_allclose(kept, full, rtol=1e-12, atol=1e-250)


def test_pruned_core_drops_only_strictly_longer_edges_around_through_nodes():
    # 0 -> 1 -> 2 costs 1 + 1: a direct 0 -> 2 of 3 goes, one of 2 (a tie) stays, and
    # nothing goes when node 1 is a centroid (no path passes through it)
    from transitopt.kernels.assignment import prune_core

    # edges 0 -> 1, 0 -> 2, 1 -> 2
    head = np.array([1, 2, 2])
    indptr = np.array([0, 2, 3, 3], dtype=np.int64)
    for direct, centroid_1, kept in [(3.0, False, [0, 2]), (2.0, False, [0, 1, 2])] + [
        (3.0, True, [0, 1, 2])
    ]:
        cost = np.array([1.0, direct, 1.0])
        no_through = np.array([False, centroid_1, False])
        *_, k_edge = prune_core(indptr, head, cost, no_through)
        assert k_edge.tolist() == kept


@pytest.mark.slow
def test_loader_choice_on_real_networks_and_a_street_grid(require_data):
    # which all-or-nothing loader each case gets: the hierarchy for Chicago-Sketch (62 %
    # of the pairs with demand) and Sydney (gravity-like demand on every pair of its
    # 3,264 zones); the core graph with early exit for Berlin-Center (6.6 %); for a
    # street grid with dense demand, the contraction is given up (too many derived edges)
    # and the pruned core searched (DenseCoreAON)
    from transitopt.assignment import _hierarchy
    from transitopt.assignment._aon import CompressedAON
    from transitopt.assignment._problem import build_problem
    from transitopt.demand.od import ODMatrix
    from transitopt.network.tntp import load_tntp, read_tntp_network

    for name, kind in (
        ("Chicago-Sketch", _hierarchy.HierarchyAON),
        ("Berlin-Center", CompressedAON),
    ):
        require_data(f"tntp/{name}")
        case = load_tntp(name)
        assert type(_hierarchy.aon_loader(build_problem(case.network, case.demand))) is kind
    folder = require_data("tntp/Sydney")  # no trips file: demand on every pair
    sydney = read_tntp_network(folder / "Sydney_net.tntp")
    zones = np.arange(1, sydney.info["tntp"]["zones"] + 1, dtype=np.int64)
    rng = np.random.default_rng(1)
    matrix = rng.uniform(0.1, 1.0, (zones.size, zones.size))
    np.fill_diagonal(matrix, 0.0)
    problem = build_problem(sydney, ODMatrix(zones=zones, matrix=matrix))
    assert type(_hierarchy.aon_loader(problem)) is _hierarchy.HierarchyAON

    side, n_zones = 150, 15  # a 150 x 150 street grid, 15 x 15 zones, two-way streets
    node = np.arange(side * side).reshape(side, side)
    a = np.r_[node[:, :-1].ravel(), node[:-1, :].ravel()]
    b = np.r_[node[:, 1:].ravel(), node[1:, :].ravel()]
    centroid = np.zeros(side * side, dtype=bool)
    step = side // n_zones
    centroid[node[step // 2 :: step, step // 2 :: step].ravel()] = True
    net = Network.from_edges(
        np.r_[a, b], np.r_[b, a], n_nodes=side * side, centroid=centroid,
        free_flow_time_s=rng.uniform(8.0, 12.0, 2 * a.size), crs=None,
    )  # fmt: skip
    zones = net.node_id[centroid]
    matrix = rng.uniform(1.0, 5.0, (zones.size, zones.size))
    np.fill_diagonal(matrix, 0.0)
    problem = build_problem(net, ODMatrix(zones=zones, matrix=matrix))
    loader = _hierarchy.aon_loader(problem)
    assert isinstance(loader, _hierarchy.DenseCoreAON)
    cost = net.free_flow_time_s
    ref = aon_load(
        net.indptr, net.head, net.tail, cost, net.centroid,
        problem.origin_nodes, problem.dest_nodes, problem.demand, True,
    )  # fmt: skip
    flow, sptt, _ = loader.load(cost)
    np.testing.assert_allclose(flow, ref[0], rtol=1e-12, atol=1e-9)
    assert sptt == pytest.approx(ref[1], rel=1e-12)
