"""Bush-based user equilibrium: Dial's Algorithm B (Dial 2006, Transportation Research B 40(10)).

Each origin ``r`` keeps a *bush*: an acyclic set of links rooted at ``r`` that carries all
of ``r``'s demand, stored as a dense row ``in_bush[r]`` (bool per link), the origin's
link flows ``bush_flow[r]`` (veh/h) and its nodes in topological order,
``sub_order[r, :sub_counts[r]]``. A bush holds only nodes from which it leads to one of
the origin's destinations: on city networks that is a few percent of the network, and
every kernel here works on those nodes only.

An iteration

1. searches shortest paths from every origin (:func:`gap_and_grow`, parallel over
   origins): the SPTT of the relative gap, and the tree from which each bush grows.
   Unused links are dropped (keeping the bush's shortest-path tree), and shortcut
   links into bush nodes are added, with the shortest-path branch that reaches them
   when their tail is new to the bush (see :func:`_grow_bush` for why this keeps the
   bush acyclic);
2. equilibrates the bushes (:func:`sweep`, serial, Gauss-Seidel, several sweeps): for
   each bush node ``j``, last in topological order first, takes the shortest and the
   longest used bush path to ``j``, walks both back to where they diverge, and moves
   ``min(Δc / (Σ c' over both segments), least flow on the longest segment)`` from the
   longest onto the shortest segment (a Newton step), updating link costs at once.

Link costs are generalised costs ``time(x + preload) + fixed`` from :mod:`.vdf`;
``no_through`` nodes (centroids) are never passed through: a bush never holds a link
leaving a centroid other than its own origin.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel
from .assignment import load_tree, search_to_demand
from .heap import SETTLED
from .shortest_paths import reset_search, search_scratch
from .vdf import link_derivative, link_time

#: bush flows below this fraction of the origin's demand left by a full shift are rounding residue
ZERO_REL = 1e-13


@njit
def _kahn(origin, nodes, count, indptr, head, in_bush, indegree, out):
    """Topological order of the bush on ``nodes[:count]`` (any order) into ``out`` (may alias ``nodes``)."""
    for k in range(count):
        indegree[nodes[k]] = 0
    for k in range(count):
        u = nodes[k]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                indegree[head[a]] += 1
    out[0] = origin
    read = 0
    filled = 1
    while read < filled:
        u = out[read]
        read += 1
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                v = head[a]
                indegree[v] -= 1
                if indegree[v] == 0:
                    out[filled] = v
                    filled += 1
    if filled != count:
        raise RuntimeError("bush is not acyclic")


@njit
def _labels(
    origin, nodes, count, indptr, head, in_bush, bush_flow, cost, used_only, lo, hi, lo_pred,
    hi_pred,
):  # fmt: skip
    """Shortest (``lo``, all bush links) and longest (``hi``) path costs, the longest over
    the used links (with flow) only if ``used_only``, else over all bush links.

    Visits ``nodes[:count]`` in topological order; ``hi`` is ``-inf`` where no such link
    arrives; predecessor links ``lo_pred``/``hi_pred`` are ``-1`` at the origin.
    """
    for k in range(count):
        v = nodes[k]
        lo[v] = np.inf
        hi[v] = -np.inf
        lo_pred[v] = -1
        hi_pred[v] = -1
    lo[origin] = 0.0
    hi[origin] = 0.0
    for k in range(count):
        u = nodes[k]
        lu = lo[u]
        hu = hi[u]
        for a in range(indptr[u], indptr[u + 1]):
            if not in_bush[a]:
                continue
            v = head[a]
            c = cost[a]
            if lu + c < lo[v]:
                lo[v] = lu + c
                lo_pred[v] = a
            if hu > -np.inf and (bush_flow[a] > 0.0 or not used_only) and hu + c > hi[v]:
                hi[v] = hu + c
                hi_pred[v] = a


@njit
def _update_link(a, flow, cost, deriv, preload, fixed, t0, cap, alpha, beta, kind):
    v = flow[a] + preload[a]
    cost[a] = link_time(v, t0[a], cap[a], alpha[a], beta[a], kind[a]) + fixed[a]
    deriv[a] = link_derivative(v, t0[a], cap[a], alpha[a], beta[a], kind[a])


@njit
def _equilibrate(
    origin, nodes, count, position, indptr, head, tail, in_bush, bush_flow, flow, cost, deriv,
    preload, fixed, t0, cap, alpha, beta, kind, lo, hi, lo_pred, hi_pred, rel_tol, zero_tol,
):  # fmt: skip
    """One pass of Newton flow shifts over the relevant bush nodes ``nodes[:count]``.

    ``position[v]`` is ``v``'s index in ``nodes``. ``zero_tol`` (veh/h): residues this
    small left on a segment emptied by a full shift are rounding; they are set to 0.
    Returns the largest cost difference between the two paths seen (s).
    """
    _labels(
        origin, nodes, count, indptr, head, in_bush, bush_flow, cost, True, lo, hi, lo_pred, hi_pred
    )
    worst = 0.0
    for k in range(count - 1, 0, -1):
        j = nodes[k]
        e_hi = hi_pred[j]
        e_lo = lo_pred[j]
        if e_hi < 0 or e_hi == e_lo:
            continue
        if hi[j] - lo[j] <= rel_tol * hi[j]:
            continue
        # divergence node: walk both paths back, always stepping the later node
        p = tail[e_lo]
        q = tail[e_hi]
        while p != q:
            if position[p] > position[q]:
                p = tail[lo_pred[p]]
            else:
                q = tail[hi_pred[q]]
        top = p
        c_lo = 0.0
        d_lo = 0.0
        v = j
        while v != top:
            a = lo_pred[v]
            c_lo += cost[a]
            d_lo += deriv[a]
            v = tail[a]
        c_hi = 0.0
        d_hi = 0.0
        f_hi = np.inf
        v = j
        while v != top:
            a = hi_pred[v]
            c_hi += cost[a]
            d_hi += deriv[a]
            if bush_flow[a] < f_hi:
                f_hi = bush_flow[a]
            v = tail[a]
        diff = c_hi - c_lo
        if diff > worst:
            worst = diff
        if diff <= rel_tol * c_hi or f_hi <= 0.0:
            continue
        slope = d_lo + d_hi
        shift = diff / slope if slope > 0.0 else f_hi
        if shift > f_hi:
            shift = f_hi
        full = shift == f_hi
        v = j
        while v != top:
            a = hi_pred[v]
            rest = bush_flow[a] - shift
            # a full shift empties the whole segment: links that carried the same path flow
            # up to rounding must not keep a residue (it would dangle without inflow)
            if rest < 0.0 or (full and rest <= zero_tol):
                rest = 0.0
            bush_flow[a] = rest
            flow[a] -= shift
            _update_link(a, flow, cost, deriv, preload, fixed, t0, cap, alpha, beta, kind)
            v = tail[a]
        v = j
        while v != top:
            a = lo_pred[v]
            bush_flow[a] += shift
            flow[a] += shift
            _update_link(a, flow, cost, deriv, preload, fixed, t0, cap, alpha, beta, kind)
            v = tail[a]
    return worst


@njit
def _drop_unused_links(nodes, count, indptr, head, in_bush, bush_flow, lo_pred):
    """Drop the bush links without flow, except those of the bush's shortest-path tree."""
    for k in range(count):
        u = nodes[k]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a] and bush_flow[a] <= 0.0 and lo_pred[head[a]] != a:
                in_bush[a] = False
                bush_flow[a] = 0.0


