"""Public path API (transitopt.paths) against scipy, networkx and brute force.

References: ``scipy.sparse.csgraph.dijkstra`` (parallel edges reduced to their minimum,
out-edges of centroids other than the source removed), ``networkx`` Dijkstra on the
same graph with centroid out-edges removed, and brute-force haversine nearest nodes.
Tolerance for distances: 1e-9 relative and absolute.
"""

from __future__ import annotations

import networkx as nx
import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from transitopt import NetworkError, SnappingError, paths
from transitopt.kernels.snapping import haversine_m
from transitopt.network.compiled import Network
from transitopt.network.tntp import read_tntp_network

TOL = {"rtol": 1e-9, "atol": 1e-9}
METHODS = ["dijkstra", "ch", "auto"]


def reference(net: Network, weight: np.ndarray, sources) -> np.ndarray:
    """scipy distances from each source (compiled index), centroids not passed through."""
    n = net.n_nodes
    tail, head = net.tail.astype(np.int64), net.head.astype(np.int64)
    usable = np.isfinite(weight) & (tail != head)

    def matrix(keep):
        k = usable & keep
        key = tail[k] * n + head[k]
        order = np.lexsort((weight[k], key))
        key, w = key[order], weight[k][order]
        first = np.r_[True, key[1:] != key[:-1]][: key.size]
        return sp.csr_matrix((w[first], (key[first] // n, key[first] % n)), shape=(n, n))

    sources = np.atleast_1d(np.asarray(sources, dtype=np.int64))
    out = np.empty((sources.size, n))
    base = matrix(~net.centroid[tail])
    for i, s in enumerate(sources):
        m = base if not net.centroid[s] else matrix(~net.centroid[tail] | (tail == s))
        out[i] = dijkstra(m, indices=[s])[0]
    return out


def network_from(tail, head, weight, n, centroid=None, **kw) -> Network:
    return Network.from_edges(
        np.asarray(tail, dtype=np.int64), np.asarray(head, dtype=np.int64), n_nodes=n,
        free_flow_time_s=np.asarray(weight, dtype=np.float64), centroid=centroid, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def berlin_mitte(require_data):
    folder = require_data("tntp/Berlin-Mitte-Center")
    return read_tntp_network(folder / "berlin-mitte-center_net.tntp")


@pytest.fixture(scope="module")
def monaco_walk(require_data):
    """Monaco walk network (OSM, 3,020 nodes); osmnx-based loader of transitopt.network.osm."""
    path = require_data("osm/monaco-250101.osm.pbf")
    from transitopt.network import load_network

    return load_network(path, network_type="walk", cache=False)


# ----------------------------------------------------------------------------- distances and skims


@pytest.mark.parametrize("method", METHODS)
def test_distances_and_skim_match_scipy_with_centroids(berlin_mitte, method):
    net = berlin_mitte
    w = net.free_flow_time_s
    prepared = paths.prepare(net)
    inner = np.flatnonzero(prepared.new_of < 0)[:15]  # sources inside contracted chains
    sources = np.r_[np.flatnonzero(net.centroid), np.arange(40, net.n_nodes, 29), inner]
    ref = reference(net, w, sources)
    got = paths.distances(net, sources, by_index=True, method=method)
    np.testing.assert_allclose(got, ref, **TOL)
    # the same through node ids, and a skim with contracted and duplicated destinations
    ids = net.node_id[sources]
    np.testing.assert_allclose(paths.distances(net, ids, method=method), ref, **TOL)
    dest = np.r_[np.flatnonzero(net.centroid), inner, inner[:3]]
    got = paths.skim(net, ids, net.node_id[dest], method=method)
    np.testing.assert_allclose(got, ref[:, dest], **TOL)
    zones = net.node_id[net.centroid]
    square = paths.skim(net, zones, method=method)
    assert square.shape == (zones.size, zones.size) and np.all(np.diag(square) == 0.0)


@pytest.mark.slow
def test_distances_match_scipy_on_osm_walk(monaco_walk):
    net = monaco_walk
    rng = np.random.default_rng(3)
    sources = rng.choice(net.n_nodes, 40, replace=False)
    ref = reference(net, net.length_m, sources)
    for method in ("dijkstra", "ch"):
        got = paths.distances(net, sources, weight="length_m", by_index=True, method=method)
        np.testing.assert_allclose(got, ref, **TOL)
    assert np.isfinite(ref).all()  # largest strongly connected component


def test_centroids_are_not_passed_through_networkx_reference():
    # 0 -> 1 (centroid) -> 2 is short; the way around 0 -> 3 -> 2 is long
    tail = [0, 1, 0, 3, 1, 4]
    head = [1, 2, 3, 2, 4, 1]
    w = [1.0, 1.0, 10.0, 10.0, 1.0, 1.0]
    centroid = np.array([False, True, False, False, False])
    net = network_from(tail, head, w, 5, centroid)
    g = nx.DiGraph()
    g.add_nodes_from(range(5))
    for u, v, c in zip(tail, head, w, strict=True):
        if not centroid[u]:
            g.add_edge(u, v, weight=c)
    expected = nx.single_source_dijkstra_path_length(g, 0)
    for method in METHODS:
        got = paths.distances(net, 0, by_index=True, method=method)[0]
        assert got[2] == expected[2] == 20.0
        assert got[1] == 1.0 and got[4] == np.inf  # reached, but not through the centroid
    # from the centroid itself its own edges may be used
    assert paths.distances(net, 1, by_index=True)[0][2] == 1.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_graphs_all_methods_match_scipy(data):
    n = data.draw(st.integers(1, 25))
    m = data.draw(st.integers(0, 3 * n))
    tail = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    head = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 7.0, np.inf]), min_size=m, max_size=m))
    centroid = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))) & (
        np.arange(n) % 3 == 0
    )
    net = network_from(tail, head, w, n, centroid)
    sources = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    targets = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    ref = reference(net, net.free_flow_time_s, sources)
    for method in METHODS:
        got = paths.skim(net, sources, targets, by_index=True, method=method)
        np.testing.assert_allclose(got, ref[:, targets], **TOL)


