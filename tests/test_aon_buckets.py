"""The dense loader's bucket queue (``kernels/buckets.py``, ``kernels.assignment.aon_load_dense``):
the same distances as the heap's search and scipy's Dijkstra, bit for bit, also where
every distance lies on a bucket boundary and paths tie; the heap where no ring is exact."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _street_grid import street_grid
from scipy.sparse.csgraph import dijkstra

from transitopt.assignment._aon import CompressedAON
from transitopt.kernels.assignment import aon_load, aon_load_compressed, aon_load_dense
from transitopt.kernels.buckets import MAX_BUCKET, WIDTH_SLACK, bucket_ring

NO_TREE = np.empty((0, 0), np.int32)
NO_COUNT = np.empty(0, np.int64)
#: forces the bucket queue whatever its ring's size
ANY_RING = 2**40


def test_the_ring_fits_the_costs_of_edges_into_through_nodes():
    # 0 -> 1 (3 s), 0 -> 2 (0.5 s, 2 is a centroid: never queued), 1 -> 0 (inf), 1 -> 2 (7 s)
    ptr = np.array([0, 2, 4, 4])
    head = np.array([1, 2, 0, 2])
    no_through = np.array([False, False, True])
    width, n_slots = bucket_ring(ptr, head, np.array([3.0, 0.5, np.inf, 7.0]), no_through)
    assert width == pytest.approx(3.0 * (1 - WIDTH_SLACK), rel=1e-15) and width < 3.0
    assert n_slots == 4  # int(3 / width) + 3 = 4 slots (a power of two)
    width, n_slots = bucket_ring(ptr, head, np.array([3.0, 0.5, 40.0, 7.0]), no_through)
    assert n_slots == 16  # int(40 / width) + 3 = 16


def test_no_ring_where_an_edge_into_a_through_node_costs_nothing_or_the_span_is_too_long():
    ptr = np.array([0, 1, 2])
    head = np.array([1, 0])
    no_through = np.zeros(2, dtype=np.bool_)
    assert bucket_ring(ptr, head, np.array([0.0, 2.0]), no_through) == (0.0, 0)
    assert bucket_ring(ptr, head, np.array([np.inf, np.inf]), no_through) == (0.0, 0)
    assert bucket_ring(ptr, head, np.array([1e-3, 1e6 * MAX_BUCKET]), no_through) == (0.0, 0)


def _grid(side: int, n_zones: int, rng: np.random.Generator):
    """A two-way street grid with ``n_zones`` centroids (nodes ``0..n_zones-1``), each
    joined both ways to one street node: ``(n, tail, head, centroid)``."""
    tail, head, centroid = street_grid(side, n_zones, rng)
    order = np.argsort(tail, kind="stable")
    return centroid.size, tail[order], head[order], centroid


def _scipy_costs(n, tail, head, cost, centroid, zones):
    """Zone-to-zone shortest costs by scipy, no path through another centroid."""
    out = np.empty((zones.size, zones.size))
    for i, o in enumerate(zones):
        usable = ~(centroid[tail] & (tail != o)) & np.isfinite(cost)
        graph = sp.csr_matrix((cost[usable], (tail[usable], head[usable])), shape=(n, n))
        out[i] = dijkstra(graph, indices=o)[zones]
    return out


def _loaders(n, tail, head, cost, centroid, zones, demand, max_added=32):
    """Zone costs and ``(flow, sptt, unreachable)`` of the dense loader (bucket queue forced)
    and of the heap's search of the same pruned core."""
    indptr = np.r_[0, np.cumsum(np.bincount(tail, minlength=n))]
    aon = CompressedAON(indptr, head, np.isfinite(cost), centroid, zones, zones, demand, max_added)
    shape = (zones.size, zones.size)
    common = (*aon.args, cost, aon.no_through, aon.origins, aon.dests, demand, True)
    heap_costs, bucket_costs = np.empty(shape), np.empty(shape)
    heap = aon_load_compressed(*common, True, heap_costs, NO_TREE, NO_COUNT)
    buckets = aon_load_dense(*common, bucket_costs, NO_TREE, NO_COUNT, ANY_RING)
    plain = aon_load(indptr, head, tail, cost, centroid, zones, zones, demand, True)
    return heap_costs, bucket_costs, heap, buckets, plain


