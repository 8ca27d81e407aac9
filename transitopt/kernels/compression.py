"""Graph compression: contract degree-2 chains and dead-end trees before searching.

A node is *contracted* when it is not protected (zone centroids and any node the caller
protects are never contracted) and, in the undirected simple graph (self-loops and
parallel edges ignored), it is either

* in a dead-end tree: repeatedly peeling nodes of degree <= 1 removes it, or
* a chain node: after peeling it has exactly two neighbours.

Every connected set of contracted nodes (a *component*) touches at most two *kept*
nodes, its *boundary*: a chain (one-way or two-way, any mix) has its two ends, a dead-end
tree its root. Shortest distances between kept nodes are therefore those of the
*compressed graph*: the edges between kept nodes plus one shortcut per component and
ordered pair of boundary nodes (the shortest path through the component).

A contracted node ``t`` is reached from outside its component only through a boundary
node ``K``, so ``dist(s, t) = min_K dist(s, K) + offset(K, t)`` over the (at most two)
*anchors* ``K`` of ``t``; an anchor that is a no-through node counts only when it is the
source itself. A source inside a component is handled by a *local search* within its
component (see :func:`local_search`).

Conventions as in :mod:`.shortest_paths`: ``weight`` >= 0, ``inf`` = unusable edge.
"""

from __future__ import annotations

import numpy as np

from ._config import njit
from .heap import NOT_QUEUED, heap_pop, heap_push
from .shortest_paths import relax_tracked, search_scratch


@njit
def dedupe_csr(n, tail, head, weight):
    """CSR ``(ptr, head, weight)`` by tail of the edges ``tail -> head``: parallel edges
    reduced to their minimum weight, self-loops and ``inf`` edges dropped. Within a row,
    heads keep the order of their first appearance. O(n + m), no sorting."""
    m = tail.size
    count = np.zeros(n + 1, dtype=np.int64)
    for e in range(m):
        count[tail[e] + 1] += 1
    for u in range(n):
        count[u + 1] += count[u]
    by_tail = np.empty(m, dtype=np.int64)
    fill = count[:-1].copy()
    for e in range(m):
        by_tail[fill[tail[e]]] = e
        fill[tail[e]] += 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    out_head = np.empty(m, dtype=np.int32)
    out_w = np.empty(m)
    slot = np.full(n, -1, dtype=np.int64)  # output position of head v in the current row
    k = 0
    for u in range(n):
        row_start = k
        for i in range(count[u], count[u + 1]):
            e = by_tail[i]
            v = head[e]
            w = weight[e]
            if v == u or not w < np.inf:
                continue
            j = slot[v]
            if j >= row_start:
                if w < out_w[j]:
                    out_w[j] = w
                continue
            slot[v] = k
            out_head[k] = v
            out_w[k] = w
            k += 1
        ptr[u + 1] = k
    return ptr, out_head[:k].copy(), out_w[:k].copy()


@njit
def undirected_neighbours(indptr, head):
    """CSR ``(ptr, nbr)`` of distinct neighbours of each node, either direction, no self."""
    n = indptr.size - 1
    m = head.size
    tail2 = np.empty(2 * m, dtype=np.int64)
    head2 = np.empty(2 * m, dtype=np.int64)
    k = 0
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            tail2[k] = u
            head2[k] = head[e]
            tail2[k + 1] = head[e]
            head2[k + 1] = u
            k += 2
    ptr, nbr, _ = dedupe_csr(n, tail2, head2, np.zeros(2 * m))
    return ptr, nbr


@njit
def peel(nb_ptr, nbr, protect):
    """``(peeled, deg)``: nodes removed by repeatedly peeling unprotected nodes of
    undirected degree <= 1 (dead-end trees), and every node's degree among the nodes left."""
    n = nb_ptr.size - 1
    deg = np.empty(n, dtype=np.int64)
    for v in range(n):
        deg[v] = nb_ptr[v + 1] - nb_ptr[v]
    peeled = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for v in range(n):
        if deg[v] <= 1 and not protect[v]:
            stack[top] = v
            top += 1
            peeled[v] = True
    while top > 0:
        top -= 1
        v = stack[top]
        for k in range(nb_ptr[v], nb_ptr[v + 1]):
            x = nbr[k]
            if not peeled[x]:
                deg[x] -= 1
                if deg[x] <= 1 and not protect[x]:
                    peeled[x] = True
                    stack[top] = x
                    top += 1
    return peeled, deg


