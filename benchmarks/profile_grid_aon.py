"""Profile one all-or-nothing loading of a dense-demand grid (issue 11, item 2): CPU seconds
per part of a loading on the core graph the bfw iterations search (``_aon.LARGER_MAX_ADDED``,
pruned), with the heap (:func:`transitopt.kernels.assignment.aon_load_compressed`, the
loader before the bucket queue) and with the bucket queue (``aon_load_dense``, the loader
of ``DenseCoreAON`` now), and of a whole bfw iteration.

Parts (CPU s, all threads; at free-flow costs):

* link costs of the compressed and derived edges; pruning the core; the edge reordering;
* the heap's searches alone (one per origin, :func:`_search_listed`), and within them a
  replay of the relaxations in the settled order without any queue (the heap's share is
  the rest);
* the heap's searches with the tree loading and zone sums (:func:`_aon_blocks`): the
  loading's share is the difference;
* summing the block buffers and unpacking the core flows to the links;
* whole loadings with the heap and with the bucket queue, alternating (``--repeat``; the
  least of each), and the bucket queue's without loading flows; their zone costs must be
  equal bit for bit;
* with ``--iterations N``, a bfw iteration in parts, wall and CPU seconds each
  (:func:`bfw_parts`): the loading's stages (link and derived costs, pruning, reordering,
  the parallel searches, the buffers' sum and unpacking) and bfw's own steps (link
  costs, derivatives, conjugate target, line search, the monitor's gap and objective,
  Python between them), per iteration over N iterations after the first, the loader as
  it was (``serial``: pruning, buffer clearing and sums on one core) and as it is
  (``parallel``) alternating in one process, the least of ``--rounds``; flows compared;
* with ``--late N``, every iteration of one bfw run of N iterations (:func:`bfw_late`):
  wall and CPU seconds of each loading stage and of the line search, the pruned core's
  edges, the bucket ring (width, slots, the heap where no ring is exact), and every
  ``--stats-every`` loadings the work of a sample of searches (:func:`search_counts`:
  nodes settled, edges scanned, entries pushed and stale, buckets passed, keys lowered);
  then loadings at the costs of an early and a late iteration, alternating (the least
  and median of ``--rounds``): whether congested costs make a loading dearer.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/profile_grid_aon.py            # Grid100k
    PYTHONPATH=$PWD python benchmarks/profile_grid_aon.py --case Grid10k --limits 0 32 128
    PYTHONPATH=$PWD python benchmarks/profile_grid_aon.py --bfw-only --iterations 6 --rounds 3
    PYTHONPATH=$PWD python benchmarks/profile_grid_aon.py --bfw-only --late 45 --rounds 5

``--limits`` profiles the core at several elimination limits (``max_added``); the machine's
load only scales the CPU figures alike (run it alone to compare with other runs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np
from numba import prange

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cases import load_case  # noqa: E402

from transitopt.assignment import _aon  # noqa: E402
from transitopt.assignment._problem import build_problem  # noqa: E402
from transitopt.kernels._config import chunk_count, njit, njit_parallel  # noqa: E402
from transitopt.kernels.assignment import (  # noqa: E402
    MAX_SLOTS,
    _aon_blocks,
    _compressed_costs,
    _dense_block,
    _dense_flows,
    _dense_searches,
    _derived_costs,
    _leaf_bound,
    _search_listed,
    _unpack_flows,
    aon_load_compressed,
    aon_load_dense,
    leaves_last,
    prune_core,
    prune_core_parallel,
)
from transitopt.kernels.buckets import bucket_ring  # noqa: E402
from transitopt.kernels.heap import NOT_QUEUED, SETTLED  # noqa: E402
from transitopt.kernels.shortest_paths import search_scratch  # noqa: E402


@njit
def link_costs(cost, c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge):
    """The compressed and derived edges' costs at link costs ``cost`` (s), as a loading
    computes them: ``(edge costs, picked links, picked parts, the core edges' costs)``."""
    m_c, n_ops = c_link.size, op_a.size
    ec = np.empty(m_c + n_ops)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(n_ops, dtype=np.int64)
    _derived_costs(ec, m_c, op_sum, op_a, op_b, op_pick)
    return ec, pick, op_pick, ec[core_edge]


def searches_only(ptr, head, cost, split, no_through, origins, dests, counts):
    """Every origin's search (all destinations targets), nothing loaded; ``counts``:
    nodes settled, nodes reached, edges scanned. Returns the sum of the distances."""
    n = ptr.size - 1
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    touched = np.empty(n, dtype=np.int64)
    settled = np.empty(n, dtype=np.int64)
    is_target = np.zeros(n, dtype=np.bool_)
    for t in dests:
        is_target[t] = True
    targets = np.unique(dests)
    no_feeds = np.zeros(0, dtype=np.int64)
    total = 0.0
    for s in origins:
        n_s, n_t = _search_listed(
            ptr, head, cost, split, no_through, s, is_target, no_feeds, False, targets,
            dist, pred, heap_key, heap_node, position, touched, settled,
        )  # fmt: skip
        counts[0] += n_s
        counts[1] += n_t
        for i in range(n_s):
            u = settled[i]
            if u == s or not no_through[u]:
                counts[2] += ptr[u + 1] - ptr[u]
        for t in dests:
            total += dist[t]
        for k in range(n_t):
            v = touched[k]
            dist[v] = np.inf
            pred[v] = -1
            position[v] = NOT_QUEUED
    return total


@njit
def settled_orders(ptr, head, cost, split, no_through, origins, dests):
    """The settled order of each origin's search (rows), and how many (``count``)."""
    n = ptr.size - 1
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    touched = np.empty(n, dtype=np.int64)
    is_target = np.zeros(n, dtype=np.bool_)
    for t in dests:
        is_target[t] = True
    targets = np.unique(dests)
    no_feeds = np.zeros(0, dtype=np.int64)
    order = np.empty((origins.size, n), dtype=np.int64)
    count = np.empty(origins.size, dtype=np.int64)
    for i in range(origins.size):
        s = origins[i]
        n_s, n_t = _search_listed(
            ptr, head, cost, split, no_through, s, is_target, no_feeds, False, targets,
            dist, pred, heap_key, heap_node, position, touched, order[i],
        )  # fmt: skip
        count[i] = n_s
        for k in range(n_t):
            v = touched[k]
            dist[v] = np.inf
            pred[v] = -1
            position[v] = NOT_QUEUED
    return order, count


@njit
def relax_replay(ptr, head, cost, no_through, origins, order, count, repeat):
    """The searches' relaxations without a queue: each origin's settled nodes in its
    settled order, every edge's ``dist`` compared and lowered (as a search does, without
    the heap operations), ``repeat`` times over the origins given. Returns a checksum."""
    n = ptr.size - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    total = 0.0
    for _ in range(repeat):
        for i in range(origins.size):
            s = origins[i]
            dist[s] = 0.0
            for k in range(count[i]):
                u = order[i, k]
                if u != s and no_through[u]:
                    continue
                du = dist[u]
                for e in range(ptr[u], ptr[u + 1]):
                    v = head[e]
                    nd = du + cost[e]
                    if nd < dist[v]:
                        dist[v] = nd
                        pred[v] = e
            for k in range(count[i]):
                total += dist[order[i, k]]
            dist[:] = np.inf
    return total


def cpu(fn, *args):
    """``(result, CPU seconds)`` of ``fn(*args)``, all threads."""
    t = time.process_time()
    out = fn(*args)
    return out, time.process_time() - t


def profile_core(problem, cost, limit: int, prune: bool, repeat: int = 3) -> dict[str, float]:
    """CPU seconds per part of one loading on the core at elimination limit ``limit``;
    the heap's and the bucket queue's whole loadings ``repeat`` times, alternating (the
    least of each)."""
    aon = _aon.CompressedAON.of_problem(problem, limit, prune=prune)
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, k_ptr, k_head, k_tail, k_edge = aon.args
    no_through = np.ascontiguousarray(aon.no_through, dtype=np.bool_)
    origins, dests, demand = aon.origins, aon.dests, aon.demand
    m_c, n_ops = c_link.size, op_a.size
    parts: dict[str, float] = {}

    def costs():
        return link_costs(cost, c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, k_edge)

    costs()
    (ec, pick, op_pick, core_cost), parts["link costs"] = cpu(costs)
    if prune:
        pruned, parts["prune"] = cpu(prune_core, k_ptr, k_head, core_cost, no_through)
        ptr, p_head, p_tail, p_cost, p_edge = pruned
    else:
        ptr, p_head, p_tail, p_cost = k_ptr, k_head, k_tail, core_cost
        p_edge = np.arange(k_edge.size)
    (l_head, l_cost, perm, split, feed_ptr, feed_tail), parts["reorder"] = cpu(
        leaves_last, ptr, p_head, p_cost, no_through
    )
    counts = np.zeros(3, dtype=np.int64)
    searches_only(ptr, l_head, l_cost, split, no_through, origins[:2], dests, counts)
    counts[:] = 0
    _, parts["searches"] = cpu(
        searches_only, ptr, l_head, l_cost, split, no_through, origins, dests, counts
    )
    sample = origins[:: max(1, origins.size // 64)]
    order, count = settled_orders(ptr, l_head, l_cost, split, no_through, sample, dests)
    repeat = max(1, origins.size // sample.size)
    relax_replay(ptr, l_head, l_cost, no_through, sample[:1], order, count, 1)
    _, t_replay = cpu(relax_replay, ptr, l_head, l_cost, no_through, sample, order, count, repeat)
    parts["  of which relaxations (replay)"] = t_replay * origins.size / (sample.size * repeat)
    none = np.empty((0, 0))
    no_tree = np.empty((0, 0), dtype=np.int32)
    no_count = np.empty(0, dtype=np.int64)
    blocks = (ptr, l_head, p_tail, l_cost, split, feed_ptr, feed_tail, no_through, origins, dests,
              demand, True, none, no_tree, no_count)  # fmt: skip
    (buffers, _, _), t_blocks = cpu(_aon_blocks, *blocks)
    parts["loading trees (blocks - searches)"] = t_blocks - parts["searches"]

    def unpack():
        ef = np.zeros(m_c + n_ops)
        ef[k_edge[p_edge[perm]]] += buffers.sum(axis=0)
        flow = np.zeros(cost.size)
        _unpack_flows(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
        return flow

    _, parts["sum buffers + unpack"] = cpu(unpack)
    zc_heap = np.empty((origins.size, dests.size))
    zc_dense = np.empty((origins.size, dests.size))
    common = (*aon.args, cost, no_through, origins, dests, demand)
    heap_args = (*common, True, prune, zc_heap, no_tree, no_count)
    dense_args = (*common, True, zc_dense, no_tree, no_count, MAX_SLOTS)
    aon_load_dense(*dense_args)
    times: dict[str, list[float]] = {"heap": [], "dense": []}
    for _ in range(repeat):  # alternating, the least of each (the machine's load varies)
        (flow_heap, sptt_heap, _), t = cpu(aon_load_compressed, *heap_args)
        times["heap"].append(t)
        (flow_dense, sptt_dense, _), t = cpu(aon_load_dense, *dense_args)
        times["dense"].append(t)
    parts["loading, heap (aon_load_compressed)"] = min(times["heap"])
    parts["loading, buckets (aon_load_dense)"] = min(times["dense"])
    _, parts["  of which searches (load=False)"] = cpu(
        aon_load_dense, *common, False, zc_dense, no_tree, no_count, MAX_SLOTS
    )
    same = np.array_equal(zc_heap, zc_dense, equal_nan=True)
    flow_diff = np.abs(flow_dense - flow_heap).max() / max(1.0, np.abs(flow_heap).max())
    print(f"  dense vs heap: zone costs equal bit for bit {same}, sptt {sptt_dense - sptt_heap:.3g} "
          f"apart, flows {flow_diff:.2g} apart (relative to the largest)")  # fmt: skip
    n_s, n_t, scanned = (int(c) for c in counts)
    k = origins.size
    print(
        f"core at max_added {limit}{' pruned' if prune else ''}: {aon.n_core:,} nodes, "
        f"{aon.m_core:,} edges ({p_head.size:,} searched); {k} origins; per search "
        f"{n_s / k:,.0f} settled, {n_t / k:,.0f} reached, {scanned / k:,.0f} edges scanned"
    )
    for name, value in parts.items():
        print(f"  {name:38s} {value:7.3f} CPU s  {1e3 * value / k:6.3f} ms/origin")
    return parts


class Clock:
    """Wall and CPU seconds (all threads) per named part, summed over calls."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = {}
        #: parts are counted while this is True
        self.active = True

    def add(self, name: str, wall: float, cpu_s: float) -> None:
        """Add one call's ``wall`` and ``cpu_s`` seconds to part ``name`` (if active)."""
        if not self.active:
            return
        total = self.parts.setdefault(name, [0.0, 0.0])
        total[0] += wall
        total[1] += cpu_s

    def run(self, name: str, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``, timed as part ``name``."""
        wall, cpu_s = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.add(name, time.perf_counter() - wall, time.process_time() - cpu_s)

    def timed(self, name: str, fn):
        """``fn`` timed as part ``name`` on every call."""

        def wrapper(*args, **kwargs):
            return self.run(name, fn, *args, **kwargs)

        return wrapper


def staged_aon_load_dense(clock: Clock, serial: bool):
    """:func:`aon_load_dense` as its stage kernels called one by one from Python, each
    timed by ``clock`` (``"  load: ..."`` parts); ``serial``: the loader before its
    pruning, the clearing and sum of the blocks' buffers and the copy to the links ran in
    parallel (:func:`prune_core`, :func:`searches_before`, :func:`flows_before`)."""

    def load_dense(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_indptr, core_head,
        core_tail, core_edge, cost, no_through, origins, dests, demand, load, zone_cost,
        tree, tree_count, max_slots,
    ):  # fmt: skip
        ec, pick, op_pick, core_cost = clock.run(
            "  load: link costs", link_costs, cost, c_link, sc_ptr, step_ptr, cand, op_sum,
            op_a, op_b, core_edge,
        )  # fmt: skip
        prune = prune_core if serial else prune_core_parallel
        ptr, p_head, p_tail, p_cost, p_edge = clock.run(
            "  load: prune core", prune, core_indptr, core_head, core_cost, no_through
        )
        l_head, l_cost, perm, split, feed_ptr, feed_tail = clock.run(
            "  load: reorder + ring", leaves_last, ptr, p_head, p_cost, no_through
        )
        width, n_slots = bucket_ring(ptr, l_head, l_cost, no_through)
        if width > 0.0 and n_slots <= max_slots:
            searches = searches_before if serial else _dense_searches
            buffers, sptt, unreachable = clock.run(
                "  load: searches (parallel)", searches, ptr, l_head, p_tail, l_cost,
                no_through, origins, dests, demand, load, zone_cost, tree, tree_count, width,
                n_slots,
            )  # fmt: skip
        else:  # no exact ring: the heap, as the kernel does
            buffers, sptt, unreachable = clock.run(
                "  load: searches (parallel)", _aon_blocks, ptr, l_head, p_tail, l_cost, split,
                feed_ptr, feed_tail, no_through, origins, dests, demand, load, zone_cost, tree,
                tree_count,
            )  # fmt: skip
        flows = flows_before if serial else _dense_flows
        flow = clock.run(
            "  load: sum buffers + unpack", flows, buffers, perm, p_edge, core_edge, cost.size,
            c_link, sc_ptr, pick, op_sum, op_a, op_b, op_pick,
        )  # fmt: skip
        return flow, sptt, unreachable

    return load_dense


@njit_parallel
def searches_before(
    ptr, l_head, p_tail, l_cost, no_through, origins, dests, demand, load, zone_cost, tree,
    tree_count, width, n_slots,
):  # fmt: skip
    """:func:`_dense_searches` as it was before its blocks cleared their own buffers: all
    of them zeroed at once (``np.zeros``, one core) before the parallel loop."""
    head32 = np.empty(l_head.size, dtype=np.int32)
    for k in range(l_head.size):
        head32[k] = l_head[k]
    n_orig = origins.size
    n_blocks = chunk_count(n_orig)
    buffers = np.zeros((n_blocks, l_head.size if load else 0))
    sptt_part = np.zeros(n_blocks)
    unreach_part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        sptt_part[b], unreach_part[b] = _dense_block(
            ptr, head32, p_tail, l_cost, no_through, origins, dests, demand,
            np.int64(b * n_orig // n_blocks), np.int64((b + 1) * n_orig // n_blocks),
            load, buffers[b], zone_cost, tree, tree_count, width, n_slots,
        )  # fmt: skip
    sptt = 0.0
    unreachable = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
        unreachable += unreach_part[b]
    return buffers, sptt, unreachable


@njit
def flows_before(
    buffers, perm, p_edge, core_edge, m, c_link, sc_ptr, pick, op_sum, op_a, op_b, op_pick
):  # fmt: skip
    """:func:`_dense_flows` as it was, on one core: the buffers summed one edge after the
    other, then :func:`_unpack_flows`."""
    flow = np.zeros(m)
    ef = np.zeros(c_link.size + op_a.size)
    for k in range(perm.size):
        total = 0.0
        for b in range(buffers.shape[0]):
            total += buffers[b, k]
        ef[core_edge[p_edge[perm[k]]]] += total
    _unpack_flows(ef, c_link.size, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
    return flow


def bfw_parts(name: str, case, iterations: int, variants: list[str], rounds: int) -> None:
    """Wall and CPU seconds per bfw iteration and per part of it (the loading's stages,
    :mod:`transitopt.assignment.frank_wolfe`'s steps, the monitor's bookkeeping; the
    rest is Python between them), over ``iterations`` iterations after the first (an
    all-or-nothing start), with the loader of each of ``variants`` (``"serial"``: the
    stages before they were parallel; ``"parallel"``: today's), ``rounds`` times
    alternating (the least of each part); flows and gaps compared."""
    from transitopt.assignment import _aon, frank_wolfe
    from transitopt.assignment._hierarchy import aon_loader
    from transitopt.assignment._monitor import Monitor

    problem = build_problem(case.network, case.demand)
    originals = {step: getattr(frank_wolfe, step) for step in BFW_STEPS}
    dense = _aon.aon_load_dense

    def solve(variant: str, n_iter: int) -> tuple[Clock, list, Monitor, np.ndarray]:
        clock = Clock()
        for step in BFW_STEPS:
            setattr(frank_wolfe, step, clock.timed(f"bfw: {step}", originals[step]))
        _aon.aon_load_dense = staged_aon_load_dense(clock, variant == "serial")
        loader = aon_loader(problem)
        calls: list[tuple[float, float]] = []

        def timed_loader(cost):
            # counted from the second loading (the first is the start) to the last
            clock.active = 1 <= len(calls) <= n_iter
            calls.append((time.perf_counter(), time.process_time()))
            return clock.run("loading (all)", loader, cost)

        monitor = Monitor(problem, gap=1e-12, max_iter=n_iter, time_limit_s=None)
        monitor.record = clock.timed("monitor (gap, objective)", monitor.record)  # type: ignore[method-assign]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # it stops at max_iter on purpose
                flow = frank_wolfe.solve_link_based(problem, "bfw", monitor, aon=timed_loader)
        finally:
            _aon.aon_load_dense = dense
            for step in BFW_STEPS:
                setattr(frank_wolfe, step, originals[step])
        return clock, calls, monitor, flow

    # compiles; enough loadings that every later one searches the larger core
    warm = 2 + -(-_aon.SWITCH_SEARCHES // problem.origin_nodes.size)
    for variant in variants:
        solve(variant, warm)
    best: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    answers: dict[str, tuple[np.ndarray, float]] = {}
    for _ in range(rounds):
        for variant in variants:
            clock, calls, monitor, flow = solve(variant, iterations)
            answers[variant] = flow, monitor.rows[-1]["relative_gap"]
            n = len(calls) - 2  # iterations counted: from the second loading to the last
            parts = {
                "iteration": [
                    (calls[-1][0] - calls[1][0]) / n, (calls[-1][1] - calls[1][1]) / n
                ]
            }  # fmt: skip
            for part, (wall, cpu_s) in clock.parts.items():
                parts[part] = [wall / n, cpu_s / n]
            top = [v for k, v in parts.items() if not k.startswith(" ") and k != "iteration"]
            parts["rest (Python between the parts)"] = [
                parts["iteration"][i] - sum(v[i] for v in top) for i in (0, 1)
            ]
            for part, (wall, cpu_s) in parts.items():
                least = best[variant].setdefault(part, [np.inf, np.inf])
                least[0] = min(least[0], wall)
                least[1] = min(least[1], cpu_s)
    print(f"bfw on {name}: {iterations} iterations, {numba.get_num_threads()} threads, "
          f"least of {rounds} alternating rounds, load {os.getloadavg()[0]:.1f}; s per iteration:")  # fmt: skip
    header = "".join(f"{v + ' wall':>17s}{'CPU':>7s}" for v in variants)
    print(f"  {'part':38s}{header}")
    for part in best[variants[0]]:
        row = "".join(f"{best[v][part][0]:17.3f}{best[v][part][1]:7.3f}" for v in variants)
        print(f"  {part:38s}{row}")
    if len(variants) > 1:
        (f0, g0), (f1, g1) = answers[variants[0]], answers[variants[1]]
        diff = np.abs(f1 - f0).max() / max(1.0, np.abs(f0).max())
        print(f"  flows {diff:.2g} apart (relative to the largest); last gaps {g0:.9g} / {g1:.9g}")


#: the work of a search counted by :func:`search_counts` (per search, in this order)
SEARCH_COUNTS = (
    "settled", "scanned", "pushed", "stale", "buckets", "lowered", "same bucket", "reached",
)  # fmt: skip


@njit
def search_counts(ptr, head, cost, no_through, origins, dests, demand, sample, width, n_slots):
    """The work of the bucket-queue searches (:func:`_search_buckets`'s steps, the same
    distances) from the origins ``sample`` (indices into ``origins``; ``demand`` rows)
    on the searched graph ``ptr``/``head`` under ``cost``, bucket ``width`` and
    ``n_slots`` (:func:`bucket_ring`), summed over the sample in :data:`SEARCH_COUNTS`
    order: nodes settled, edges scanned, entries pushed (a node's first and every move
    to a lower bucket), stale entries skipped, buckets passed (the last one's number:
    each a look-up, empty or not), keys lowered of queued nodes, of them those that
    stayed in their bucket (no push), nodes reached."""
    n = ptr.size - 1
    inv_width = 1.0 / width
    mask = n_slots - 1
    dist = np.full(n, np.inf)
    position = np.full(n, NOT_QUEUED, dtype=np.int64)
    pool_item = np.empty(head.size + 1, dtype=np.int64)
    pool_next = np.empty(head.size + 1, dtype=np.int64)
    bucket_first = np.full(n_slots, -1, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    batch = np.empty(n, dtype=np.int64)
    is_target = np.zeros(n, dtype=np.bool_)
    target_list = np.empty(dests.size, dtype=np.int64)
    out = np.zeros(len(SEARCH_COUNTS), dtype=np.int64)
    for o in sample:
        n_targets = 0
        for j in range(dests.size):
            t = dests[j]
            if demand[o, j] > 0.0 and not is_target[t]:
                is_target[t] = True
                target_list[n_targets] = t
                n_targets += 1
        targets = target_list[:n_targets]
        source = origins[o]
        dist[source] = 0.0
        touched[0] = source
        n_t = 1
        pool_item[0] = source
        pool_next[0] = -1
        bucket_first[0] = 0
        n_pool = 1
        position[source] = 0
        queued = 1
        current = 0
        left = n_targets
        bound = np.inf
        if is_target[source]:
            left -= 1
        while queued > 0:
            slot = current & mask
            k = bucket_first[slot]
            if k < 0:
                current += 1
                if current / inv_width >= bound:
                    break
                continue
            bucket_first[slot] = -1
            n_batch = 0
            while k >= 0:
                u = pool_item[k]
                if position[u] == current:
                    batch[n_batch] = u
                    n_batch += 1
                    position[u] = SETTLED
                else:
                    out[3] += 1
                k = pool_next[k]
            queued -= n_batch
            for i in range(n_batch):
                u = batch[i]
                du = dist[u]
                if du >= bound:
                    continue
                out[0] += 1
                if u != source and no_through[u]:
                    continue
                if is_target[u] and u != source:
                    left -= 1
                    if left == 0:
                        bound = _leaf_bound(no_through, source, dist, targets)
                out[1] += ptr[u + 1] - ptr[u]
                for e in range(ptr[u], ptr[u + 1]):
                    v = head[e]
                    nd = du + cost[e]
                    if nd >= dist[v]:
                        continue
                    if no_through[v]:
                        if v == source or not is_target[v]:
                            continue
                        before_d = dist[v]
                        if before_d == np.inf:
                            touched[n_t] = v
                            n_t += 1
                            left -= 1
                        dist[v] = nd
                        if left == 0 and before_d >= bound:
                            bound = _leaf_bound(no_through, source, dist, targets)
                        continue
                    p = position[v]
                    if p == SETTLED:
                        continue
                    if p == NOT_QUEUED:
                        touched[n_t] = v
                        n_t += 1
                        queued += 1
                    else:
                        out[5] += 1
                    dist[v] = nd
                    b = np.int64(nd * inv_width)
                    if b != p:
                        slot = b & mask
                        pool_item[n_pool] = v
                        pool_next[n_pool] = bucket_first[slot]
                        bucket_first[slot] = n_pool
                        n_pool += 1
                        position[v] = b
                    else:
                        out[6] += 1
        out[2] += n_pool
        out[4] += current + 1
        out[7] += n_t
        for slot in range(bucket_first.size):
            bucket_first[slot] = -1
        for t in targets:
            is_target[t] = False
        for i in range(n_t):
            v = touched[i]
            dist[v] = np.inf
            position[v] = NOT_QUEUED
    return out


def bfw_late(name: str, case, iterations: int, rounds: int, stats_every: int) -> None:
    """Every iteration of one bfw run of ``iterations`` iterations on ``case``: wall and
    CPU seconds of each stage of its loading (:func:`staged_aon_load_dense`) and of its
    line search, the pruned core's edges, the bucket ring, and every ``stats_every``
    loadings the work per search of 32 searches (:func:`search_counts`). Then loadings
    (the whole ``aon_load_dense``) at the link costs of the second loading on the larger
    core (the iterations a 4-iteration probe of ``bench_scaling.py`` times) and of the
    last loading, alternating, ``rounds`` times: the least and median
    wall and CPU seconds of each (the machine's load drifts alike over both)."""
    from transitopt.assignment import frank_wolfe
    from transitopt.assignment._hierarchy import aon_loader
    from transitopt.assignment._monitor import Monitor

    problem = build_problem(case.network, case.demand)
    rows: list[dict] = []
    row: dict = {}

    def record(clock: Clock) -> None:
        for part, (wall, cpu_s) in clock.parts.items():
            row[part.replace("  load: ", "")] = (wall, cpu_s)
        clock.parts.clear()

    clock = Clock()
    staged = staged_aon_load_dense(clock, serial=False)

    def load_dense(*args):
        out = staged(*args)
        record(clock)
        row["args"] = args
        return out

    def statistics(args) -> None:
        """The searched graph of the loading of ``args`` once more, for its statistics."""
        core_indptr, core_head, core_edge, cost, no_through = (args[i] for i in (7, 8, 10, 11, 12))
        origins, dests, demand = args[13:16]
        _, _, _, core_cost = link_costs(cost, *args[:7], core_edge)
        ptr, p_head, _, p_cost, _ = prune_core_parallel(
            core_indptr, core_head, core_cost, no_through
        )
        l_head, l_cost, *_ = leaves_last(ptr, p_head, p_cost, no_through)
        width, n_slots = bucket_ring(ptr, l_head, l_cost, no_through)
        row.update(nodes=ptr.size - 1, kept=p_head.size, width=width, slots=n_slots)
        row["heap"] = not (width > 0.0 and n_slots <= MAX_SLOTS)
        through = l_cost[~no_through[l_head] & np.isfinite(l_cost)]
        row["median cost"] = float(np.median(through))
        row["largest cost"] = float(through.max())
        if stats_every and len(rows) % stats_every == 0 and not row["heap"]:
            sample = np.arange(0, origins.size, max(1, origins.size // 32))
            counts = search_counts(
                ptr, l_head, l_cost, no_through, origins, dests, demand, sample, width, n_slots
            )
            row["counts"] = counts / sample.size

    saved: dict[int, np.ndarray] = {}
    dense = _aon.aon_load_dense
    line_search = frank_wolfe.line_search
    _aon.aon_load_dense = load_dense
    frank_wolfe.line_search = clock.timed("line search", line_search)
    loader = aon_loader(problem)

    def timed_loader(cost):
        if rows:
            rows[-1]["line search"] = clock.parts.pop("line search", [0.0, 0.0])
        row.clear()
        row["load average"] = os.getloadavg()[0]
        saved[len(rows)] = cost.copy()
        start = time.perf_counter(), time.process_time()
        out = loader(cost)
        row["at"] = (time.perf_counter(), time.process_time())
        row["loading"] = (row["at"][0] - start[0], row["at"][1] - start[1])
        statistics(row.pop("args"))  # not counted: the step to the next loading leaves it out
        row["aside"] = (time.perf_counter() - row["at"][0], time.process_time() - row["at"][1])
        rows.append(dict(row))
        return out

    monitor = Monitor(problem, gap=1e-12, max_iter=iterations, time_limit_s=None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it stops at max_iter on purpose
            frank_wolfe.solve_link_based(problem, "bfw", monitor, aon=timed_loader)
    finally:
        _aon.aon_load_dense = dense
        frank_wolfe.line_search = line_search
    stages = ("link costs", "prune core", "reorder + ring", "searches (parallel)",
              "sum buffers + unpack", "line search")  # fmt: skip
    print(f"bfw on {name}, {iterations} iterations, {numba.get_num_threads()} threads: wall / "
          "CPU s per iteration (the step to the next loading) and per stage; load average")  # fmt: skip
    print("  k  iteration    loading  " + "  ".join(f"{s[:12]:>12s}" for s in stages)
          + "   nodes    kept  width slots   median largest  load")  # fmt: skip
    for k, r in enumerate(rows):
        step = (np.nan, np.nan)
        if k > 0:
            last = rows[k - 1]
            step = tuple(r["at"][i] - last["at"][i] - last["aside"][i] for i in (0, 1))
        cells = "  ".join(
            f"{r.get(s, (np.nan,) * 2)[0]:5.3f}/{r.get(s, (np.nan,) * 2)[1]:5.3f}"[:12].rjust(12)
            for s in stages
        )
        print(f"{k:3d} {step[0]:5.2f}/{step[1]:5.2f} {r['loading'][0]:5.2f}/{r['loading'][1]:5.2f}  "
              f"{cells} {r.get('nodes', 0):7,d} {r.get('kept', 0):7,d} {r.get('width', 0):6.3f} "
              f"{r.get('slots', 0):5d}{' heap' if r.get('heap') else ''} {r.get('median cost', 0):7.2f} "
              f"{r.get('largest cost', 0):7.1f} {r['load average']:5.1f}")  # fmt: skip
    print("  per search (32 origins):  k  " + "  ".join(f"{c:>11s}" for c in SEARCH_COUNTS))
    for k, r in enumerate(rows):
        if "counts" in r:
            print(f"{' ' * 27}{k:3d}  " + "  ".join(f"{c:11,.0f}" for c in r["counts"]))
    larger = [k for k, r in enumerate(rows) if r.get("nodes") == rows[-1].get("nodes")]
    early, late = larger[min(1, len(larger) - 1)], larger[-1]  # the probe's, the last
    times: dict[int, list[tuple[float, float]]] = {early: [], late: []}
    for _ in range(rounds):
        for k in (early, late):
            start = time.perf_counter(), time.process_time()
            loader(saved[k])
            times[k].append((time.perf_counter() - start[0], time.process_time() - start[1]))
    print(f"loadings at the costs of loadings {early} and {late}, alternating, {rounds} rounds "
          f"(load {os.getloadavg()[0]:.1f}): least / median wall, CPU s")  # fmt: skip
    for k in (early, late):
        a = np.array(times[k])
        print(f"  loading {k:3d}: wall {a[:, 0].min():.3f} / {np.median(a[:, 0]):.3f}, "
              f"CPU {a[:, 1].min():.3f} / {np.median(a[:, 1]):.3f}")  # fmt: skip


#: the steps of :func:`transitopt.assignment.frank_wolfe.solve_link_based` timed by
#: :func:`bfw_parts` (names in that module)
BFW_STEPS = ("costs_into", "derivatives_into", "bfw_target", "cfw_target", "line_search")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="Grid100k")
    parser.add_argument("--limits", nargs="+", type=int, default=[_aon.LARGER_MAX_ADDED])
    parser.add_argument("--no-prune", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="numba threads (0: default)")
    parser.add_argument("--iterations", type=int, default=0, help="also time bfw (e.g. 4)")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["serial", "parallel"],
        choices=["serial", "parallel"],
        help="loaders of --iterations (see staged_aon_load_dense)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="bfw runs of each variant")
    parser.add_argument("--bfw-only", action="store_true", help="skip the loading profile")
    parser.add_argument(
        "--late", type=int, default=0, help="every iteration of a bfw run this long (bfw_late)"
    )
    parser.add_argument(
        "--stats-every", type=int, default=5, help="--late: count searches every this many loadings"
    )
    parser.add_argument("--repeat", type=int, default=3, help="loadings of each kind")
    opts = parser.parse_args()
    if opts.threads:
        numba.set_num_threads(opts.threads)
    if opts.case != "Grid2k" and not opts.bfw_only:  # compile every kernel on a small case first
        small = load_case("Grid2k")
        small_problem = build_problem(small.network, small.demand)
        small_cost = np.ascontiguousarray(small_problem.t0, dtype=np.float64)
        with open(os.devnull, "w") as quiet:
            out, sys.stdout = sys.stdout, quiet
            try:
                profile_core(small_problem, small_cost, opts.limits[0], not opts.no_prune, 1)
            finally:
                sys.stdout = out
    case = load_case(opts.case)
    problem = build_problem(case.network, case.demand)
    cost = np.ascontiguousarray(problem.t0, dtype=np.float64)
    print(f"{opts.case}: {problem.indptr.size - 1:,} nodes, {problem.head.size:,} links, "
          f"{numba.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if not opts.bfw_only:
        for limit in opts.limits:
            profile_core(problem, cost, limit, not opts.no_prune, opts.repeat)
    if opts.iterations > 1:
        bfw_parts(opts.case, case, opts.iterations, opts.variants, opts.rounds)
    if opts.late > 1:
        bfw_late(opts.case, case, opts.late, opts.rounds, opts.stats_every)


if __name__ == "__main__":
    main()
