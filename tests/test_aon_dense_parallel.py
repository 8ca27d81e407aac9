"""The dense loader's stages that run in parallel besides its searches
(``kernels.assignment``: :func:`prune_core_parallel`, :func:`_dense_flows`) against their
serial forms (:func:`prune_core`; the buffers summed one edge after the other and
:func:`_unpack_flows`) on a street grid, a TNTP network (Berlin-Mitte-Center) and an OSM
street graph (Monaco): the same arrays bit for bit, with one thread or several (each
node's witness searches and each edge's sum over the blocks are computed alone, in the
same order); and the whole loading against the heap's loader of the same pruned core
(zone costs bit for bit; flows to 1e-9 veh/h: of equal paths either may be taken, and
continuous random costs leave none).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from _street_grid import street_grid

from transitopt.assignment._aon import CompressedAON
from transitopt.kernels.assignment import (
    _compressed_costs,
    _dense_flows,
    _derived_costs,
    _unpack_flows,
    aon_load_compressed,
    aon_load_dense,
    leaves_last,
    prune_core,
    prune_core_parallel,
)
from transitopt.network import Network, load_network

NO_TREE = np.empty((0, 0), np.int32)
NO_COUNT = np.empty(0, np.int64)
#: forces the bucket queue whatever its ring's size
ANY_RING = 2**40
#: flows of the bucket queue's loading vs the heap's: the same paths summed in another order
TOL_VEH = 1e-9


def _grid(seed: int, side: int = 30, n_zones: int = 12) -> tuple[Network, np.ndarray]:
    """A two-way street grid with ``n_zones`` centroids, each joined both ways to one
    street node; ``(network, zone node indices)``."""
    rng = np.random.default_rng(seed)
    tail, head, centroid = street_grid(side, n_zones, rng)
    net = Network.from_edges(
        tail, head, n_nodes=centroid.size, centroid=centroid,
        free_flow_time_s=rng.uniform(5.0, 20.0, tail.size), crs=None,
    )  # fmt: skip
    return net, np.arange(n_zones)


def _network(where: str, require_data) -> tuple[Network, np.ndarray]:
    """The network of case ``where`` and its zone node indices."""
    if where == "grid":
        return _grid(3)
    if where == "tntp":
        from transitopt.network.tntp import read_tntp_network

        folder = require_data("tntp/Berlin-Mitte-Center")
        net = read_tntp_network(folder / "berlin-mitte-center_net.tntp")
        return net, np.flatnonzero(net.centroid)
    net = load_network(require_data("osm/monaco-250101.osm.pbf"), network_type="drive", cache=False)
    return net, np.random.default_rng(4).choice(net.n_nodes, 40, replace=False)


def _core(net: Network, zones: np.ndarray, seed: int):
    """A loader of dense random demand between ``zones`` on the core at ``max_added``
    128 (the dense loader's), continuous random link costs (a few closed), and the core
    edges' costs."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0.5, 10.0, (zones.size, zones.size))
    np.fill_diagonal(demand, 0.0)
    cost = net.free_flow_time_s * rng.uniform(1.0, 2.0, net.n_edges) + rng.uniform(
        0.0, 1.0, net.n_edges
    )
    usable = rng.random(net.n_edges) >= 0.02
    cost[~usable] = np.inf
    aon = CompressedAON(
        net.indptr, net.head, usable, net.centroid, zones, zones, demand, 128, prune=True
    )
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, *_, k_edge = aon.args
    ec = np.empty(c_link.size + op_a.size)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(op_a.size, dtype=np.int64)
    _derived_costs(ec, c_link.size, op_sum, op_a, op_b, op_pick)
    return aon, cost, ec, pick, op_pick, np.ascontiguousarray(ec[k_edge])


CASES = ["grid", "tntp", pytest.param("osm", marks=pytest.mark.slow)]


@pytest.mark.parametrize("where", CASES)
def test_parallel_pruning_keeps_the_serial_pruning_edges(where, require_data):
    net, zones = _network(where, require_data)
    aon, _, _, _, _, core_cost = _core(net, zones, 11)
    k_ptr, k_head = aon.args[7], aon.args[8]
    serial = prune_core(k_ptr, k_head, core_cost, aon.no_through)
    assert 0 < serial[1].size < k_head.size  # something dropped, something kept
    threads = numba.get_num_threads()
    try:
        for n_threads in sorted({1, threads}):
            numba.set_num_threads(n_threads)
            parallel = prune_core_parallel(k_ptr, k_head, core_cost, aon.no_through)
            for a, b in zip(serial, parallel, strict=True):
                np.testing.assert_array_equal(a, b)
    finally:
        numba.set_num_threads(threads)


@pytest.mark.parametrize("where", CASES)
def test_parallel_sum_and_unpacking_give_the_serial_flows(where, require_data):
    net, zones = _network(where, require_data)
    aon, cost, ec, pick, op_pick, core_cost = _core(net, zones, 12)
    c_link, sc_ptr, _, _, op_sum, op_a, op_b, k_ptr, k_head, _, k_edge = aon.args
    ptr, p_head, _, p_cost, p_edge = prune_core(k_ptr, k_head, core_cost, aon.no_through)
    perm = leaves_last(ptr, p_head, p_cost, aon.no_through)[2]
    rng = np.random.default_rng(13)
    # block buffers of searched-edge flows (veh/h), most edges loaded by some block
    buffers = rng.uniform(0.0, 50.0, (32, perm.size)) * (rng.random((32, perm.size)) < 0.3)
    ef = np.zeros(c_link.size + op_a.size)
    for k in range(perm.size):  # the serial sum: block order, one edge after the other
        ef[k_edge[p_edge[perm[k]]]] += _in_order(buffers[:, k])
    serial = np.zeros(cost.size)
    _unpack_flows(ef, c_link.size, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, serial)
    assert np.count_nonzero(serial) > 0
    parallel = _dense_flows(
        buffers, perm, p_edge, k_edge, cost.size, c_link, sc_ptr, pick, op_sum, op_a, op_b,
        op_pick,
    )  # fmt: skip
    np.testing.assert_array_equal(parallel, serial)


def _in_order(values: np.ndarray) -> float:
    """The sum of ``values`` added one after the other, first to last."""
    total = 0.0
    for v in values:
        total += float(v)
    return total


@pytest.mark.parametrize("where", CASES)
def test_a_dense_loading_equals_the_heaps_loading_of_the_same_pruned_core(where, require_data):
    net, zones = _network(where, require_data)
    aon, cost, *_ = _core(net, zones, 14)
    shape = (zones.size, zones.size)
    common = (*aon.args, cost, aon.no_through, aon.origins, aon.dests, aon.demand, True)
    heap_costs, bucket_costs = np.empty(shape), np.empty(shape)
    heap = aon_load_compressed(*common, True, heap_costs, NO_TREE, NO_COUNT)
    dense = aon_load_dense(*common, bucket_costs, NO_TREE, NO_COUNT, ANY_RING)
    np.testing.assert_array_equal(bucket_costs, heap_costs)  # NaN where no demand
    np.testing.assert_allclose(dense[0], heap[0], rtol=0, atol=TOL_VEH)
    assert dense[1] == pytest.approx(heap[1], rel=1e-12)
    assert np.count_nonzero(dense[0]) > 0