@njit
def contractible(nb_ptr, nbr, protect):
    """``(contracted, component)``: which nodes to contract and their component label.

    ``component[v]`` is -1 for kept nodes and ``0..n_components-1`` otherwise.
    """
    n = nb_ptr.size - 1
    peeled, deg = peel(nb_ptr, nbr, protect)
    stack = np.empty(n, dtype=np.int64)
    contracted = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        contracted[v] = peeled[v] or (deg[v] == 2 and not protect[v])
    component = np.full(n, -1, dtype=np.int64)
    n_comp = 0
    for v0 in range(n):
        if not contracted[v0] or component[v0] >= 0:
            continue
        component[v0] = n_comp
        stack[0] = v0
        top = 1
        while top > 0:
            top -= 1
            v = stack[top]
            for k in range(nb_ptr[v], nb_ptr[v + 1]):
                x = nbr[k]
                if contracted[x] and component[x] < 0:
                    component[x] = n_comp
                    stack[top] = x
                    top += 1
        n_comp += 1
    return contracted, component


@njit
def _local_scratch(n):
    """Scratch for :func:`local_search` over ``n`` nodes: ``(dist, touched, heap_key,
    heap_node, position)``, ready to search."""
    touched = np.empty(n, dtype=np.int64)
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    return dist, touched, heap_key, heap_node, position


@njit
def local_search(
    indptr, head, weight, component, start, comp, dist, touched, heap_key, heap_node, position
):
    """Dijkstra from ``start`` that stays inside component ``comp``.

    Expands ``start`` and the nodes of ``comp``; enters the nodes of ``comp`` and kept
    nodes (``component == -1``), which are recorded but never expanded. From a kept
    ``start`` only edges into ``comp`` are followed (that is how ``comp`` is entered from
    its boundary); from a ``start`` inside ``comp`` this gives the distances within the
    component and to its boundary. ``dist``/``position`` must come in as ``inf``/-1; the
    caller resets the ``touched`` nodes afterwards. Returns how many were touched
    (``start`` first).
    """
    dist[start] = 0.0
    touched[0] = start
    n_t = 1
    size = heap_push(heap_key, heap_node, position, 0, start, 0.0)
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        cu = component[u]
        if u != start and cu != comp:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            cv = component[v]
            if cv != comp and (cv >= 0 or cu < 0):
                continue
            n_t, size = relax_tracked(
                v, du + weight[e], dist, touched, n_t, heap_key, heap_node, position, size
            )
    return n_t


@njit
def compress(indptr, head, weight, nb_ptr, nbr, contracted, component, new_of):
    """Build the compressed graph and the anchors of contracted nodes.

    ``new_of[v]`` is the compressed index of kept node ``v`` (-1 for contracted nodes).
    Returns ``(c_indptr, c_head, c_weight, anchor, offset)``: the compressed CSR (edges
    deduplicated by minimum, no self-loops, no ``inf`` edges) and, per original node,
    ``anchor (n, 2)`` compressed indices of the boundary nodes it is reached from (-1:
    none) with ``offset (n, 2)`` the distance from the anchor inside the component.
    """
    n = indptr.size - 1
    n_kept = 0
    for v in range(n):
        if new_of[v] >= 0:
            n_kept += 1
    anchor = np.full((n, 2), -1, dtype=np.int64)
    offset = np.full((n, 2), np.inf)
    # candidate edges of the compressed graph as (tail, head, weight) in compressed indices
    cap = head.size + 16
    et = np.empty(cap, dtype=np.int64)
    eh = np.empty(cap, dtype=np.int64)
    ew = np.empty(cap)
    k = 0
    for u in range(n):
        cu = new_of[u]
        if cu < 0:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            cv = new_of[v]
            if cv >= 0 and cv != cu and weight[e] < np.inf:
                et[k] = cu
                eh[k] = cv
                ew[k] = weight[e]
                k += 1
    # each component is entered from each boundary node: offsets and shortcuts
    dist, touched, heap_key, heap_node, position = _local_scratch(n)
    done = np.zeros(n, dtype=np.bool_)  # (boundary node, component) pairs seen, per node
    for u in range(n):
        if new_of[u] < 0:
            continue
        # each distinct component adjacent to u (in either direction) once
        for kk in range(nb_ptr[u], nb_ptr[u + 1]):
            x = nbr[kk]
            c = component[x]
            if c < 0 or done[c]:
                continue
            done[c] = True
            n_t = local_search(
                indptr, head, weight, component, u, c, dist, touched, heap_key, heap_node, position
            )
            for i in range(1, n_t):
                t = touched[i]
                d = dist[t]
                if new_of[t] >= 0:
                    if t != u and d < np.inf:
                        if k >= cap:
                            cap *= 2
                            et2 = np.empty(cap, dtype=np.int64)
                            eh2 = np.empty(cap, dtype=np.int64)
                            ew2 = np.empty(cap)
                            for q in range(k):  # loops: an array-to-slice copy costs
                                et2[q] = et[q]  # seconds of compile (its shape check)
                                eh2[q] = eh[q]
                                ew2[q] = ew[q]
                            et = et2
                            eh = eh2
                            ew = ew2
                        et[k] = new_of[u]
                        eh[k] = new_of[t]
                        ew[k] = d
                        k += 1
                elif d < np.inf:
                    slot = 0 if anchor[t, 0] < 0 else 1
                    anchor[t, slot] = new_of[u]
                    offset[t, slot] = d
            for t in touched[:n_t]:
                dist[t] = np.inf
                position[t] = NOT_QUEUED
        for kk in range(nb_ptr[u], nb_ptr[u + 1]):
            c = component[nbr[kk]]
            if c >= 0:
                done[c] = False
    c_indptr, c_head, c_weight = dedupe_csr(n_kept, et[:k], eh[:k], ew[:k])
    return c_indptr, c_head, c_weight, anchor, offset