def test_same_result_with_one_and_two_threads(berlin_mitte):
    net = berlin_mitte
    sources = np.arange(0, net.n_nodes, 5)
    results = {}
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        results[threads] = [
            paths.distances(net, sources, by_index=True, method=m) for m in ("dijkstra", "ch")
        ]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(results[1], results[2], strict=True):
        np.testing.assert_array_equal(a, b)


def test_prepared_graph_is_cached_and_hierarchy_built_on_demand(berlin_mitte):
    net = berlin_mitte
    prepared = paths.prepare(net, weight="length_m")
    assert paths.prepare(net, weight="length_m") is prepared
    assert (
        paths.prepare(net, weight=net.length_m.copy()) is not prepared
    )  # arrays cached by content
    fresh = paths.PreparedGraph(net, weight="length_m")
    assert not fresh.has_hierarchy
    fresh.distances(np.arange(paths.AUTO_HIERARCHY_SOURCES), method="auto")
    assert fresh.has_hierarchy  # enough sources searched: the hierarchy pays off


# ----------------------------------------------------------------------------- single paths


def test_shortest_path_cost_equals_distance_and_edges_chain(berlin_mitte):
    net = berlin_mitte
    w = net.free_flow_time_s
    origin, dest = net.node_id[0], net.node_id[250]
    result = paths.shortest_path(net, origin, dest)
    ref = reference(net, w, [0])[0]
    assert result.found and result.cost == pytest.approx(ref[250], rel=1e-12)
    assert w[result.edges].sum() == pytest.approx(result.cost, rel=1e-12)
    assert result.nodes[0] == origin and result.nodes[-1] == dest
    assert np.array_equal(net.node_id[net.tail[result.edges]], result.nodes[:-1])
    assert np.array_equal(net.node_id[net.head[result.edges]], result.nodes[1:])
    by_index = paths.shortest_path(net, 0, 250, by_index=True)
    assert np.array_equal(net.node_id[by_index.nodes], result.nodes)


def test_shortest_path_unreachable_and_to_itself():
    net = network_from([0], [1], [3.0], 3)
    none = paths.shortest_path(net, 1, 0, by_index=True)
    assert not none.found and none.cost == np.inf and none.nodes.size == 0
    same = paths.shortest_path(net, 2, 2, by_index=True)
    assert same.cost == 0.0 and same.nodes.tolist() == [2] and same.edges.size == 0


# ----------------------------------------------------------------------------- validation


