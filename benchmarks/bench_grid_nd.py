"""Would a nested-dissection hierarchy load Grid100k faster? (issue 11, item 2) A measurement.

On a street grid with dense demand (Grid100k: 1,024 zones, gravity demand on nearly all
pairs) the all-or-nothing loader gives up on the contraction hierarchy of
``assignment/_hierarchy.py`` (its greedy elimination passes ``MAX_OPS`` derived edges)
and searches a core graph with one full Dijkstra per origin. This script measures the
customisable alternative (CCH, Dibbelt, Strasser & Wagner 2016) in its cheapest form:

* order: centroids first (no fill through them), then nested dissection by coordinate
  bisection (the longer side split at the median; separator: the boundary nodes of the
  side with fewer, so a grid line), cells of ``--leaf`` nodes or fewer in any order;
* the fill graph of that order, without witness searches (metric-independent), built
  once: ``arcs`` undirected pairs, each carrying an up and a down cost;
* per loading, the *customisation*: every lower triangle ``v < u < w`` (``triangles``)
  makes ``c(u, w) = min(c(u, w), c(u, v) + c(v, w))``, both directions;
* per origin, the query of an all-or-nothing loading: an upward pass over the origin's
  elimination-tree ancestors, then a downward sweep (PHAST) restricted to ``T``, the
  nodes that can reach a destination zone (the union of the destinations' upward
  closures: RPHAST target selection), ``--block`` origins at once (one row of
  ``--block`` distances per node, so each arc is read once per block), keeping the
  parent arc of every node and origin as a loading needs;
* "perfect" customisation (exact distances on every arc, then arcs that an upper or
  intermediate triangle matches dropped): how far the sweep could shrink.

The flow push along each origin's tree and the unpacking of arcs to links are not
written: the query and customisation figures are a lower bound of such a loader's AON.
Beside them, in the same process, the loader used today on this problem (core graph with
``DENSE_MAX_ADDED``, pruned each loading, one Dijkstra per origin). All figures are CPU
seconds (all threads) at free-flow costs; the machine's load only scales them alike.
The prototype's distances are checked against scipy's Dijkstra on the core graph.

    python benchmarks/bench_grid_nd.py                   # Grid100k, ~2 min CPU
    python benchmarks/bench_grid_nd.py --case Grid10k    # quick
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from scipy.sparse.csgraph import dijkstra

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cases import load_case  # noqa: E402

from transitopt.assignment import _aon  # noqa: E402
from transitopt.assignment._aon import LARGER_MAX_ADDED as DENSE_MAX_ADDED  # noqa: E402
from transitopt.assignment._problem import build_problem  # noqa: E402
from transitopt.kernels.assignment import _compressed_costs, _derived_costs  # noqa: E402

# The kernels below are this experiment's prototype, not the library's (the design was
# not adopted, see docs/architecture.md): plain numba, compiled for this script only.


@njit(cache=True)
def undirected_adjacency(n, tail, head):
    """Symmetric CSR ``(ptr, adj)`` of ``tail -> head``: self-loops and duplicates dropped."""
    deg = np.zeros(n, np.int64)
    for e in range(tail.size):
        if tail[e] != head[e]:
            deg[tail[e]] += 1
            deg[head[e]] += 1
    ptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        ptr[v + 1] = ptr[v] + deg[v]
    fill = ptr[:-1].copy()
    adj = np.empty(ptr[n], np.int64)
    for e in range(tail.size):
        a, b = tail[e], head[e]
        if a != b:
            adj[fill[a]] = b
            fill[a] += 1
            adj[fill[b]] = a
            fill[b] += 1
    out_ptr = np.zeros(n + 1, np.int64)
    k = 0
    for v in range(n):
        last = -1
        for w in np.sort(adj[ptr[v] : ptr[v + 1]]):
            if w != last:
                adj[k] = w
                k += 1
                last = w
        out_ptr[v + 1] = k
    return out_ptr, adj[:k].copy()


@njit(cache=True)
def dissection_order(n, ptr, adj, x, y, no_through, leaf):
    """``order[r]``: the node of rank ``r``; centroids first, then nested dissection by
    coordinate bisection (see the module doc)."""
    order = np.empty(n, np.int64)
    base = 0
    for v in range(n):
        if no_through[v]:
            order[base] = v
            base += 1
    nodes = np.empty(n - base, np.int64)
    k = 0
    for v in range(n):
        if not no_through[v]:
            nodes[k] = v
            k += 1
    side = np.zeros(n, np.int64)
    st_lo = np.empty(2 * n + 2, np.int64)
    st_hi = np.empty(2 * n + 2, np.int64)
    st_lo[0] = 0
    st_hi[0] = nodes.size
    top = 1
    seg = 0
    while top > 0:
        top -= 1
        lo, hi = st_lo[top], st_hi[top]
        m = hi - lo
        if m <= leaf:
            for i in range(lo, hi):
                order[base + i] = nodes[i]
            continue
        sub = nodes[lo:hi].copy()
        xs, ys = x[sub], y[sub]
        key = xs if xs.max() - xs.min() >= ys.max() - ys.min() else ys
        sub = sub[np.argsort(key, kind="mergesort")]
        half = m // 2
        seg += 1
        for i in range(m):
            side[sub[i]] = seg if i < half else -seg
        n_left = 0
        n_right = 0
        boundary = np.zeros(m, np.bool_)
        for i in range(m):
            v = sub[i]
            for j in range(ptr[v], ptr[v + 1]):
                if side[adj[j]] == -side[v]:
                    boundary[i] = True
                    if i < half:
                        n_left += 1
                    else:
                        n_right += 1
                    break
        sep_left = n_left <= n_right
        is_sep = np.zeros(m, np.bool_)
        for i in range(m):
            is_sep[i] = boundary[i] and ((i < half) == sep_left)
        a = 0
        for i in range(m):
            if i < half and not is_sep[i]:
                nodes[lo + a] = sub[i]
                a += 1
        n_first = a
        for i in range(m):
            if i >= half and not is_sep[i]:
                nodes[lo + a] = sub[i]
                a += 1
        n_rest = a
        for i in range(m):
            if is_sep[i]:
                nodes[lo + a] = sub[i]
                order[base + lo + a] = sub[i]
                a += 1
        for i in range(m):
            side[sub[i]] = 0
        st_lo[top], st_hi[top] = lo, lo + n_first
        top += 1
        st_lo[top], st_hi[top] = lo + n_first, lo + n_rest
        top += 1
    return order


@njit(cache=True)
def fill_graph(n, ptr, adj, order, no_through):
    """Upper neighbours of each rank in the filled graph of ``order`` (no fill through
    centroids): ``(rank_of, up_ptr, up_head, parent)``, ``up_head`` sorted per rank,
    ``parent``: the elimination tree (-1: a root or a centroid)."""
    rank = np.empty(n, np.int64)
    for r in range(n):
        rank[order[r]] = r
    child_head = np.full(n, -1, np.int64)
    child_next = np.full(n, -1, np.int64)
    parent = np.full(n, -1, np.int64)
    up_ptr = np.zeros(n + 1, np.int64)
    up_head = np.empty(4 * ptr[n] + 16, np.int64)
    mark = np.full(n, -1, np.int64)
    buf = np.empty(n, np.int64)
    k = 0
    for r in range(n):
        v = order[r]
        nb = 0
        for j in range(ptr[v], ptr[v + 1]):
            w = rank[adj[j]]
            if w > r and mark[w] != r:
                mark[w] = r
                buf[nb] = w
                nb += 1
        c = child_head[r]
        while c >= 0:
            for j in range(up_ptr[c], up_ptr[c + 1]):
                w = up_head[j]
                if w > r and mark[w] != r:
                    mark[w] = r
                    buf[nb] = w
                    nb += 1
            c = child_next[c]
        nbrs = np.sort(buf[:nb])
        if k + nb > up_head.size:
            grown = np.empty(max(2 * up_head.size, k + nb), np.int64)
            for i in range(k):
                grown[i] = up_head[i]
            up_head = grown
        for i in range(nb):
            up_head[k + i] = nbrs[i]
        k += nb
        up_ptr[r + 1] = k
        if nb > 0 and not no_through[v]:
            parent[r] = nbrs[0]
            child_next[r] = child_head[nbrs[0]]
            child_head[nbrs[0]] = r
    return rank, up_ptr, up_head[:k].copy(), parent


@njit(cache=True)
def triangle_count(n, up_ptr, no_through_rank):
    """Lower triangles ``v < u < w`` of the fill graph (centroids ``v`` excluded)."""
    total = 0
    for v in range(n):
        if not no_through_rank[v]:
            d = up_ptr[v + 1] - up_ptr[v]
            total += d * (d - 1) // 2
    return total


@njit(cache=True)
def _arc(up_ptr, up_head, u, w):
    """Index of arc ``{u, w}`` (``u < w``) in ``u``'s upper neighbours."""
    lo, hi = up_ptr[u], up_ptr[u + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if up_head[mid] < w:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def arc_costs(up_ptr, up_head, rank, tail, head, cost):
    """``(c_up, c_down)`` per arc ``{v, up_head[j]}``: the cheapest edge ``v -> u`` and
    ``u -> v`` (``inf``: none)."""
    c_up = np.full(up_head.size, np.inf)
    c_down = np.full(up_head.size, np.inf)
    for e in range(tail.size):
        a, b = rank[tail[e]], rank[head[e]]
        if a < b:
            j = _arc(up_ptr, up_head, a, b)
            c_up[j] = min(c_up[j], cost[e])
        elif b < a:
            j = _arc(up_ptr, up_head, b, a)
            c_down[j] = min(c_down[j], cost[e])
    return c_up, c_down


@njit(cache=True)
def customise(n, up_ptr, up_head, no_through_rank, c_up, c_down):
    """Lower-triangle customisation, ranks in increasing order (in place)."""
    for v in range(n):
        if no_through_rank[v]:
            continue
        stop = up_ptr[v + 1]
        for i in range(up_ptr[v], stop):
            u = up_head[i]
            p = up_ptr[u]
            for j in range(i + 1, stop):
                w = up_head[j]
                while up_head[p] < w:
                    p += 1
                c_up[p] = min(c_up[p], c_down[i] + c_up[j])
                c_down[p] = min(c_down[p], c_down[j] + c_up[i])


@njit(cache=True)
def perfect_needed(n, up_ptr, up_head, c_up, c_down):
    """Perfect customisation (ranks in decreasing order, in place), then the arcs no
    upper or intermediate triangle matches: ``(needed_up, needed_down)``."""
    for v in range(n - 1, -1, -1):
        stop = up_ptr[v + 1]
        for i in range(up_ptr[v], stop):
            p = up_ptr[up_head[i]]
            for j in range(i + 1, stop):
                while up_head[p] < up_head[j]:
                    p += 1
                c_up[i] = min(c_up[i], c_up[j] + c_down[p])
                c_up[j] = min(c_up[j], c_up[i] + c_up[p])
                c_down[i] = min(c_down[i], c_up[p] + c_down[j])
                c_down[j] = min(c_down[j], c_down[p] + c_down[i])
    need_up = c_up < np.inf
    need_down = c_down < np.inf
    for v in range(n):
        stop = up_ptr[v + 1]
        for i in range(up_ptr[v], stop):
            p = up_ptr[up_head[i]]
            for j in range(i + 1, stop):
                while up_head[p] < up_head[j]:
                    p += 1
                if c_up[j] + c_down[p] <= c_up[i]:
                    need_up[i] = False
                if c_up[i] + c_up[p] <= c_up[j]:
                    need_up[j] = False
                if c_up[p] + c_down[j] <= c_down[i]:
                    need_down[i] = False
                if c_down[p] + c_down[i] <= c_down[j]:
                    need_down[j] = False
    return need_up, need_down


@njit(cache=True)
def target_set(n, up_ptr, up_head, parent, dests):
    """Ranks that can reach a destination rank in the hierarchy, decreasing."""
    in_t = np.zeros(n, np.bool_)
    for d in dests:
        in_t[d] = True
        for j in range(up_ptr[d], up_ptr[d + 1]):
            v = up_head[j]
            while v >= 0 and not in_t[v]:
                in_t[v] = True
                v = parent[v]
    return np.flatnonzero(in_t)[::-1].copy()


@njit(cache=True)
def _query_block(up_ptr, up_head, parent, no_through_rank, c_up, c_down, t_desc, sources, dist,
                 par, mark, ancestors):  # fmt: skip
    """Distances ``dist[:, i]`` and parent arcs ``par[:, i]`` (``j``: up arc ``j``,
    ``-1 - j``: down arc ``j``) from each of ``sources`` to every rank of ``t_desc``."""
    block = dist.shape[1]
    for v in t_desc:
        for i in range(block):
            dist[v, i] = np.inf
            par[v, i] = 0
    for i in range(sources.size):
        s = sources[i]
        k = 0
        for j in range(up_ptr[s], up_ptr[s + 1]):
            v = up_head[j]
            while v >= 0 and mark[v] != s:
                mark[v] = s
                ancestors[k] = v
                k += 1
                dist[v, i] = np.inf
                v = parent[v]
        up = np.sort(ancestors[:k])
        dist[s, i] = 0.0
        for j in range(up_ptr[s], up_ptr[s + 1]):
            if c_up[j] < dist[up_head[j], i]:
                dist[up_head[j], i] = c_up[j]
                par[up_head[j], i] = j
        for x in up:
            dx = dist[x, i]
            if no_through_rank[x]:
                continue
            for j in range(up_ptr[x], up_ptr[x + 1]):
                w = up_head[j]
                if dx + c_up[j] < dist[w, i]:
                    dist[w, i] = dx + c_up[j]
                    par[w, i] = j
        for x in up:
            mark[x] = -1
    for v in t_desc:
        acc = dist[v]
        arc = par[v]
        for j in range(up_ptr[v], up_ptr[v + 1]):
            row = dist[up_head[j]]
            c = c_down[j]
            for i in range(block):
                d = row[i] + c
                better = d < acc[i]
                acc[i] = d if better else acc[i]
                arc[i] = -1 - j if better else arc[i]


@njit(parallel=True, cache=True)
def query_all(n, up_ptr, up_head, parent, no_through_rank, c_up, c_down, t_desc, sources, block):
    """Every source's query, ``block`` at once; returns the distance to ``t_desc[-1]``
    per block (so the work is not optimised away)."""
    n_blocks = (sources.size + block - 1) // block
    out = np.zeros(n_blocks)
    for b in prange(n_blocks):
        dist = np.empty((n, block))
        par = np.empty((n, block), np.int64)
        mark = np.full(n, -1, np.int64)
        ancestors = np.empty(n, np.int64)
        chunk = sources[b * block : min(sources.size, (b + 1) * block)]
        _query_block(up_ptr, up_head, parent, no_through_rank, c_up, c_down, t_desc, chunk,
                     dist, par, mark, ancestors)  # fmt: skip
        out[b] = dist[t_desc[-1], 0]
    return out


@njit(cache=True)
def compact_targets(n, up_ptr, up_head, t_desc):
    """The sweep's graph on ``T`` alone, rows renumbered: ``local[v]`` (``T`` ascending
    first, then every other rank), ``(ptr, head, arc)``: the down arcs into local row
    ``k < |T|`` come from local rows ``head[ptr[k]:ptr[k+1]]``, arc ids ``arc``."""
    t = t_desc.size
    local = np.empty(n, np.int64)
    in_t = np.zeros(n, np.bool_)
    for k in range(t):
        local[t_desc[t - 1 - k]] = k
        in_t[t_desc[t - 1 - k]] = True
    k = t
    for v in range(n):
        if not in_t[v]:
            local[v] = k
            k += 1
    ptr = np.zeros(t + 1, np.int64)
    for k in range(t):
        v = t_desc[t - 1 - k]
        ptr[k + 1] = ptr[k] + up_ptr[v + 1] - up_ptr[v]
    head = np.empty(ptr[t], np.int64)
    arc = np.empty(ptr[t], np.int64)
    for k in range(t):
        v = t_desc[t - 1 - k]
        for j in range(up_ptr[v], up_ptr[v + 1]):
            head[ptr[k] + j - up_ptr[v]] = local[up_head[j]]
            arc[ptr[k] + j - up_ptr[v]] = j
    return local, ptr, head, arc


@njit(cache=True)
def _distances_block(up_ptr, up_head, parent, no_through_rank, c_up, local, t_ptr, t_head,
                     t_cost, sources, dist, mark, ancestors):  # fmt: skip
    """Distances only (no parents), ``dist[local[v], i]`` from ``sources[i]``: the upward
    pass per source, then one sweep of the compact ``T`` for the whole block."""
    block = dist.shape[1]
    t = t_ptr.size - 1
    for k in range(t):
        for i in range(block):
            dist[k, i] = np.inf
    for i in range(sources.size):
        s = sources[i]
        k = 0
        for j in range(up_ptr[s], up_ptr[s + 1]):
            v = up_head[j]
            while v >= 0 and mark[v] != s:
                mark[v] = s
                ancestors[k] = v
                k += 1
                dist[local[v], i] = np.inf
                v = parent[v]
        up = np.sort(ancestors[:k])
        dist[local[s], i] = 0.0
        for j in range(up_ptr[s], up_ptr[s + 1]):
            w = local[up_head[j]]
            dist[w, i] = min(dist[w, i], c_up[j])
        for x in up:
            if no_through_rank[x]:
                continue
            dx = dist[local[x], i]
            for j in range(up_ptr[x], up_ptr[x + 1]):
                w = local[up_head[j]]
                dist[w, i] = min(dist[w, i], dx + c_up[j])
        for x in up:
            mark[x] = -1
    for k in range(t - 1, -1, -1):
        acc = dist[k]
        for j in range(t_ptr[k], t_ptr[k + 1]):
            row = dist[t_head[j]]
            c = t_cost[j]
            for i in range(block):
                acc[i] = min(acc[i], row[i] + c)


@njit(parallel=True, cache=True)
def distances_all(n, up_ptr, up_head, parent, no_through_rank, c_up, c_down, local, t_ptr,
                  t_head, t_arc, sources, block):  # fmt: skip
    """Every source's distances, ``block`` at once on the compact ``T`` (the cheapest
    query: no parents); returns one distance per block (so the work is not dropped)."""
    t_cost = np.empty(t_arc.size)
    for j in range(t_arc.size):
        t_cost[j] = c_down[t_arc[j]]
    n_blocks = (sources.size + block - 1) // block
    out = np.zeros(n_blocks)
    for b in prange(n_blocks):
        dist = np.empty((n, block))
        mark = np.full(n, -1, np.int64)
        ancestors = np.empty(n, np.int64)
        chunk = sources[b * block : min(sources.size, (b + 1) * block)]
        _distances_block(up_ptr, up_head, parent, no_through_rank, c_up, local, t_ptr, t_head,
                         t_cost, chunk, dist, mark, ancestors)  # fmt: skip
        out[b] = dist[0, 0]
    return out


def cpu(fn, *args):
    """``(result, CPU seconds)`` of ``fn(*args)``, all threads."""
    t = time.process_time()
    result = fn(*args)
    return result, time.process_time() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="Grid100k", help="Grid100k, Grid10k, ... (_cases.py)")
    parser.add_argument("--leaf", type=int, default=16, help="dissection stops at cells this small")
    parser.add_argument("--block", type=int, default=16, help="origins per downward sweep")
    parser.add_argument("--wide", type=int, default=64, help="origins per distance-only sweep")
    parser.add_argument("--no-baseline", action="store_true", help="skip today's loader")
    opts = parser.parse_args()

    case = load_case(opts.case)
    problem = build_problem(case.network, case.demand)
    cost = np.ascontiguousarray(problem.t0, dtype=np.float64)
    # the core graph without elimination (chains contracted, dead ends dropped)
    protect = np.array(problem.no_through, dtype=np.bool_)
    protect[problem.origin_nodes] = True
    protect[problem.dest_nodes] = True
    args, no_through, new_of, core_of = _aon._build(
        problem.indptr, problem.head, ~problem.closed, protect, problem.no_through, 0
    )
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, _, k_head, k_tail, k_edge = args
    ec = np.empty(c_link.size + op_a.size)
    _compressed_costs(
        cost, c_link, sc_ptr, step_ptr, cand, ec, np.empty(step_ptr.size - 1, np.int64)
    )
    _derived_costs(ec, c_link.size, op_sum, op_a, op_b, np.empty(op_a.size, np.int64))
    core_cost = ec[k_edge]
    n = no_through.size
    kept = np.flatnonzero(new_of >= 0)
    core_node = np.empty(n, np.int64)
    alive = core_of[new_of[kept]] >= 0
    core_node[core_of[new_of[kept]][alive]] = kept[alive]
    x = np.ascontiguousarray(case.network.node_x[core_node])
    y = np.ascontiguousarray(case.network.node_y[core_node])
    no_through = np.ascontiguousarray(no_through, dtype=np.bool_)
    origins_core = core_of[new_of[problem.origin_nodes]]
    dests_core = core_of[new_of[problem.dest_nodes]]

    ptr, adj = undirected_adjacency(n, k_tail, k_head)
    dissection_order(n, ptr, adj, x, y, no_through, opts.leaf)  # compiles
    order, t_order = cpu(dissection_order, n, ptr, adj, x, y, no_through, opts.leaf)
    fill_graph(n, ptr, adj, order, no_through)  # compiles
    (rank, up_ptr, up_head, parent), t_fill = cpu(fill_graph, n, ptr, adj, order, no_through)
    nt_rank = no_through[order]
    triangles = triangle_count(n, up_ptr, nt_rank)
    t_desc = target_set(n, up_ptr, up_head, parent, rank[dests_core])
    arcs_in_t = int((up_ptr[t_desc + 1] - up_ptr[t_desc]).sum())
    sources = rank[origins_core]
    for _ in range(2):  # the first call compiles
        (c_up, c_down), t_base = cpu(arc_costs, up_ptr, up_head, rank, k_tail, k_head, core_cost)
        _, t_custom = cpu(customise, n, up_ptr, up_head, nt_rank, c_up, c_down)
    query_all(n, up_ptr, up_head, parent, nt_rank, c_up, c_down, t_desc, sources[:2], opts.block)
    _, t_query = cpu(
        query_all, n, up_ptr, up_head, parent, nt_rank, c_up, c_down, t_desc, sources, opts.block
    )

    local, t_ptr, t_head, t_arc = compact_targets(n, up_ptr, up_head, t_desc)
    wide = (n, up_ptr, up_head, parent, nt_rank, c_up, c_down, local, t_ptr, t_head, t_arc)
    distances_all(*wide, sources[:2], opts.wide)
    _, t_wide = cpu(distances_all, *wide, sources, opts.wide)

    # check: distances of the first block of origins against scipy on the core graph, from
    # both queries
    check = sources[: opts.block]
    dist = np.empty((n, opts.block))
    par = np.empty((n, opts.block), np.int64)
    _query_block(up_ptr, up_head, parent, nt_rank, c_up, c_down, t_desc, check, dist, par,
                 np.full(n, -1, np.int64), np.empty(n, np.int64))  # fmt: skip
    dist_wide = np.empty((n, opts.block))
    t_cost = c_down[t_arc]
    _distances_block(up_ptr, up_head, parent, nt_rank, c_up, local, t_ptr, t_head, t_cost,
                     check, dist_wide, np.full(n, -1, np.int64), np.empty(n, np.int64))  # fmt: skip
    worst = 0.0
    for i, s in enumerate(origins_core[: check.size]):
        usable = ~no_through[k_tail] | (k_tail == s)  # no path through another centroid
        first = np.lexsort((core_cost[usable], k_head[usable], k_tail[usable]))
        tt, hh, cc = k_tail[usable][first], k_head[usable][first], core_cost[usable][first]
        unique = np.r_[True, (tt[1:] != tt[:-1]) | (hh[1:] != hh[:-1])]
        graph = sp.csr_matrix((cc[unique], (tt[unique], hh[unique])), shape=(n, n))
        ref = dijkstra(graph, indices=s)[dests_core]
        both = np.isfinite(ref)
        for got in (dist[rank[dests_core], i], dist_wide[local[rank[dests_core]], i]):
            if not np.array_equal(both, np.isfinite(got)):
                raise AssertionError(f"origin {s}: reachability differs from scipy")
            rel = np.abs(got[both] - ref[both]) / np.maximum(ref[both], 1e-12)
            worst = max(worst, float(rel.max(initial=0.0)))
    if worst > 1e-9:
        raise AssertionError(f"distances differ from scipy by {worst:.2e} (relative)")

    (needed_up, needed_down), t_perfect = cpu(
        perfect_needed, n, up_ptr, up_head, c_up.copy(), c_down.copy()
    )
    down_in_t = int(np.repeat(np.isin(np.arange(n), t_desc), np.diff(up_ptr))[needed_down].sum())

    print(f"{opts.case}: core graph {n:,} nodes, {k_tail.size:,} edges; {sources.size} origins")
    print(f"order (leaf {opts.leaf}) {t_order:.2f} CPU s, fill graph {t_fill:.2f} CPU s")
    print(f"arcs {up_head.size:,} (x2 directions), lower triangles {triangles:,}")
    print(f"T {t_desc.size:,} nodes, {arcs_in_t:,} arcs")
    print(f"per loading: arc costs {t_base:.3f} + customisation {t_custom:.3f} CPU s")
    print(
        f"queries ({opts.block} origins a sweep, parents kept): {t_query:.3f} CPU s "
        f"({1e3 * t_query / sources.size:.2f} ms per origin)"
    )
    print(
        f"distances only ({opts.wide} origins a sweep, T compact): {t_wide:.3f} CPU s "
        f"({1e3 * t_wide / sources.size:.2f} ms per origin)"
    )
    print(f"distances vs scipy (first {check.size} origins): max relative {worst:.1e}")
    print(
        f"perfect customisation: arcs needed up {int(needed_up.sum()):,}, down "
        f"{int(needed_down.sum()):,} ({down_in_t:,} in T); {t_perfect:.2f} CPU s (a first run compiles it)"
    )
    lower_bound = t_base + t_custom + t_query
    floor = t_base + t_custom + t_wide
    print(
        f"CCH AON lower bound (no flow push, no unpacking): {lower_bound:.2f} CPU s with "
        f"parents, {floor:.2f} CPU s distances only"
    )
    if not opts.no_baseline:
        today = _aon.CompressedAON.of_problem(problem, DENSE_MAX_ADDED, prune=True)
        today.load(cost)
        _, t_today = cpu(today.load, cost)
        print(
            f"today's loader (core, DENSE_MAX_ADDED {DENSE_MAX_ADDED}, pruned, Dijkstra): "
            f"{t_today:.2f} CPU s; ratio at best {t_today / lower_bound:.2f}x with parents, "
            f"{t_today / floor:.2f}x distances only"
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
