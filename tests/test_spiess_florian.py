"""Optimal strategies (Spiess & Florian 1989) against the paper's worked example, a slow
textbook implementation on random graphs, and AequilibraE's hyperpath kernel.

The worked example (Spiess, H. and Florian, M. (1989), Optimal strategies: a new
assignment model for transit networks, Transportation Research B 23(2), 83-102, Fig. 1):
stops A, X, Y, B and four lines with headways 12, 12, 30 and 6 minutes; line 1 A-B
25 min; line 2 A-X 7 min, X-Y 6 min; line 3 X-Y 4 min, Y-B 4 min; line 4 Y-B 10 min.
Waiting time is half the combined headway. Published: expected travel time A->B
27.75 min; half the trips take line 1, half line 2, and at Y the line-2 riders split
1/12 on line 3 and 5/12 on line 4 (the split of the frequencies 1/30 : 1/6).
The node labels of the 16-node layout are those of AequilibraE's test of the same
example (tests/aequilibrae/paths/test_hyperpath.py, ``u_i_vec_ref``).
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from transitopt.kernels import transit as kernels
from transitopt.transit import (
    GraphParameters,
    Line,
    Stop,
    TransitSupply,
    assign_transit,
    build_transit_graph,
)

INF = np.inf
F1 = F2 = 1.0 / (12 * 60)
F3 = 1.0 / (30 * 60)
F4 = 1.0 / (6 * 60)

# (tail, head, cost s, frequency 1/s, published volume for 1 trip A->B); nodes: 0 A,
# 1/2 boarding lines 2/1 at A, 3 X, 4 line 3 at X, 5 line 2 arriving X, 6 line 2 leaving X,
# 7 Y, 8 line 4 at Y, 9 line 3 arriving Y, 10 line 3 leaving Y, 11 line 2 arriving Y,
# 12 B, 13-15 lines 4, 3, 1 arriving B
PAPER_LINKS = [
    (0, 2, 0, F1, 0.5),
    (0, 1, 0, F2, 0.5),
    (2, 15, 1500, INF, 0.5),
    (1, 5, 420, INF, 0.5),
    (5, 3, 0, INF, 0.0),
    (5, 6, 0, INF, 0.5),
    (5, 4, 0, F3, 0.0),
    (3, 6, 0, F2, 0.0),
    (3, 4, 0, F3, 0.0),
    (6, 11, 360, INF, 0.5),
    (4, 9, 240, INF, 0.0),
    (9, 7, 0, INF, 0.0),
    (11, 7, 0, INF, 0.0),
    (11, 10, 0, F3, 1 / 12),
    (11, 8, 0, F4, 5 / 12),
    (9, 8, 0, F4, 0.0),
    (9, 10, 0, INF, 0.0),
    (7, 10, 0, F3, 0.0),
    (7, 8, 0, F4, 0.0),
    (10, 14, 240, INF, 1 / 12),
    (8, 13, 600, INF, 5 / 12),
    (15, 12, 0, INF, 0.5),
    (14, 12, 0, INF, 1 / 12),
    (13, 12, 0, INF, 5 / 12),
]
PAPER_LABELS_S = [
    1665.0,
    1470.0,
    1500.0,
    1144.28571429,
    480.0,
    1050.0,
    1050.0,
    690.0,
    600.0,
    240.0,
    240.0,
    690.0,
    0.0,
    0.0,
    0.0,
    0.0,
]


def reverse_csr(head: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    in_links = np.argsort(head, kind="stable").astype(np.int64)
    in_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(head, minlength=n), out=in_indptr[1:])
    return in_indptr, in_links


def paper_graph():
    table = np.array(PAPER_LINKS, dtype=np.float64)
    tail, head = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    in_indptr, in_links = reverse_csr(head, 16)
    return tail, head, table[:, 2].copy(), table[:, 3].copy(), in_indptr, in_links, table[:, 4]


def test_paper_example_labels_and_volumes():
    tail, head, cost, freq, in_indptr, in_links, published = paper_graph()
    skim = np.zeros((tail.size, 1))
    u, *_ = kernels.optimal_strategy(tail, head, cost, freq, in_indptr, in_links, skim, 12, 0.5)
    # published 27.75 min; labels to 1e-6 s (AequilibraE's reference values, 8 decimals)
    assert u[0] / 60.0 == pytest.approx(27.75, abs=1e-12)
    np.testing.assert_allclose(u, PAPER_LABELS_S, rtol=0, atol=1e-6)
    volume, skims, arrived = kernels.assign(
        tail,
        head,
        cost,
        freq,
        in_indptr,
        in_links,
        skim,
        0.5,
        np.array([0]),
        np.array([12]),
        np.array([[1.0]]),
        True,
    )
    np.testing.assert_allclose(volume, published, rtol=0, atol=1e-12)
    assert skims[0, 0, 0] == pytest.approx(1665.0, abs=1e-9)
    assert arrived[0] == pytest.approx(1.0)


def paper_supply() -> TransitSupply:
    stops = [Stop(s, s, 106.8 + 0.01 * k, -6.2) for k, s in enumerate("AXYB")]
    lines = [
        Line("1", "1", "bus", ("A", "B"), 720.0, dwell_s=0.0, running_times_s=(1500.0,)),
        Line("2", "2", "bus", ("A", "X", "Y"), 720.0, dwell_s=0.0, running_times_s=(420.0, 360.0)),
        Line("3", "3", "bus", ("X", "Y", "B"), 1800.0, dwell_s=0.0, running_times_s=(240.0, 240.0)),
        Line("4", "4", "bus", ("Y", "B"), 360.0, dwell_s=0.0, running_times_s=(600.0,)),
    ]
    return TransitSupply.from_stops(stops, lines)


def test_paper_example_through_the_graph_builder():
    # stops 1.1 km apart: no walking transfers, as in the paper
    graph = build_transit_graph(paper_supply(), params=GraphParameters(max_transfer_walk_m=0.0))
    demand = np.zeros((4, 4))
    demand[0, 3] = 100.0
    result = assign_transit(graph, demand)
    assert result.skim("total_s")[0, 3] / 60.0 == pytest.approx(27.75, abs=1e-12)
    # wait: 3 min at A (lines 1+2, half of 6 min) + half the line-2 riders wait 2.5 min at Y
    assert result.skim("wait_s")[0, 3] / 60.0 == pytest.approx(3.0 + 0.5 * 2.5, abs=1e-12)
    assert result.skim("boardings")[0, 3] == pytest.approx(1.5, abs=1e-12)
    table = result.line_table().set_index("line")
    np.testing.assert_allclose(table["boardings"], [50.0, 50.0, 100 / 12, 500 / 12], rtol=1e-12)
    # expected in-vehicle time: 0.5*25 + 0.5*(7+6) + 1/12*4 + 5/12*10 min
    expected_ivt = 0.5 * 25 + 0.5 * 13 + 4 / 12 + 50 / 12
    assert result.skim("in_vehicle_s")[0, 3] / 60.0 == pytest.approx(expected_ivt, abs=1e-12)
    assert result.skim("total_s")[0, 3] == pytest.approx(
        result.skim("in_vehicle_s")[0, 3] + result.skim("wait_s")[0, 3], abs=1e-9
    )


def test_full_headway_wait_factor():
    # with wait = 1/F (exponential headways) at A: lines 1 (25 min) and 2 (7 + u=17.5):
    # line 2 alone gives 12 + 24.5 = 36.5 > 25, so line 1 joins: (1 + 25/12 + 24.5/12) / (2/12)
    graph = build_transit_graph(paper_supply(), params=GraphParameters(max_transfer_walk_m=0.0))
    tail, head, cost, freq = graph.tail, graph.head, graph.cost_s, graph.freq_hz
    u, *_ = kernels.optimal_strategy(
        tail,
        head,
        cost,
        freq,
        graph.in_indptr,
        graph.in_links,
        graph.link_skim,
        int(graph.destination_node[3]),
        1.0,
    )
    ref = reference_strategy(
        graph.n_nodes, tail, head, cost, freq, int(graph.destination_node[3]), 1.0
    )[0]
    np.testing.assert_allclose(u, ref, rtol=1e-12)
    # at Y, lines 3 and 4 (wait 1/F): (1 + 4/30 + 10/6) / (1/30 + 1/6) = 14 min; at X line 3
    # (30 + 8 = 38) and line 2 (6 + 14 = 20): (1 + 8/30 + 20/12) / (1/30 + 1/12) = 25.14 min
    assert u[graph.origin_node[2]] / 60 == pytest.approx(14.0, abs=1e-12)


# ---------------------------------------------------------------------- slow reference
def reference_strategy(n, tail, head, cost, freq, dest, alpha):
    """The textbook algorithm: repeatedly take the unscanned link with the least u_j + c_a."""
    u = np.full(n, np.inf)
    f = np.zeros(n)
    no_wait = np.full(n, -1)
    u[dest] = 0.0
    remaining = set(range(len(tail)))
    attractive: list[int] = []
    while remaining:
        a = min(remaining, key=lambda b: (u[head[b]] + cost[b], b))
        remaining.discard(a)
        key = u[head[a]] + cost[a]
        i = tail[a]
        if not np.isfinite(key) or i == dest or no_wait[i] >= 0 or not key < u[i]:
            continue
        if np.isinf(freq[a]):
            u[i], no_wait[i] = key, a
        elif f[i] == 0:
            u[i], f[i] = (alpha + freq[a] * key) / freq[a], freq[a]
        else:
            u[i], f[i] = (f[i] * u[i] + freq[a] * key) / (f[i] + freq[a]), f[i] + freq[a]
        attractive.append(a)
    return u, f, no_wait, attractive


def reference_volumes(n, tail, head, cost, freq, dest, alpha, origin_demand):
    u, f, no_wait, attractive = reference_strategy(n, tail, head, cost, freq, dest, alpha)
    node = np.zeros(n)
    for o, v in origin_demand.items():
        if np.isfinite(u[o]):
            node[o] += v
    volume = np.zeros(len(tail))
    # decreasing u_j + c_a (random costs: no ties)
    for a in sorted(attractive, key=lambda b: -(u[head[b]] + cost[b])):
        i = tail[a]
        share = (1.0 if no_wait[i] == a else 0.0) if no_wait[i] >= 0 else freq[a] / f[i]
        volume[a] += node[i] * share
        node[head[a]] += node[i] * share
    return u, volume


def random_graph(seed: int, n: int = 25, m: int = 110):
    rng = np.random.default_rng(seed)
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)
    keep = tail != head
    tail, head = tail[keep].astype(np.int64), head[keep].astype(np.int64)
    cost = rng.uniform(1.0, 100.0, tail.size)
    freq = np.where(rng.random(tail.size) < 0.5, np.inf, rng.uniform(0.002, 0.05, tail.size))
    in_indptr, in_links = reverse_csr(head, n)
    return tail, head, cost, freq, in_indptr, in_links


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_match_textbook_reference(seed):
    n = 25
    tail, head, cost, freq, in_indptr, in_links = random_graph(seed, n)
    rng = np.random.default_rng(100 + seed)
    dest = int(rng.integers(n))
    origins = np.array([o for o in range(n) if o != dest][:8])
    demand = rng.uniform(1.0, 10.0, origins.size)
    skim = np.ones((tail.size, 1))
    u, *_ = kernels.optimal_strategy(tail, head, cost, freq, in_indptr, in_links, skim, dest, 0.5)
    u_ref, volume_ref = reference_volumes(
        n, tail, head, cost, freq, dest, 0.5, dict(zip(origins, demand, strict=True))
    )
    np.testing.assert_allclose(u, u_ref, rtol=1e-12)
    volume, skims, arrived = kernels.assign(
        tail,
        head,
        cost,
        freq,
        in_indptr,
        in_links,
        skim,
        0.5,
        origins,
        np.array([dest]),
        demand[:, None],
        True,
    )
    np.testing.assert_allclose(volume, volume_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(skims[:, 0, 0], u_ref[origins], rtol=1e-12)
    # without skims the scan stops early, once past the labels of the origins with demand
    sparse = np.where(rng.random(origins.size) < 0.5, demand, 0.0)
    _, volume_ref = reference_volumes(
        n, tail, head, cost, freq, dest, 0.5, dict(zip(origins, sparse, strict=True))
    )
    volume, _, _ = kernels.assign(
        tail,
        head,
        cost,
        freq,
        in_indptr,
        in_links,
        skim,
        0.5,
        origins,
        np.array([dest]),
        sparse[:, None],
        False,
    )
    np.testing.assert_allclose(volume, volume_ref, rtol=1e-10, atol=1e-10)
    reachable = np.isfinite(u_ref[origins])
    assert arrived[0] == pytest.approx(demand[reachable].sum(), rel=1e-12)


def test_assignment_does_not_depend_on_thread_count():
    n = 60
    tail, head, cost, freq, in_indptr, in_links = random_graph(7, n, 400)
    rng = np.random.default_rng(3)
    nodes = np.arange(n, dtype=np.int64)
    demand = rng.uniform(0, 1, (n, n))
    skim = np.ones((tail.size, 1))
    args = (tail, head, cost, freq, in_indptr, in_links, skim, 0.5, nodes, nodes, demand, True)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = kernels.assign(*args)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = kernels.assign(*args)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise: fixed blocks, fixed reduction order


@pytest.mark.parametrize("seed", range(4))
def test_random_graphs_match_aequilibrae(seed):
    """AequilibraE 1.7's HyperpathGenerating on the same graph and demand (its wait is
    1/f, so it gets the frequencies divided by the wait factor); loads agree to 1e-9."""
    pytest.importorskip("aequilibrae")
    import pandas as pd
    from aequilibrae.paths.public_transport import HyperpathGenerating

    n = 30
    tail, head, cost, freq, in_indptr, in_links = random_graph(50 + seed, n, 150)
    rng = np.random.default_rng(seed)
    nodes = np.arange(n, dtype=np.int64)
    demand = rng.uniform(0, 1, (n, n)) * (rng.random((n, n)) < 0.3)
    np.fill_diagonal(demand, 0.0)
    volume, skims, _ = kernels.assign(
        tail,
        head,
        cost,
        freq,
        in_indptr,
        in_links,
        np.ones((tail.size, 1)),
        0.5,
        nodes,
        nodes,
        demand,
        True,
    )
    edges = pd.DataFrame({"tail": tail, "head": head, "trav_time": cost, "freq": freq / 0.5})
    hp = HyperpathGenerating(edges, nodes_to_indices=nodes, o_vert_ids=nodes, d_vert_ids=nodes)
    o, d = np.nonzero(demand)
    hp.assign(o.astype(np.uint32), d.astype(np.uint32), demand[o, d], threads=1)
    np.testing.assert_allclose(volume, hp._edges["volume"].to_numpy(), rtol=1e-9, atol=1e-9)
