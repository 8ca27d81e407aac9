"""Shortest-path kernels against scipy.sparse.csgraph.dijkstra (the reference).

Reference: ``scipy.sparse.csgraph.dijkstra`` on a CSR matrix built with parallel edges
reduced to their minimum (scipy would sum them), explicit zero weights kept as edges, and
the out-edges of no-through nodes (centroids) other than the source removed. Tolerance:
1e-9 relative and absolute (float64 sums in a different order).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from transitopt.kernels import compression, contraction, snapping
from transitopt.kernels import shortest_paths as ksp
from transitopt.network.compiled import Network
from transitopt.network.tntp import read_tntp_network

TOL = {"rtol": 1e-9, "atol": 1e-9}


def reference(net: Network, weight: np.ndarray, sources, no_through=None) -> np.ndarray:
    """scipy distances (see module docstring) from each source to every node."""
    n = net.n_nodes
    tail = net.tail.astype(np.int64)
    head = net.head.astype(np.int64)
    no_through = np.zeros(n, dtype=bool) if no_through is None else np.asarray(no_through)
    usable = np.isfinite(weight) & (tail != head)

    def matrix(keep):
        k = usable & keep
        key = tail[k] * n + head[k]
        order = np.lexsort(
            (weight[k], key)
        )  # by key, then weight: first of each key is the minimum
        key, w = key[order], weight[k][order]
        first = np.r_[True, key[1:] != key[:-1]][: key.size]
        return sp.csr_matrix((w[first], (key[first] // n, key[first] % n)), shape=(n, n))

    sources = np.asarray(sources, dtype=np.int64)
    out = np.empty((sources.size, n))
    base = matrix(~no_through[tail])
    plain = ~no_through[sources]
    if plain.any():
        out[plain] = dijkstra(base, indices=sources[plain])
    for i in np.flatnonzero(~plain):
        s = sources[i]
        out[i] = dijkstra(matrix(~no_through[tail] | (tail == s)), indices=[s])[0]
    return out


def network_from(tail, head, weight, n, centroid=None) -> Network:
    return Network.from_edges(
        np.asarray(tail, dtype=np.int64),
        np.asarray(head, dtype=np.int64),
        n_nodes=n,
        free_flow_time_s=np.asarray(weight, dtype=np.float64),
        centroid=centroid,
        crs=None,
    )


@pytest.fixture(scope="module")
def tntp(require_data):
    def load(name: str) -> Network:
        folder = require_data(f"tntp/{name}")
        return read_tntp_network(next(folder.glob("*_net.tntp")))

    return load


# ----------------------------------------------------------------------------- plain Dijkstra


@pytest.mark.parametrize("name", ["SiouxFalls", "Chicago-Sketch", "Berlin-Mitte-Center"])
def test_single_source_and_path_match_scipy_on_tntp(tntp, name):
    net = tntp(name)
    w = net.free_flow_time_s
    sources = np.arange(0, net.n_nodes, max(1, net.n_nodes // 12))
    ref = reference(net, w, sources, net.centroid)
    for i, s in enumerate(sources):
        dist, pred = ksp.single_source(
            net.indptr, net.head, w, s, net.centroid, np.empty(0, np.int64)
        )
        np.testing.assert_allclose(dist, ref[i], **TOL)
        # the predecessor tree reproduces every distance
        for t in np.flatnonzero(np.isfinite(dist))[::7]:
            edges = ksp.path_edges(pred, net.tail, t)
            assert w[edges].sum() == pytest.approx(dist[t], rel=1e-12, abs=1e-9)
            if edges.size:
                assert net.tail[edges[0]] == s and net.head[edges[-1]] == t
                assert (net.head[edges[:-1]] == net.tail[edges[1:]]).all()


def test_many_to_all_and_many_to_many_match_scipy_with_centroids(tntp):
    net = tntp("Berlin-Mitte-Center")  # 36 centroids, never passed through
    w = net.free_flow_time_s
    zones = np.flatnonzero(net.centroid)
    sources = np.r_[zones, np.arange(40, net.n_nodes, 37)]
    ref = reference(net, w, sources, net.centroid)
    np.testing.assert_allclose(
        ksp.many_to_all(net.indptr, net.head, w, sources, net.centroid), ref, **TOL
    )
    targets = np.r_[zones, 100, 200, zones[0]]  # a duplicate target too
    got = ksp.many_to_many(net.indptr, net.head, w, sources, targets, net.centroid)
    np.testing.assert_allclose(got, ref[:, targets], **TOL)


def test_early_exit_stops_once_targets_settled():
    # path 0 -> 1 -> ... -> 9: asking for node 2 settles 3 nodes only
    n = 10
    net = network_from(np.arange(n - 1), np.arange(1, n), np.ones(n - 1), n)
    is_target = np.zeros(n, dtype=np.bool_)
    is_target[2] = True
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    settled = ksp.dijkstra_into(
        net.indptr, net.head, net.free_flow_time_s, 0, np.zeros(n, np.bool_), is_target, 1,
        dist, pred, np.empty(n), np.empty(n, np.int64), np.full(n, -1, np.int64),
    )  # fmt: skip
    assert settled == 3 and dist[2] == 2.0


def test_edge_cases_zero_parallel_selfloop_unreachable_inf():
    # 0->1 twice (5 and 2), 1->1 self-loop, 1->2 weight 0, 3 unreachable, 2->3 forbidden (inf)
    tail = [0, 0, 1, 1, 2]
    head = [1, 1, 1, 2, 3]
    w = [5.0, 2.0, 0.5, 0.0, np.inf]
    net = network_from(tail, head, w, 4)
    dist, pred = ksp.single_source(
        net.indptr, net.head, net.free_flow_time_s, 0, np.zeros(4, bool), np.empty(0, np.int64)
    )
    np.testing.assert_array_equal(dist, [0.0, 2.0, 2.0, np.inf])
    assert pred[3] == -1
    assert net.free_flow_time_s[ksp.path_edges(pred, net.tail, 2)].tolist() == [2.0, 0.0]


# ----------------------------------------------------------------------------- compression and hierarchy


def compressed(net: Network, weight: np.ndarray):
    nb_ptr, nbr = compression.undirected_neighbours(net.indptr, net.head)
    contracted, component = compression.contractible(nb_ptr, nbr, net.centroid)
    order = compression.bfs_order(nb_ptr, nbr, ~contracted)
    new_of = np.full(net.n_nodes, -1, dtype=np.int64)
    new_of[order] = np.arange(order.size)
    c = compression.compress(
        net.indptr, net.head, weight, nb_ptr, nbr, contracted, component, new_of
    )
    return nb_ptr, nbr, contracted, component, order, c


def test_compression_keeps_kept_distances_and_boundaries(tntp):
    net = tntp("Berlin-Mitte-Center")
    w = net.free_flow_time_s
    nb_ptr, nbr, contracted, component, order, (ci, ch, cw, anchor, offset) = compressed(net, w)
    assert not contracted[net.centroid].any()  # centroids are never contracted
    assert contracted.sum() > 0.1 * net.n_nodes
    # every component touches at most two kept nodes
    for c in np.unique(component[component >= 0]):
        members = np.flatnonzero(component == c)
        nbrs = np.unique(np.concatenate([nbr[nb_ptr[v] : nb_ptr[v + 1]] for v in members]))
        assert (~contracted[nbrs]).sum() <= 2
    # distances between kept nodes on the compressed graph equal the full graph's
    cnet = Network.from_edges(np.repeat(np.arange(order.size), np.diff(ci)), ch, n_nodes=order.size,
                              free_flow_time_s=cw, centroid=net.centroid[order], crs=None)  # fmt: skip
    src = np.arange(0, order.size, 9)
    ref = reference(net, w, order[src], net.centroid)
    got = reference(cnet, cnet.free_flow_time_s, src, cnet.centroid)
    np.testing.assert_allclose(got, ref[:, order], **TOL)
    # contracted nodes: best anchor + offset (no-through anchors only from themselves)
    for i, s in enumerate(src):
        cand = np.where(anchor >= 0, got[i][np.maximum(anchor, 0)] + offset, np.inf)
        nt_anchor = cnet.centroid[np.maximum(anchor, 0)] & (anchor != s)
        cand[nt_anchor] = np.inf
        np.testing.assert_allclose(cand.min(axis=1)[contracted], ref[i][contracted], **TOL)


def hierarchy_arrays(n, c_indptr, c_head, c_weight, no_through):
    rank, et, eh, ew = contraction.build_hierarchy(c_indptr, c_head, c_weight, no_through, 50, 8.0)
    assert rank.size == n and np.array_equal(np.sort(rank), np.arange(n))
    ch_of = n - 1 - rank
    t, h = ch_of[et], ch_of[eh]
    up = t > h

    def csr(by, other, mask):
        o = np.argsort(by[mask], kind="stable")
        ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(by[mask], minlength=n), out=ptr[1:])
        return ptr, other[mask][o].astype(np.int32), ew[mask][o]

    nt_ch = np.empty(n, bool)
    nt_ch[ch_of] = no_through
    arrays = (
        *csr(t, h, up),
        *csr(h, t, ~up & ~no_through[et]),
        *csr(t, h, ~up & no_through[et]),
        nt_ch,
    )
    return ch_of, arrays


def test_hierarchy_phast_matches_scipy(tntp):
    net = tntp("Berlin-Mitte-Center")
    w = net.free_flow_time_s
    n = net.n_nodes
    ch_of, arrays = hierarchy_arrays(n, net.indptr, net.head, w, net.centroid)
    sources = np.r_[np.flatnonzero(net.centroid), np.arange(40, n, 23)]
    ref = reference(net, w, sources, net.centroid)
    col = ch_of.copy()
    anc = np.full((n, 2), -1, np.int64)
    off = np.full((n, 2), np.inf)
    for threads in (1, 2):  # deterministic: same bits with 1 and 2 threads
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        seeds = np.column_stack([ch_of[sources], np.full(sources.size, -1)])
        seed_d = np.column_stack([np.zeros(sources.size), np.full(sources.size, np.inf)])
        no_local = (np.zeros(sources.size + 1, np.int64), np.empty(0, np.int64), np.empty(0))
        got = contraction.phast(
            *arrays,
            seeds,
            seed_d,
            ch_of[sources],
            *no_local,
            col,
            anc,
            off,
            np.zeros((n, 2), bool),
            threads,
        )
        np.testing.assert_allclose(got, ref, **TOL)
        if threads == 1:
            first = got
        else:
            np.testing.assert_array_equal(got, first)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@st.composite
def graphs(draw):
    """Random directed graphs with chains, dead-end trees, zero/parallel/self/inf edges."""
    n0 = draw(st.integers(1, 12))
    weights = st.one_of(st.sampled_from([0.0, 1.0, 2.0, 3.5]), st.floats(0, 100), st.just(np.inf))
    tail, head = [], []
    for _ in range(draw(st.integers(0, 3 * n0))):
        tail.append(draw(st.integers(0, n0 - 1)))
        head.append(draw(st.integers(0, n0 - 1)))
    n = n0
    for _ in range(draw(st.integers(0, 4))):  # chains between two nodes
        a, b = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        length = draw(st.integers(1, 4))
        mode = draw(st.sampled_from(["oneway", "twoway", "mixed"]))
        path = [a, *range(n, n + length), b]
        n += length
        for u, v in zip(path[:-1], path[1:], strict=True):
            tail.append(u)
            head.append(v)
            if mode == "twoway" or (mode == "mixed" and draw(st.booleans())):
                tail.append(v)
                head.append(u)
    for _ in range(draw(st.integers(0, 3))):  # dead-end trees
        root = draw(st.integers(0, n - 1))
        tail += [root, n]
        head += [n, root]
        if draw(st.booleans()):
            tail += [n, n + 1]
            head += [n + 1, n]
            n += 1
        n += 1
    w = [draw(weights) for _ in tail]
    centroid = np.array([draw(st.booleans()) and draw(st.booleans()) for _ in range(n)])
    return network_from(tail, head, w, n, centroid)


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=graphs())
def test_random_graphs_plain_compressed_and_hierarchy_match_scipy(net):
    w = net.free_flow_time_s
    n = net.n_nodes
    ref = reference(net, w, np.arange(n), net.centroid)
    np.testing.assert_allclose(
        ksp.many_to_all(net.indptr, net.head, w, np.arange(n), net.centroid), ref, **TOL
    )
    nb_ptr, nbr, contracted, component, order, (ci, chd, cw, anchor, offset) = compressed(net, w)
    k = order.size
    if k == 0:
        return
    # compressed graph + hierarchy from every source (contracted ones through their
    # boundary and a local search), expanded to all nodes
    ch_of, arrays = hierarchy_arrays(k, ci, chd, cw, net.centroid[order])
    new_of = np.full(n, -1, np.int64)
    new_of[order] = np.arange(k)
    seeds, seed_d, src, *local = compression.source_seeds(
        net.indptr, net.head, w, component, new_of, np.arange(n), np.arange(n)
    )
    to_h = np.append(ch_of, -1)
    anc_h = to_h[anchor]
    anc_nt = contraction.anchor_no_through(anc_h, arrays[-1])
    got = contraction.phast(
        *arrays, to_h[seeds], seed_d, to_h[src], *local, to_h[new_of], anc_h, offset, anc_nt, 2
    )
    np.testing.assert_allclose(got, ref, **TOL)
    needed = np.ones(k, np.bool_)
    got = ksp.many_expanded(
        ci,
        chd,
        cw,
        net.centroid[order],
        seeds,
        seed_d,
        src,
        *local,
        new_of,
        anchor,
        offset,
        needed,
        0,
    )
    np.testing.assert_allclose(got, ref, **TOL)


# ----------------------------------------------------------------------------- snapping


def test_nearest_nodes_match_brute_force_haversine():
    rng = np.random.default_rng(7)
    lon = 7.42 + rng.random(500) * 0.02
    lat = 43.72 + rng.random(500) * 0.02
    px = 7.40 + rng.random(300) * 0.06  # some points outside the node box
    py = 43.70 + rng.random(300) * 0.06
    ky = snapping.EARTH_RADIUS_M * np.pi / 180
    kx = ky * np.cos(np.radians(max(lat.max(), py.max())))
    cand = np.arange(lon.size)
    grid = snapping.build_grid(lon * kx, lat * ky, 250)
    node, dist = snapping.nearest_nodes(px, py, px * kx, py * ky, lon, lat, cand, *grid, True)
    brute = np.array(
        [
            [snapping.haversine_m(x, y, a, b) for a, b in zip(lon, lat, strict=True)]
            for x, y in zip(px, py, strict=True)
        ]
    )
    np.testing.assert_array_equal(node, brute.argmin(axis=1))
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=1e-12)
    # haversine itself: 1 degree of latitude is 111.195 km on the mean-radius sphere
    assert snapping.haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195.08, abs=0.01)