@njit
def _mark_live_nodes(
    origin, dest_nodes, demand_row, tail, rev_indptr, rev_edge, in_bush, mark, stack
):
    """Set ``mark`` on the origin and the bush nodes that still lead to a destination with demand."""
    top = 0
    mark[origin] = True
    for j in range(dest_nodes.size):
        v = dest_nodes[j]
        if demand_row[j] > 0.0 and not mark[v]:
            mark[v] = True
            stack[top] = v
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        for q in range(rev_indptr[v], rev_indptr[v + 1]):
            a = rev_edge[q]
            if in_bush[a]:
                u = tail[a]
                if not mark[u]:
                    mark[u] = True
                    stack[top] = u
                    top += 1


@njit
def _drop_dead_nodes(nodes, count, mark, indptr, rev_indptr, rev_edge, in_bush, bush_flow):
    """Remove the unmarked nodes (and their links) from ``nodes[:count]``, keeping the order
    of the others; returns the new count."""
    size = 0
    for k in range(count):
        v = nodes[k]
        if mark[v]:
            nodes[size] = v
            size += 1
        else:
            for a in range(indptr[v], indptr[v + 1]):
                in_bush[a] = False
                bush_flow[a] = 0.0
            for q in range(rev_indptr[v], rev_indptr[v + 1]):
                in_bush[rev_edge[q]] = False
                bush_flow[rev_edge[q]] = 0.0
    return size


@njit
def _tree_anchor(i, mark, pred, tail):
    """The first bush (marked) node on the shortest-path tree branch up from node ``i``."""
    w = i
    while not mark[w]:
        w = tail[pred[w]]
    return w


@njit
def _graft_branch(i, anchor, tail, pred, dist, in_bush, mark, lo, hi, nodes, grown):
    """Add the shortest-path tree branch from bush node ``anchor`` down to ``i`` to the bush,
    its potentials growing with the shortest distance; returns the new node count."""
    w = i
    while w != anchor:
        e = pred[w]
        in_bush[e] = True
        mark[w] = True
        hi[w] = hi[anchor] + (dist[w] - dist[anchor])
        lo[w] = lo[anchor] + (dist[w] - dist[anchor])
        nodes[grown] = w
        grown += 1
        w = tail[e]
    return grown


