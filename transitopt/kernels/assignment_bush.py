"""Bush-based user equilibrium: Dial's Algorithm B (Dial 2006, Transportation Research B 40(10)).

Each origin ``r`` keeps a *bush*: an acyclic set of links rooted at ``r`` that carries all
of ``r``'s demand, stored as a dense row ``in_bush[r]`` (bool per link) with the origin's
link flows ``bush_flow[r]`` (veh/h) and a topological order of its nodes ``order[r]``.

One sweep visits every origin and

1. *updates the bush*: drops links without flow (keeping the bush's shortest-path tree,
   so every node stays reachable), then adds every link ``(i, j)`` that is a shortcut
   w.r.t. the longest bush paths, ``U_i + c_ij < U_j``; such links can never close a
   cycle because ``U`` strictly increases along them and never decreases along bush links;
2. *equilibrates the bush*: for each node ``j``, last in topological order first, takes
   the shortest and the longest used bush path to ``j``, walks both back to the node
   where they diverge, and moves ``min(Δc / (Σ c' over both segments), smallest
   flow on the longest segment)`` from the longest onto the shortest segment (a
   Newton step), updating link costs at once (Gauss-Seidel).

Link costs are generalised costs ``time(x + preload) + fixed`` from :mod:`.vdf`;
``no_through`` nodes (centroids) are never passed through: a bush never contains a link
leaving a centroid other than its own origin.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import njit, njit_parallel
from .assignment import _load_tree
from .shortest_paths import dijkstra_into
from .vdf import link_derivative, link_time

#: bush flows below this fraction of the origin's demand left by a full shift are rounding residue
ZERO_REL = 1e-13


@njit
def _topological_order(origin, indptr, head, in_bush, order, indegree, position):
    """Kahn's algorithm over the bush; fills ``order`` and ``position``; returns the count.

    ``position[v] = -1`` for nodes outside the bush. Raises if the bush has a cycle.
    """
    n = indptr.size - 1
    indegree[:] = 0
    for u in range(n):
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                indegree[head[a]] += 1
    position[:] = -1
    count = 0
    order[0] = origin
    position[origin] = 0
    read = 0
    count = 1
    while read < count:
        u = order[read]
        read += 1
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                v = head[a]
                indegree[v] -= 1
                if indegree[v] == 0:
                    position[v] = count
                    order[count] = v
                    count += 1
    for v in range(n):
        if indegree[v] > 0:
            raise RuntimeError("bush is not acyclic")
    return count


@njit
def _labels(origin, order, count, indptr, head, in_bush, bush_flow, cost, used_only, lo, hi, lo_pred, hi_pred):
    """Shortest (``lo``) and longest (``hi``) bush path costs to every bush node, in topological order.

    ``hi`` follows only links with flow when ``used_only`` (``-inf`` where none); the
    predecessor links are ``lo_pred``/``hi_pred`` (``-1`` at the origin).
    """
    for k in range(count):
        v = order[k]
        lo[v] = np.inf
        hi[v] = -np.inf
        lo_pred[v] = -1
        hi_pred[v] = -1
    lo[origin] = 0.0
    hi[origin] = 0.0
    for k in range(count):
        u = order[k]
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
            if hu > -np.inf and (not used_only or bush_flow[a] > 0.0):
                if hu + c > hi[v]:
                    hi[v] = hu + c
                    hi_pred[v] = a


@njit
def _update_link(a, flow, cost, deriv, preload, fixed, t0, cap, alpha, beta, kind):
    v = flow[a] + preload[a]
    cost[a] = link_time(v, t0[a], cap[a], alpha[a], beta[a], kind[a]) + fixed[a]
    deriv[a] = link_derivative(v, t0[a], cap[a], alpha[a], beta[a], kind[a])


@njit
def _equilibrate(origin, order, count, position, indptr, head, tail, in_bush, bush_flow, flow, cost, deriv,
                 preload, fixed, t0, cap, alpha, beta, kind, lo, hi, lo_pred, hi_pred, rel_tol, zero_tol):
    """One pass of Newton flow shifts over the bush; returns the largest cost difference seen (s).

    ``zero_tol`` (veh/h): residues this small left on a segment emptied by a full shift are rounding; set to 0.
    """
    _labels(origin, order, count, indptr, head, in_bush, bush_flow, cost, True, lo, hi, lo_pred, hi_pred)
    worst = 0.0
    for k in range(count - 1, 0, -1):
        j = order[k]
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
def _kahn(origin, count, indptr, head, in_bush, order, indegree, position):
    """Topological order of the bush from in-degrees already counted in ``indegree``."""
    position[origin] = 0
    order[0] = origin
    read = 0
    filled = 1
    while read < filled:
        u = order[read]
        read += 1
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                v = head[a]
                indegree[v] -= 1
                if indegree[v] == 0:
                    position[v] = filled
                    order[filled] = v
                    filled += 1
    if filled != count:
        raise RuntimeError("bush is not acyclic")


@njit
def _improve_bush(origin, order, count, position, indptr, head, in_bush, bush_flow, cost, no_through, lo, hi, lo_pred,
                  indegree, rel_tol):
    """Drop unused links (keeping the tree ``lo_pred``), add shortcut links, re-sort; returns links added.

    ``lo_pred`` must be a shortest-path tree of the current bush (the last labels); one
    topological pass drops links and computes the shortest (``lo``) and longest
    (``hi``, over all remaining links) path costs, one pass adds links, one sorts.
    """
    for k in range(count):
        v = order[k]
        lo[v] = np.inf
        hi[v] = -np.inf
        indegree[v] = 0
    lo[origin] = 0.0
    hi[origin] = 0.0
    for k in range(count):
        u = order[k]
        lu = lo[u]
        hu = hi[u]
        for a in range(indptr[u], indptr[u + 1]):
            if not in_bush[a]:
                continue
            v = head[a]
            if bush_flow[a] <= 0.0 and lo_pred[v] != a:
                in_bush[a] = False
                bush_flow[a] = 0.0
                continue
            indegree[v] += 1
            c = cost[a]
            if lu + c < lo[v]:
                lo[v] = lu + c
            if hu + c > hi[v]:
                hi[v] = hu + c
    added = 0
    for k in range(count):
        u = order[k]
        if no_through[u] and u != origin:
            continue
        hu = hi[u]
        lu = lo[u]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                continue
            c = cost[a]
            if c == np.inf:
                continue
            v = head[a]
            if position[v] < 0 or v == origin:
                continue
            # a shortcut w.r.t. the longest paths, or one w.r.t. the shortest paths that
            # still climbs in ``hi`` (both keep the bush acyclic: hi rises along the new link)
            if hu + c < hi[v] - rel_tol * hi[v] or (lu + c < lo[v] - rel_tol * lo[v] and hu < hi[v]):
                in_bush[a] = True
                indegree[v] += 1
                added += 1
    _kahn(origin, count, indptr, head, in_bush, order, indegree, position)
    return added


@njit_parallel
def init_bushes(indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, in_bush, bush_flow,
                order, counts):
    """Bushes = free-flow shortest-path trees carrying each origin's demand (parallel over origins)."""
    n = indptr.size - 1
    n_orig = origin_nodes.size
    n_dest = dest_nodes.size
    for r in prange(n_orig):
        dist = np.full(n, np.inf)
        pred = np.full(n, -1, dtype=np.int64)
        heap_key = np.empty(n)
        heap_node = np.empty(n, dtype=np.int64)
        position = np.full(n, -1, dtype=np.int64)
        is_target = np.zeros(n, dtype=np.bool_)
        node_flow = np.zeros(n)
        n_child = np.zeros(n, dtype=np.int64)
        stack = np.empty(n, dtype=np.int64)
        source = origin_nodes[r]
        dijkstra_into(indptr, head, cost, source, no_through, is_target, 0, dist, pred, heap_key, heap_node, position)
        for j in range(n_dest):
            if demand[r, j] > 0.0 and dist[dest_nodes[j]] < np.inf:
                node_flow[dest_nodes[j]] += demand[r, j]
        for v in range(n):
            if pred[v] >= 0 and position[v] == -2:
                in_bush[r, pred[v]] = True
        _load_tree(n, tail, pred, position, node_flow, n_child, stack, bush_flow[r])
        counts[r] = _topological_order(source, indptr, head, in_bush[r], order[r], n_child, position)