@njit
def bfs_order(nb_ptr, nbr, keep):
    """Nodes with ``keep`` in breadth-first order over the undirected graph (each
    connected piece from its lowest index), so that neighbours get nearby numbers."""
    n = nb_ptr.size - 1
    queue = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    n_out = 0
    for v0 in range(n):
        if seen[v0]:
            continue
        seen[v0] = True
        queue[0] = v0
        head = 0
        tail = 1
        while head < tail:
            u = queue[head]
            head += 1
            if keep[u]:
                order[n_out] = u
                n_out += 1
            for k in range(nb_ptr[u], nb_ptr[u + 1]):
                x = nbr[k]
                if not seen[x]:
                    seen[x] = True
                    queue[tail] = x
                    tail += 1
    return order[:n_out].copy()


@njit
def source_seeds(indptr, head, weight, component, new_of, sources, pos):
    """Where each source's search on the compressed graph starts.

    A kept source ``s`` is its own seed at 0. A contracted source gets a local search in
    its component: the boundary nodes it reaches become its seeds (at most two) and the
    distances it finds to output nodes (``pos[v] >= 0`` is ``v``'s output column) are
    returned, to be combined by minimum with the searched ones.

    Returns ``(seeds (n_src, 2), seed_d (n_src, 2), src (n_src,), loc_ptr, loc_col,
    loc_d)``: seeds as compressed indices (-1 unused), ``src`` the compressed index of a
    kept source (-1 for a contracted one), and the local distances of source ``i`` as
    ``loc_d[loc_ptr[i]:loc_ptr[i+1]]`` at output columns ``loc_col``.
    """
    n = indptr.size - 1
    n_src = sources.size
    seeds = np.full((n_src, 2), -1, dtype=np.int64)
    seed_d = np.full((n_src, 2), np.inf)
    src = np.full(n_src, -1, dtype=np.int64)
    loc_ptr = np.zeros(n_src + 1, dtype=np.int64)
    cap = 16
    loc_col = np.empty(cap, dtype=np.int64)
    loc_d = np.empty(cap)
    n_loc = 0
    # scratch for the local searches, only if some source needs one
    n_scratch = 0
    for i in range(n_src):
        if new_of[sources[i]] < 0:
            n_scratch = n
            break
    dist, touched, heap_key, heap_node, position = _local_scratch(n_scratch)
    for i in range(n_src):
        s = sources[i]
        if new_of[s] >= 0:
            seeds[i, 0] = new_of[s]
            seed_d[i, 0] = 0.0
            src[i] = new_of[s]
            loc_ptr[i + 1] = n_loc
            continue
        n_t = local_search(
            indptr,
            head,
            weight,
            component,
            s,
            component[s],
            dist,
            touched,
            heap_key,
            heap_node,
            position,
        )
        nb = 0
        for k in range(n_t):
            t = touched[k]
            if pos[t] >= 0:
                if n_loc == cap:
                    cap *= 2
                    grown_col = np.empty(cap, dtype=np.int64)
                    grown_d = np.empty(cap)
                    for q in range(n_loc):  # a loop compiles faster than a slice copy
                        grown_col[q] = loc_col[q]
                        grown_d[q] = loc_d[q]
                    loc_col = grown_col
                    loc_d = grown_d
                loc_col[n_loc] = pos[t]
                loc_d[n_loc] = dist[t]
                n_loc += 1
            if new_of[t] >= 0 and nb < 2:
                seeds[i, nb] = new_of[t]
                seed_d[i, nb] = dist[t]
                nb += 1
            dist[t] = np.inf
            position[t] = NOT_QUEUED
        loc_ptr[i + 1] = n_loc
    return seeds, seed_d, src, loc_ptr, loc_col[:n_loc].copy(), loc_d[:n_loc].copy()