@njit
def _add_shortcuts(
    origin, nodes, count, tail, rev_indptr, rev_edge, in_bush, cost, no_through, dist, pred,
    position, lo, hi, mark, rel_tol,
):  # fmt: skip
    """Add the links into bush nodes ``nodes[1:count]`` that are shortcuts under the
    potentials (see :func:`_grow_bush`), grafting a new tail's tree branch; returns
    ``(node count, links added)``."""
    added = 0
    grown = count
    for k in range(1, count):
        j = nodes[k]
        hj = hi[j]
        lj = lo[j]
        for q in range(rev_indptr[j], rev_indptr[j + 1]):
            a = rev_edge[q]
            i = tail[a]
            c = cost[a]
            if in_bush[a] or c == np.inf or (no_through[i] and i != origin):
                continue
            if not mark[i] and position[i] != SETTLED:
                continue  # not settled by the search: no shorter way through it
            anchor = _tree_anchor(i, mark, pred, tail)
            hu = hi[anchor] + (dist[i] - dist[anchor]) if anchor != i else hi[i]
            lu = lo[anchor] + (dist[i] - dist[anchor]) if anchor != i else lo[i]
            if hu + c < hj - rel_tol * hj or (lu + c < lj - rel_tol * lj and hu < hj):
                in_bush[a] = True
                added += 1
                grown = _graft_branch(
                    i, anchor, tail, pred, dist, in_bush, mark, lo, hi, nodes, grown
                )
    return grown, added


@njit
def _grow_bush(
    origin, nodes, count, indptr, head, tail, rev_indptr, rev_edge, in_bush, bush_flow, cost,
    no_through, dest_nodes, demand_row, dist, pred, position, lo, hi, lo_pred, hi_pred, mark,
    stack, indegree, rel_tol,
):  # fmt: skip
    """Update one bush for the current ``cost``; returns ``(node count, links added)``.

    ``dist``/``pred``/``position`` hold a shortest-path search from the origin under
    ``cost`` (``position == SETTLED`` for settled nodes). Unused links are dropped
    (keeping the bush's shortest-path tree), nodes that no longer lead to a destination
    leave the bush, and links into bush nodes are added when they are shortcuts under the
    potential ``hi`` (longest bush path cost): ``hi_i + c < hi_j``, or ``lo_i + c < lo_j``
    with ``hi_i < hi_j``. A shortcut whose tail is outside the bush is grafted together
    with its shortest-path-tree branch from the bush, along which the potential grows
    with the shortest distance; since the potential never decreases along bush links
    and strictly increases along new ones, the bush stays acyclic.
    """
    _labels(
        origin, nodes, count, indptr, head, in_bush, bush_flow, cost, True, lo, hi, lo_pred, hi_pred
    )
    _drop_unused_links(nodes, count, indptr, head, in_bush, bush_flow, lo_pred)
    _mark_live_nodes(
        origin, dest_nodes, demand_row, tail, rev_indptr, rev_edge, in_bush, mark, stack
    )
    count = _drop_dead_nodes(nodes, count, mark, indptr, rev_indptr, rev_edge, in_bush, bush_flow)
    # potentials: hi the longest path over all remaining links, lo the shortest
    _labels(
        origin, nodes, count, indptr, head, in_bush, bush_flow, cost, False, lo, hi, lo_pred,
        hi_pred,
    )  # fmt: skip
    grown, added = _add_shortcuts(
        origin, nodes, count, tail, rev_indptr, rev_edge, in_bush, cost, no_through, dist, pred,
        position, lo, hi, mark, rel_tol,
    )  # fmt: skip
    _kahn(origin, nodes, grown, indptr, head, in_bush, indegree, nodes)
    for k in range(grown):
        mark[nodes[k]] = False
    return grown, added


