"""Algorithm B's structures: the bush graph (chains contracted, dead ends dropped) and the
segmented pool of bushes.

References: shortest distances between kept nodes on the bush graph (costs summed over
each link's members) equal scipy's Dijkstra on the network (tolerance 1e-9 s: sums of
the same few link costs in another order); flows are checked against a solve of the
same problem with other segment sizes (same order of operations: equal bit for bit).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from transitopt.assignment import assign
from transitopt.kernels.assignment_bush import chain_graph
from transitopt.network.tntp import load_tntp


def _csr(n, tail, head):
    order = np.lexsort((head, tail))
    tail, head = tail[order], head[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return indptr, tail.astype(np.int32), head.astype(np.int32)


def _subdivided_grid(seed):
    """A 5 x 5 grid whose edges are split into chains of 0-3 extra nodes, with some one-way
    streets, a dead-end tree, parallel links, a self-loop and a closed link."""
    rng = np.random.default_rng(seed)
    tails: list[int] = []
    heads: list[int] = []
    n = 25

    def street(a, b, two_way):
        nonlocal n
        path = [a] + list(range(n, n + int(rng.integers(0, 4)))) + [b]
        n += len(path) - 2
        for u, v in zip(path[:-1], path[1:], strict=True):
            tails.append(u)
            heads.append(v)
            if two_way:
                tails.append(v)
                heads.append(u)

    for r in range(5):
        for c in range(5):
            v = 5 * r + c
            if c < 4:
                street(v, v + 1, rng.random() < 0.8)
            if r < 4:
                street(v, v + 5, rng.random() < 0.8)
    # a dead-end tree hanging off node 12, parallel links 0 -> 1, a self-loop at 7
    tails += [12, n, n, n + 1, 0, 7]
    heads += [n, 12, n + 1, n, 1, 7]
    n += 2
    indptr, tail, head = _csr(n, np.array(tails), np.array(heads))
    cost = rng.uniform(1.0, 10.0, tail.size)
    usable = rng.random(tail.size) > 0.03
    protect = np.zeros(n, dtype=np.bool_)
    protect[[0, 6, 18, 24]] = True
    return n, indptr, tail, head, cost, usable, protect


@pytest.mark.parametrize("seed", range(5))
def test_chain_graph_keeps_shortest_distances_between_kept_nodes(seed):
    n, indptr, tail, head, cost, usable, protect = _subdivided_grid(seed)
    new_of, c_indptr, c_head, c_tail, member_ptr, member = chain_graph(
        indptr, head, usable, protect
    )
    kept = np.flatnonzero(new_of >= 0)
    assert (new_of[protect] >= 0).all()
    assert kept.size < n  # something was contracted
    c_cost = np.zeros(c_head.size)
    for e in range(c_head.size):
        links = member[member_ptr[e] : member_ptr[e + 1]]
        assert usable[links].all()
        # the members form a path from the link's tail to its head through contracted nodes
        assert tail[links[0]] == kept[c_tail[e]] and head[links[-1]] == kept[c_head[e]]
        assert (head[links[:-1]] == tail[links[1:]]).all()
        assert (new_of[head[links[:-1]]] < 0).all()
        c_cost[e] = cost[links].sum()
    assert np.unique(member).size == member.size  # a network link is in one bush link at most
    full = _min_duplicates(sp.coo_matrix((cost[usable], (tail[usable], head[usable])), (n, n)), n)
    small = _min_duplicates(
        sp.coo_matrix((c_cost, (c_tail, c_head)), (kept.size, kept.size)), kept.size
    )
    ref = dijkstra(full, indices=kept)[:, kept]
    ours = dijkstra(small)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def _min_duplicates(coo, n):
    """CSR matrix with the smallest of parallel entries (scipy would add them up)."""
    order = np.lexsort((coo.data, coo.col, coo.row))
    row, col, data = coo.row[order], coo.col[order], coo.data[order]
    first = np.ones(row.size, dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
    return sp.csr_matrix((data[first], (row[first], col[first])), (n, n))


def test_algorithm_b_segments_give_the_same_flows(shared_data, monkeypatch):
    """The origins are split into segments, each with its own pool; with sweeps in one
    lane, any split gives the same run (the same operations in the same order). (With
    several lanes a sweep's rounds are formed within a segment, so the split matters.)"""
    from transitopt.assignment import bush

    monkeypatch.setattr(bush, "SWEEP_LANES", 1)
    case = load_tntp(shared_data / "tntp" / "Anaheim")
    ref = assign(case.network, case.demand, algorithm="algb", gap=1e-9)
    monkeypatch.setattr(bush, "SEGMENT_ORIGINS", 5)
    split = assign(case.network, case.demand, algorithm="algb", gap=1e-9)
    np.testing.assert_array_equal(split.flow, ref.flow)
    np.testing.assert_allclose(
        split.history["relative_gap"], ref.history["relative_gap"], rtol=1e-9, atol=1e-12
    )  # the gap sums the shortest-path costs by segment: last digits may differ


def test_algorithm_b_skipping_small_differences_keeps_the_equilibrium(shared_data, monkeypatch):
    """Sweeps that leave nodes with small path cost differences (``SKIP_SHARE``) reach the
    same equilibrium as sweeps that shift at every node: link flows are unique at
    equilibrium (strictly increasing BPR costs); at relative gap 1e-11 both runs agree to
    1e-3 veh/h on SiouxFalls (flows up to ~25,000 veh/h)."""
    from transitopt.assignment import bush

    case = load_tntp(shared_data / "tntp" / "SiouxFalls")
    assert bush.SKIP_SHARE > 0.0
    skipping = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    monkeypatch.setattr(bush, "SKIP_SHARE", 0.0)
    every = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    assert skipping.history["relative_gap"].iloc[-1] <= 1e-11
    np.testing.assert_allclose(skipping.flow, every.flow, rtol=0.0, atol=1e-3)


def test_algorithm_b_parallel_sweeps_do_not_depend_on_the_thread_count(shared_data, monkeypatch):
    """Sweeps run in a fixed number of lanes (Jacobi between lanes), whatever the number
    of threads: one and two threads give the same run, bit for bit (the parallel kernel
    is forced; Anaheim alone would get its serial twin)."""
    import numba

    from transitopt.assignment import bush

    assert bush.SWEEP_LANES > 1
    monkeypatch.setattr(bush, "sized", lambda kernel, work: kernel)
    case = load_tntp(shared_data / "tntp" / "Anaheim")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = assign(case.network, case.demand, algorithm="algb", gap=1e-9)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = assign(case.network, case.demand, algorithm="algb", gap=1e-9)
    finally:
        numba.set_num_threads(before)
    assert one.iterations == two.iterations
    np.testing.assert_array_equal(one.flow, two.flow)


def test_algorithm_b_lanes_and_partial_updates_keep_the_equilibrium(shared_data, monkeypatch):
    """Parallel sweeps (``SWEEP_LANES`` lanes, Jacobi between them), updating only the
    bushes with a large excess cost (``GROW_SHARE``) and those below the mean every other
    iteration (``ALTERNATE_BELOW_SHARE``) reach the equilibrium of the plain algorithm
    (one lane, every bush updated every iteration): link flows are unique at equilibrium
    (strictly increasing BPR costs); at relative gap 1e-11 both agree to 1e-3 veh/h on
    SiouxFalls (flows up to ~25,000 veh/h), as in the test above."""
    from transitopt.assignment import bush

    assert bush.SWEEP_LANES > 1 and bush.GROW_SHARE > 0.0 and bush.ALTERNATE_BELOW_SHARE > 0.0
    case = load_tntp(shared_data / "tntp" / "SiouxFalls")
    fast = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    monkeypatch.setattr(bush, "SWEEP_LANES", 1)
    monkeypatch.setattr(bush, "GROW_SHARE", 0.0)
    plain = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    assert fast.history["relative_gap"].iloc[-1] <= 1e-11
    assert plain.history["relative_gap"].iloc[-1] <= 1e-11
    np.testing.assert_allclose(fast.flow, plain.flow, rtol=0.0, atol=1e-3)


def test_algorithm_b_gap_from_the_core_graph_skim_equals_the_searches(shared_data, monkeypatch):
    """From the second iteration the gap and each origin's excess come from a zone-to-zone
    skim of the AON core graph (``SKIM_GAP``) instead of a search per origin on the bush
    graph: the same distances up to the order of summation, so the second iteration's gap
    (same flows in both runs) agrees to 1e-9 relative, and both runs reach the unique
    equilibrium link flows (1e-3 veh/h at gap 1e-11 on SiouxFalls, as above)."""
    from transitopt.assignment import bush

    assert bush.SKIM_GAP
    monkeypatch.setattr(bush, "SKIM_BELOW_SHARE", 2.0)  # from the second iteration on
    case = load_tntp(shared_data / "tntp" / "SiouxFalls")
    skim = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    monkeypatch.setattr(bush, "SKIM_GAP", False)
    search = assign(case.network, case.demand, algorithm="algb", gap=1e-11)
    gaps, ref = skim.history["relative_gap"], search.history["relative_gap"]
    assert gaps.iloc[0] == ref.iloc[0]
    assert gaps.iloc[1] == pytest.approx(ref.iloc[1], rel=1e-9)
    assert gaps.iloc[-1] <= 1e-11
    np.testing.assert_allclose(skim.flow, search.flow, rtol=0.0, atol=1e-3)