def test_bad_weights_and_nodes_raise_clear_errors(berlin_mitte):
    net = berlin_mitte
    with pytest.raises(ValueError, match="unknown weight 'time'"):
        paths.distances(net, net.node_id[0], weight="time")
    bad = net.free_flow_time_s.copy()
    bad[[3, 8]] = [np.nan, -1.0]
    with pytest.raises(NetworkError, match="2 missing or negative"):
        paths.distances(net, net.node_id[0], weight=bad)
    with pytest.raises(ValueError, match="shape"):
        paths.distances(net, net.node_id[0], weight=bad[:5])
    with pytest.raises(KeyError, match="node id 999999 is not in the network"):
        paths.skim(net, [999999])
    with pytest.raises(IndexError, match="outside 0..397"):
        paths.distances(net, [398], by_index=True)
    with pytest.raises(ValueError, match="method"):
        paths.distances(net, [1], method="fast")


# ----------------------------------------------------------------------------- snapping


@pytest.mark.slow
def test_snap_points_match_brute_force_on_osm(monaco_walk):
    net = monaco_walk
    rng = np.random.default_rng(11)
    lon = rng.uniform(net.node_x.min() - 0.002, net.node_x.max() + 0.002, 400)
    lat = rng.uniform(net.node_y.min() - 0.002, net.node_y.max() + 0.002, 400)
    node, dist = paths.snap_points(net, lon, lat)
    brute = np.array([[haversine_m(x, y, a, b) for a, b in zip(net.node_x, net.node_y, strict=True)]
                      for x, y in zip(lon, lat, strict=True)])  # fmt: skip
    np.testing.assert_array_equal(node, brute.argmin(axis=1))
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-12)
    # a node's own coordinates snap to it at 0 m
    node, dist = paths.snap_points(net, net.node_x[:50], net.node_y[:50])
    assert np.array_equal(node, np.arange(50)) and np.all(dist == 0.0)


def test_snap_points_too_far_raises_naming_points():
    net = network_from(
        [0, 1], [1, 0], [1.0, 1.0], 2, node_x=[7.42, 7.43], node_y=[43.73, 43.73], crs="EPSG:4326"
    )
    lon = np.array([7.42, 7.43, 7.60])
    lat = np.array([43.73, 43.7301, 43.73])
    node, dist = paths.snap_points(net, lon[:2], lat[:2], max_distance_m=50.0)
    assert node.tolist() == [0, 1] and dist[1] == pytest.approx(
        haversine_m(7.43, 43.7301, 7.43, 43.73)
    )
    far = haversine_m(7.60, 43.73, 7.43, 43.73)  # about 13.7 km
    with pytest.raises(
        SnappingError, match=rf"1 of 3 point\(s\) lie farther than 50 m .*point 2 \({far:,.1f} m\)"
    ):
        paths.snap_points(net, lon, lat, max_distance_m=50.0)


def test_snap_points_errors_and_planar():
    net = network_from([0, 1], [1, 0], [1.0, 1.0], 3, node_x=[0.0, 100.0, 5.0], node_y=[0.0, 0.0, 0.0],
                       centroid=np.array([False, False, True]), crs="EPSG:3857")  # fmt: skip
    node, dist = paths.snap_points(net, [4.0, 60.0], [3.0, 0.0])
    # node 2 is a centroid: never a snapping candidate
    assert node.tolist() == [0, 1] and dist == pytest.approx([5.0, 40.0])
    with pytest.raises(
        SnappingError, match=r"1 of 2 point\(s\) lie farther than 10 m.*point 1 \(40.0 m\)"
    ):
        paths.snap_points(net, [4.0, 60.0], [3.0, 0.0], max_distance_m=10.0)
    with pytest.raises(SnappingError, match="missing or infinite coordinates: 1"):
        paths.snap_points(net, [1.0, np.nan], [0.0, 0.0])


# ----------------------------------------------------------------------------- the routing door


def congested(net: Network, seed: int) -> np.ndarray:
    """Free-flow times scaled edge by edge, as a feedback iteration's link times would be."""
    rng = np.random.default_rng(seed)
    return net.free_flow_time_s * rng.uniform(1.0, 3.0, net.n_edges)