@njit
def sweep(indptr, head, tail, no_through, origin_nodes, origin_demand, in_bush, bush_flow, order, counts, flow, cost,
          deriv, preload, fixed, t0, cap, alpha, beta, kind, improve, passes, rel_tol):
    """One Algorithm B sweep over all origins (serial, Gauss-Seidel).

    Each bush gets ``passes`` (>= 1) equilibration passes, then, with ``improve``, its
    links are updated (dropped/added) for the next sweep. ``origin_demand[r]`` (veh/h)
    scales the rounding threshold. Returns ``(links added, largest cost difference)``.
    """
    n = indptr.size - 1
    lo = np.empty(n)
    hi = np.empty(n)
    lo_pred = np.empty(n, dtype=np.int64)
    hi_pred = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    indegree = np.empty(n, dtype=np.int64)
    added = 0
    worst = 0.0
    for r in range(origin_nodes.size):
        origin = origin_nodes[r]
        row_bush = in_bush[r]
        row_flow = bush_flow[r]
        row_order = order[r]
        count = counts[r]
        for k in range(count):
            position[row_order[k]] = k
        for _ in range(max(passes, 1)):
            w = _equilibrate(origin, row_order, count, position, indptr, head, tail, row_bush, row_flow, flow, cost,
                             deriv, preload, fixed, t0, cap, alpha, beta, kind, lo, hi, lo_pred, hi_pred, rel_tol,
                             ZERO_REL * origin_demand[r])
            if w > worst:
                worst = w
        if improve:
            added += _improve_bush(origin, row_order, count, position, indptr, head, row_bush, row_flow, cost,
                                   no_through, lo, hi, lo_pred, indegree, rel_tol)
        for k in range(count):
            position[row_order[k]] = -1
    return added, worst


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