@pytest.mark.parametrize("max_added", [0, 32, 128])
def test_integer_costs_tie_everywhere_and_every_distance_is_on_a_bucket_boundary(max_added):
    rng = np.random.default_rng(max_added)
    n, tail, head, centroid = _grid(24, 12, rng)
    cost = rng.integers(1, 4, tail.size).astype(np.float64)  # the width is 1 - 1e-6
    zones = np.arange(12)
    demand = rng.uniform(0, 5, (12, 12))
    np.fill_diagonal(demand, 0.0)
    heap_costs, bucket_costs, heap, buckets, _ = _loaders(
        n, tail, head, cost, centroid, zones, demand, max_added
    )
    ref = _scipy_costs(n, tail, head, cost, centroid, zones)
    np.fill_diagonal(ref, np.nan)  # no demand on the diagonal: not asked
    np.testing.assert_array_equal(bucket_costs, ref)  # integers: exact
    np.testing.assert_array_equal(bucket_costs, heap_costs)
    assert buckets[1] == heap[1]  # SPTT: the same sums (flows may differ among ties)
    assert buckets[0].sum() > 0


@pytest.mark.parametrize("seed", range(4))
def test_continuous_costs_give_the_heaps_distances_and_the_plain_flows(seed):
    rng = np.random.default_rng(100 + seed)
    n, tail, head, centroid = _grid(20, 10, rng)
    cost = rng.uniform(5.0, 15.0, tail.size) * (1 + 3 * (rng.random(tail.size) < 0.2))
    cost[rng.random(tail.size) < 0.03] = np.inf  # closed links
    zones = np.arange(10)
    # sparse rows too: the search stops once the targets are final
    demand = rng.uniform(0, 5, (10, 10)) * (rng.random((10, 10)) < (0.2, 1.0)[seed % 2])
    np.fill_diagonal(demand, 0.0)
    heap_costs, bucket_costs, heap, buckets, plain = _loaders(
        n, tail, head, cost, centroid, zones, demand
    )
    np.testing.assert_array_equal(bucket_costs, heap_costs)  # NaN where no demand
    ref = _scipy_costs(n, tail, head, cost, centroid, zones)
    asked = demand > 0
    np.testing.assert_allclose(bucket_costs[asked], ref[asked], rtol=1e-12)  # summation order
    # unique shortest paths (continuous costs): the plain AON's flows, summation order apart
    np.testing.assert_allclose(buckets[0], plain[0], rtol=1e-12, atol=1e-9)
    assert buckets[1] == pytest.approx(plain[1], rel=1e-12)
    assert buckets[2] == pytest.approx(plain[2], rel=1e-12, abs=1e-12)


def test_a_free_edge_into_a_through_node_falls_back_to_the_heap():
    rng = np.random.default_rng(7)
    n, tail, head, centroid = _grid(12, 6, rng)
    cost = rng.uniform(1.0, 2.0, tail.size)
    cost[np.flatnonzero(~centroid[head])[:5]] = 0.0  # no exact bucket width
    zones = np.arange(6)
    demand = rng.uniform(1, 5, (6, 6))
    np.fill_diagonal(demand, 0.0)
    heap_costs, bucket_costs, heap, buckets, plain = _loaders(
        n, tail, head, cost, centroid, zones, demand, 0
    )
    np.testing.assert_array_equal(bucket_costs, heap_costs)
    np.testing.assert_array_equal(buckets[0], heap[0])  # the same search: bit for bit
    np.testing.assert_allclose(buckets[0], plain[0], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("seed", range(2))
def test_congested_costs_with_a_wide_spread_give_the_heaps_distances_and_the_plain_flows(seed):
    # BPR costs of a late bfw iteration: free flow 5-15 s, volume / capacity up to 4, so
    # single links up to 39 x their free-flow cost (Grid100k's core: 6-216 s, 64 slots);
    # a ring of over a hundred buckets, keys lowered within and across buckets
    rng = np.random.default_rng(300 + seed)
    n, tail, head, centroid = _grid(22, 10, rng)
    free = rng.uniform(5.0, 15.0, tail.size)
    cost = free * (1.0 + 0.15 * rng.uniform(0.0, 4.0, tail.size) ** 4)
    zones = np.arange(10)
    demand = rng.uniform(0, 5, (10, 10))
    np.fill_diagonal(demand, 0.0)
    indptr = np.r_[0, np.cumsum(np.bincount(tail, minlength=n))]
    through = ~centroid[head]
    assert bucket_ring(indptr, head, cost, centroid)[1] >= 128  # a wide ring on the links
    assert cost[through].max() / cost[through].min() > 100
    heap_costs, bucket_costs, heap, buckets, plain = _loaders(
        n, tail, head, cost, centroid, zones, demand
    )
    np.testing.assert_array_equal(bucket_costs, heap_costs)  # bit for bit (NaN diagonal)
    ref = _scipy_costs(n, tail, head, cost, centroid, zones)
    off = ~np.eye(zones.size, dtype=bool)
    np.testing.assert_allclose(bucket_costs[off], ref[off], rtol=1e-12)  # summation order
    np.testing.assert_allclose(buckets[0], plain[0], rtol=1e-12, atol=1e-9)
    assert buckets[1] == pytest.approx(plain[1], rel=1e-12)