def test_uncached_skim_equals_cached_and_stores_nothing(berlin_mitte):
    from transitopt.kernels.shortest_paths import many_to_many

    net = berlin_mitte
    zones = np.flatnonzero(net.centroid)
    others = np.arange(3, net.n_nodes, 17)
    for seed in range(3):
        t = congested(net, seed)
        before = len(paths._PREPARED.get(net, {}))
        uncached = paths.skim(net, zones, others, weight=t, by_index=True, cache=False)
        assert len(paths._PREPARED.get(net, {})) == before  # nothing stored
        plain = many_to_many(net.indptr, net.head, t, zones, others, net.centroid)
        np.testing.assert_array_equal(uncached, plain)  # today's kernel, bit for bit
        for method in METHODS:
            cached = paths.skim(net, zones, others, weight=t, by_index=True, method=method)
            np.testing.assert_allclose(uncached, cached, rtol=1e-12, atol=0)
        ch = paths.skim(net, zones, weight=t, by_index=True, method="ch", cache=False)
        np.testing.assert_allclose(ch, reference(net, t, zones)[:, zones], **TOL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_graphs_uncached_skim_matches_scipy(data):
    n = data.draw(st.integers(1, 20))
    m = data.draw(st.integers(0, 3 * n))
    tail = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    head = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 7.0, np.inf]), min_size=m, max_size=m))
    centroid = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))) & (
        np.arange(n) % 3 == 0
    )
    net = network_from(tail, head, w, n, centroid)
    sources = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    targets = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    ref = reference(net, net.free_flow_time_s, sources)[:, targets]
    for method in METHODS:
        got = paths.skim(net, sources, targets, by_index=True, method=method, cache=False)
        np.testing.assert_allclose(got, ref, **TOL)


def test_prepared_cache_is_bounded_least_recently_used(berlin_mitte):
    net = berlin_mitte
    limit = paths.MAX_PREPARED_PER_NETWORK
    weights = [congested(net, 100 + k) for k in range(limit + 2)]
    first = paths.prepare(net, weight=weights[0])
    for w in weights[1:limit]:
        paths.prepare(net, weight=w)
    assert paths.prepare(net, weight=weights[0]) is first  # a hit: now the most recent
    for w in weights[limit:]:
        paths.prepare(net, weight=w)
        assert len(paths._PREPARED[net]) <= limit
    assert len(paths._PREPARED[net]) == limit
    assert paths.prepare(net, weight=weights[0]) is first  # kept: recently used
    assert paths.prepare(net, weight=weights[1]) is not None
    # weights[1] had been dropped (least recently used) and was prepared again
    assert len(paths._PREPARED[net]) == limit


def undirected_reference(net: Network, sources, targets) -> np.ndarray:
    """scipy on the undirected graph of ``length_m`` (shortest of parallel links)."""
    n = net.n_nodes
    a = np.minimum(net.tail, net.head).astype(np.int64)
    b = np.maximum(net.tail, net.head).astype(np.int64)
    key = a * n + b
    order = np.lexsort((net.length_m, key))
    key, w = key[order], net.length_m[order]
    first = np.r_[True, key[1:] != key[:-1]][: key.size]
    loop = key[first] // n == key[first] % n
    key, w = key[first][~loop], w[first][~loop]
    # zero lengths would vanish from a sparse matrix: scipy treats explicit zeros as absent
    m = sp.csr_matrix((np.maximum(w, 1e-300), (key // n, key % n)), shape=(n, n))
    return dijkstra(m, directed=False, indices=sources)[:, targets]


@pytest.mark.slow
def test_walk_distances_two_way_on_osm(monaco_walk):
    from transitopt.kernels.shortest_paths import many_to_many

    net = monaco_walk
    rng = np.random.default_rng(5)
    nodes = rng.choice(net.n_nodes, 60, replace=False)
    d = paths.walk_distances(net, nodes)
    assert d.shape == (60, 60) and np.array_equal(d, d.T) and np.all(np.diag(d) == 0.0)
    np.testing.assert_allclose(d, undirected_reference(net, nodes, nodes), **TOL)
    # on an osmnx walk network every link runs both ways: the directed search agrees
    directed = many_to_many(net.indptr, net.head, net.length_m, nodes, nodes, net.centroid)
    np.testing.assert_allclose(d, np.minimum(directed, directed.T), **TOL)
    # node ids, rectangular, and a distance limit
    ids = net.node_id[nodes]
    np.testing.assert_array_equal(paths.walk_distances(net, ids, by_index=False), d)
    rect = paths.walk_distances(net, nodes[:10], nodes[5:], max_distance_m=800.0)
    within = d[:10, 5:]
    np.testing.assert_allclose(rect, np.where(within <= 800.0, within, np.inf), **TOL)
    assert np.isfinite(rect).any() and np.isinf(rect).any()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_graphs_walk_distances_match_undirected_scipy(data):
    n = data.draw(st.integers(1, 20))
    m = data.draw(st.integers(0, 3 * n))
    tail = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    head = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    length = data.draw(st.lists(st.sampled_from([0.0, 5.0, 12.5, 40.0]), min_size=m, max_size=m))
    net = network_from(tail, head, np.ones(m), n, length_m=np.asarray(length, dtype=np.float64))
    nodes = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    d = paths.walk_distances(net, nodes)
    assert np.array_equal(d, d.T)
    np.testing.assert_allclose(d, undirected_reference(net, nodes, nodes), **TOL)
    limited = paths.walk_distances(net, nodes, max_distance_m=12.5)
    np.testing.assert_allclose(limited, np.where(d <= 12.5, d, np.inf), **TOL)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_graphs_bounded_walks_are_the_full_ones_cut_and_connected_is_finite(data):
    """Within the limit the bounded search gives the full search's numbers bit for bit;
    beyond it ``inf``; ``walk_connected`` is exactly where the full distance is finite
    (centroids, drawn at random, start and end walks but carry none on)."""
    n = data.draw(st.integers(1, 16))
    m = data.draw(st.integers(0, 3 * n))
    tail = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    head = data.draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    length = data.draw(
        st.lists(st.sampled_from([0.0, 0.1, 5.0, 12.5, 40.0]), min_size=m, max_size=m)
    )
    centroid = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    net = network_from(
        tail, head, np.ones(m), n, centroid=centroid, length_m=np.asarray(length, dtype=np.float64)
    )
    nodes = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=8)))
    full = paths.walk_distances(net, nodes)
    limit = data.draw(st.sampled_from([0.0, 5.0, 12.5, 17.6, 60.0]))
    bounded = paths.walk_distances(net, nodes, max_distance_m=limit)
    np.testing.assert_array_equal(bounded, np.where(full <= limit, full, np.inf))
    np.testing.assert_array_equal(paths.walk_connected(net, nodes), np.isfinite(full))