@njit_parallel
def init_bushes(
    indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, in_bush, bush_flow,
    sub_order, sub_counts,
):  # fmt: skip
    """Bushes = shortest paths under ``cost`` to each origin's destinations, carrying its demand."""
    n = indptr.size - 1
    n_orig = origin_nodes.size
    n_blocks = chunk_count(n_orig)
    for b in prange(n_blocks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        is_target = np.zeros(n, dtype=np.bool_)
        node_flow = np.zeros(n)
        n_child = np.zeros(n, dtype=np.int64)
        stack = np.empty(n, dtype=np.int64)
        for r in range(b * n_orig // n_blocks, (b + 1) * n_orig // n_blocks):
            source = origin_nodes[r]
            row = demand[r]
            search_to_demand(
                indptr, head, cost, no_through, source, dest_nodes, row, False, is_target,
                dist, pred, heap_key, heap_node, position,
            )  # fmt: skip
            for j in range(dest_nodes.size):
                t = dest_nodes[j]
                if row[j] > 0.0 and dist[t] < np.inf:
                    node_flow[t] += row[j]
            row_flow = bush_flow[r]
            load_tree(n, tail, pred, position, node_flow, n_child, stack, row_flow)
            nodes = sub_order[r]
            nodes[0] = source
            count = 1
            for v in range(n):
                e = pred[v]
                if position[v] == SETTLED and e >= 0 and row_flow[e] > 0.0:
                    in_bush[r, e] = True
                    nodes[count] = v
                    count += 1
            _kahn(source, nodes, count, indptr, head, in_bush[r], n_child, nodes)
            sub_counts[r] = count
            reset_search(dist, pred, position)
            node_flow[:] = 0.0
            n_child[:] = 0


@njit_parallel
def gap_and_grow(
    indptr, head, tail, rev_indptr, rev_edge, cost, no_through, origin_nodes, dest_nodes, demand,
    in_bush, bush_flow, sub_order, sub_counts, grow, rel_tol,
):  # fmt: skip
    """One shortest-path search per origin (parallel): the SPTT for the gap and, with ``grow``, bush updates.

    Returns ``(sptt, links added)``.
    """
    n = indptr.size - 1
    n_orig = origin_nodes.size
    n_blocks = chunk_count(n_orig)
    sptt_part = np.zeros(n_blocks)
    added = np.zeros(n_blocks, dtype=np.int64)
    for b in prange(n_blocks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        is_target = np.zeros(n, dtype=np.bool_)
        lo = np.empty(n)
        hi = np.empty(n)
        lo_pred = np.empty(n, dtype=np.int64)
        hi_pred = np.empty(n, dtype=np.int64)
        mark = np.zeros(n, dtype=np.bool_)
        stack = np.empty(n, dtype=np.int64)
        indegree = np.zeros(n, dtype=np.int64)
        for r in range(b * n_orig // n_blocks, (b + 1) * n_orig // n_blocks):
            row = demand[r]
            search_to_demand(
                indptr, head, cost, no_through, origin_nodes[r], dest_nodes, row, False,
                is_target, dist, pred, heap_key, heap_node, position,
            )  # fmt: skip
            for j in range(dest_nodes.size):
                if row[j] > 0.0:
                    sptt_part[b] += row[j] * dist[dest_nodes[j]]
            if grow:
                count, got = _grow_bush(
                    origin_nodes[r], sub_order[r], sub_counts[r], indptr, head, tail, rev_indptr, rev_edge,
                    in_bush[r], bush_flow[r], cost, no_through, dest_nodes, row, dist, pred,
                    position, lo, hi, lo_pred, hi_pred, mark, stack, indegree, rel_tol,
                )  # fmt: skip
                sub_counts[r] = count
                added[b] += got
            reset_search(dist, pred, position)
    sptt = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
    return sptt, added.sum()


@njit
def sweep(
    indptr,
    head,
    tail,
    origin_nodes,
    origin_demand,
    in_bush,
    bush_flow,
    sub_order,
    sub_counts,
    flow,
    cost,
    deriv,
    preload,
    fixed,
    t0,
    cap,
    alpha,
    beta,
    kind,
    bushes,
    rel_tol,
    worst,
):
    """One equilibration pass over the bushes ``bushes`` (origin rows), in that order (Gauss-Seidel).

    ``origin_demand[r]`` (veh/h) scales the rounding threshold. Writes into ``worst[r]``
    the largest cost difference (s) between a longest used and a shortest path of bush ``r``.
    """
    n = indptr.size - 1
    lo = np.empty(n)
    hi = np.empty(n)
    lo_pred = np.empty(n, dtype=np.int64)
    hi_pred = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    for r in bushes:
        nodes = sub_order[r]
        count = sub_counts[r]
        for k in range(count):
            position[nodes[k]] = k
        worst[r] = _equilibrate(
            origin_nodes[r], nodes, count, position, indptr, head, tail, in_bush[r], bush_flow[r],
            flow, cost, deriv, preload, fixed, t0, cap, alpha, beta, kind, lo, hi, lo_pred,
            hi_pred, rel_tol, ZERO_REL * origin_demand[r],
        )  # fmt: skip
        for k in range(count):
            position[nodes[k]] = -1


@njit_parallel
def sum_bush_flows(bush_flow, out):
    """``out[a] = sum_r bush_flow[r, a]`` in origin order (deterministic), parallel over link blocks."""
    n_orig, m = bush_flow.shape
    block = 1024
    for b in prange((m + block - 1) // block):
        start = b * block
        stop = min(start + block, m)
        out[start:stop] = 0.0
        for r in range(n_orig):
            for a in range(start, stop):
                out[a] += bush_flow[r, a]