def test_shortest_paths_edge_lists_match_networkx_costs(berlin_mitte):
    net = berlin_mitte
    w = net.free_flow_time_s
    rng = np.random.default_rng(7)
    origins = np.r_[rng.choice(net.n_nodes, 6, replace=False).repeat(4), 0, 5]
    dests = np.r_[rng.choice(net.n_nodes, 24), 0, 5]  # the last two: to itself
    edges = paths.shortest_paths(net, origins, dests, weight=w)
    assert len(edges) == origins.size
    for o, d, e in zip(origins, dests, edges, strict=True):
        g = nx.DiGraph()
        for k in np.argsort(-w):  # parallel edges: the cheapest one is added last and wins
            u, v = int(net.tail[k]), int(net.head[k])
            if np.isfinite(w[k]) and (not net.centroid[u] or u == o):
                g.add_edge(u, v, weight=float(w[k]))
        try:
            cost = nx.dijkstra_path_length(g, int(o), int(d))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            cost = np.inf if o != d else 0.0
        if o == d or not np.isfinite(cost):
            assert e.size == 0
            continue
        assert e.dtype == np.int64 and e.size > 0
        assert net.tail[e[0]] == o and net.head[e[-1]] == d
        assert np.array_equal(net.head[e[:-1]], net.tail[e[1:]])  # a chain
        assert np.cumsum(w[e])[-1] == pytest.approx(cost, rel=1e-12)
        single = paths.shortest_path(net, int(o), int(d), weight=w, by_index=True)
        np.testing.assert_array_equal(single.edges, e)
    # node ids, and an unreachable pair on a tiny graph
    by_id = paths.shortest_paths(net, net.node_id[origins], net.node_id[dests], by_index=False)
    for a, b in zip(by_id, edges, strict=True):
        np.testing.assert_array_equal(a, b)
    tiny = network_from([0], [1], [3.0], 3)
    assert [p.tolist() for p in paths.shortest_paths(tiny, [0, 1, 2], [1, 0, 2])] == [[0], [], []]
    with pytest.raises(ValueError, match="one per pair"):
        paths.shortest_paths(tiny, [0, 1], [1])


def test_edge_weights_checks_and_caches_nothing(berlin_mitte):
    net = berlin_mitte
    before = len(paths._PREPARED.get(net, {}))
    np.testing.assert_array_equal(paths.edge_weights(net, "length_m"), net.length_m)
    assert len(paths._PREPARED.get(net, {})) == before
    with pytest.raises(NetworkError, match="missing or negative"):
        paths.edge_weights(net, np.full(net.n_edges, -1.0))
