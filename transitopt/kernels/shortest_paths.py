"""Dijkstra shortest paths over a CSR graph: single source, many-to-many, many-to-all.

Conventions shared by every kernel here:

* the graph is ``indptr`` (n+1,) int64 and ``head`` (m,) int32 in CSR order by tail;
* ``weight`` (m,) float64 >= 0; ``np.inf`` marks an edge that may not be used;
* ``no_through`` (n,) bool: nodes a path may start or end at but never pass through
  (zone centroids); the source itself is always expanded;
* unreachable nodes get distance ``np.inf`` and predecessor edge ``-1``.

The heap is an indexed 4-ary min-heap with decrease-key, so it never holds more
than one entry per node and its size is bounded by n.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import njit, njit_parallel

#: parallel loops split the sources into this many interleaved chunks, each with one
#: set of scratch arrays (enough to keep any thread count busy and balanced)
_CHUNKS = 64


#: children per heap node: a 4-ary heap is shallower than a binary one and its children
#: share a cache line, about 25 % faster on road networks
_ARITY = 4


@njit
def _sift_up(heap_key, heap_node, position, i):
    key = heap_key[i]
    node = heap_node[i]
    while i > 0:
        parent = (i - 1) // _ARITY
        if heap_key[parent] <= key:
            break
        heap_key[i] = heap_key[parent]
        heap_node[i] = heap_node[parent]
        position[heap_node[i]] = i
        i = parent
    heap_key[i] = key
    heap_node[i] = node
    position[node] = i


@njit
def _sift_down(heap_key, heap_node, position, size, i):
    key = heap_key[i]
    node = heap_node[i]
    while True:
        first = _ARITY * i + 1
        if first >= size:
            break
        child = first
        child_key = heap_key[first]
        for c in range(first + 1, min(first + _ARITY, size)):
            if heap_key[c] < child_key:
                child = c
                child_key = heap_key[c]
        if child_key >= key:
            break
        heap_key[i] = child_key
        heap_node[i] = heap_node[child]
        position[heap_node[i]] = i
        i = child
    heap_key[i] = key
    heap_node[i] = node
    position[node] = i


@njit
def heap_pop(heap_key, heap_node, position, size):
    """Remove the smallest entry of the indexed heap and mark its node settled (``-2``).

    Returns ``(node, key, size)`` with the heap's new size.
    """
    u = heap_node[0]
    du = heap_key[0]
    position[u] = -2
    size -= 1
    if size > 0:
        heap_key[0] = heap_key[size]
        heap_node[0] = heap_node[size]
        position[heap_node[0]] = 0
        _sift_down(heap_key, heap_node, position, size, 0)
    return u, du, size


@njit
def heap_push(heap_key, heap_node, position, size, v, key):
    """Insert node ``v`` with ``key``, or lower its key if it is queued; returns the new size.

    ``position[v]`` must be ``-1`` (never queued) or its heap slot; settled nodes
    (``-2``) are the caller's to skip.
    """
    p = position[v]
    if p == -1:
        heap_key[size] = key
        heap_node[size] = v
        position[v] = size
        _sift_up(heap_key, heap_node, position, size)
        return size + 1
    heap_key[p] = key
    _sift_up(heap_key, heap_node, position, p)
    return size


@njit
def dijkstra_into(
    indptr,
    head,
    weight,
    source,
    no_through,
    is_target,
    n_targets,
    dist,
    pred,
    heap_key,
    heap_node,
    position,
):
    """Single-source Dijkstra writing into caller-owned scratch arrays.

    ``dist`` and ``pred`` must come in as ``inf`` and ``-1``; ``position`` as ``-1``
    (``-2`` marks a settled node on return). With ``n_targets > 0`` the search stops
    once that many nodes flagged in ``is_target`` are settled. Returns the number of
    settled nodes (the caller resets only those it touched if it wishes).
    """
    size = 0
    dist[source] = 0.0
    heap_key[0] = 0.0
    heap_node[0] = source
    position[source] = 0
    size = 1
    settled = 0
    targets_left = n_targets
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        settled += 1
        if n_targets > 0 and is_target[u]:
            targets_left -= 1
            if targets_left == 0:
                break
        if no_through[u] and u != source:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            nd = du + weight[e]
            if nd < dist[v]:
                p = position[v]
                if p == -2:
                    continue
                dist[v] = nd
                pred[v] = e
                size = heap_push(heap_key, heap_node, position, size, v, nd)
    return settled


@njit
def _mark_targets(n, targets):
    """Boolean mask of ``targets`` and the number of distinct targets."""
    is_target = np.zeros(n, dtype=np.bool_)
    n_unique = 0
    for t in targets:
        if not is_target[t]:
            is_target[t] = True
            n_unique += 1
    return is_target, n_unique


@njit
def single_source(indptr, head, weight, source, no_through, targets):
    """Distances and predecessor edges from ``source``; stop early once ``targets`` are settled.

    ``targets`` empty means all nodes. Returns ``(dist, pred_edge)``.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    heap_key = np.empty(n)
    heap_node = np.empty(n, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    is_target, n_targets = _mark_targets(n, targets)
    dijkstra_into(
        indptr,
        head,
        weight,
        source,
        no_through,
        is_target,
        n_targets,
        dist,
        pred,
        heap_key,
        heap_node,
        position,
    )
    return dist, pred


@njit
def path_edges(pred, tail, target):
    """Edge indices of the path ending at ``target`` (source first); empty if unreachable."""
    count = 0
    v = target
    while pred[v] >= 0:
        count += 1
        v = tail[pred[v]]
    out = np.empty(count, dtype=np.int64)
    v = target
    for k in range(count - 1, -1, -1):
        e = pred[v]
        out[k] = e
        v = tail[e]
    return out


@njit
def _reset(dist, pred, position):
    dist[:] = np.inf
    pred[:] = -1
    position[:] = -1


@njit_parallel
def many_to_many(indptr, head, weight, sources, targets, no_through):
    """Distance matrix ``(len(sources), len(targets))``, parallel over sources.

    Each search stops once every target is settled. Unreachable pairs are ``inf``.
    Each thread keeps one set of scratch arrays for all its sources.
    """
    n = indptr.size - 1
    n_src = sources.size
    n_tgt = targets.size
    out = np.empty((n_src, n_tgt))
    is_target, n_unique = _mark_targets(n, targets)
    n_chunks = max(1, min(_CHUNKS, n_src))
    for c in prange(n_chunks):
        dist = np.empty(n)
        pred = np.empty(n, dtype=np.int64)
        heap_key = np.empty(n)
        heap_node = np.empty(n, dtype=np.int64)
        position = np.empty(n, dtype=np.int64)
        for i in range(c, n_src, n_chunks):
            _reset(dist, pred, position)
            dijkstra_into(
                indptr,
                head,
                weight,
                sources[i],
                no_through,
                is_target,
                n_unique,
                dist,
                pred,
                heap_key,
                heap_node,
                position,
            )
            for j in range(n_tgt):
                out[i, j] = dist[targets[j]]
    return out


@njit_parallel
def many_to_all(indptr, head, weight, sources, no_through):
    """Distance matrix ``(len(sources), n_nodes)``, parallel over sources."""
    n = indptr.size - 1
    n_src = sources.size
    out = np.empty((n_src, n))
    is_target = np.zeros(n, dtype=np.bool_)
    n_chunks = max(1, min(_CHUNKS, n_src))
    for c in prange(n_chunks):
        pred = np.empty(n, dtype=np.int64)
        heap_key = np.empty(n)
        heap_node = np.empty(n, dtype=np.int64)
        position = np.empty(n, dtype=np.int64)
        for i in range(c, n_src, n_chunks):
            dist = out[i]
            _reset(dist, pred, position)
            dijkstra_into(
                indptr,
                head,
                weight,
                sources[i],
                no_through,
                is_target,
                0,
                dist,
                pred,
                heap_key,
                heap_node,
                position,
            )
    return out


@njit
def _search_seeds(
    indptr,
    head,
    weight,
    seeds,
    seed_d,
    s,
    no_through,
    is_target,
    n_targets,
    dist,
    heap_key,
    heap_node,
    position,
):
    """Dijkstra from the ``seeds`` (two nodes, -1 unused) at distances ``seed_d``; ``s``
    is the source itself (-1: none, its boundary is seeded). Like :func:`dijkstra_into`
    without predecessors; no-through nodes other than ``s`` are not expanded."""
    size = 0
    for a in range(2):
        k = seeds[a]
        if k >= 0 and seed_d[a] < dist[k]:
            dist[k] = seed_d[a]
            p = position[k]
            if p == -1:
                heap_key[size] = seed_d[a]
                heap_node[size] = k
                position[k] = size
                _sift_up(heap_key, heap_node, position, size)
                size += 1
            else:
                heap_key[p] = seed_d[a]
                _sift_up(heap_key, heap_node, position, p)
    targets_left = n_targets
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        if n_targets > 0 and is_target[u]:
            targets_left -= 1
            if targets_left == 0:
                break
        if no_through[u] and u != s:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            nd = du + weight[e]
            if nd < dist[v]:
                p = position[v]
                if p == -2:
                    continue
                dist[v] = nd
                size = heap_push(heap_key, heap_node, position, size, v, nd)


@njit
def _expanded_chunk(
    indptr,
    head,
    weight,
    no_through,
    seeds,
    seed_d,
    src,
    loc_ptr,
    loc_col,
    loc_d,
    col,
    anc,
    off,
    is_needed,
    n_needed,
    first,
    step,
    out,
):
    """Rows ``first, first + step, ...`` of :func:`many_expanded`, with one scratch set."""
    n = indptr.size - 1
    dist = np.empty(n)
    heap_key = np.empty(n)
    heap_node = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    for i in range(first, src.size, step):
        s = src[i]
        dist[:] = np.inf
        position[:] = -1
        _search_seeds(
            indptr,
            head,
            weight,
            seeds[i],
            seed_d[i],
            s,
            no_through,
            is_needed,
            n_needed,
            dist,
            heap_key,
            heap_node,
            position,
        )
        row = out[i]
        for o in range(col.size):
            k = col[o]
            if k >= 0:
                row[o] = dist[k]
            else:
                best = np.inf
                for a in range(2):
                    k = anc[o, a]
                    if k >= 0 and (not no_through[k] or k == s):
                        x = dist[k] + off[o, a]
                        if x < best:
                            best = x
                row[o] = best
        for e in range(loc_ptr[i], loc_ptr[i + 1]):
            if loc_d[e] < row[loc_col[e]]:
                row[loc_col[e]] = loc_d[e]


@njit_parallel
def many_expanded(
    indptr,
    head,
    weight,
    no_through,
    seeds,
    seed_d,
    src,
    loc_ptr,
    loc_col,
    loc_d,
    col,
    anc,
    off,
    is_needed,
    n_needed,
):
    """Distances ``(n_sources, len(col))`` on a compressed graph, expanded to the output
    columns (sources and columns as in :func:`.contraction.phast`).

    Each search stops once the ``n_needed`` nodes flagged in ``is_needed`` (the kept
    columns and the anchors) are settled; ``n_needed == 0`` searches everything.
    Parallel over sources.
    """
    out = np.empty((src.size, col.size))
    n_chunks = max(1, min(_CHUNKS, src.size))
    for c in prange(n_chunks):
        _expanded_chunk(
            indptr,
            head,
            weight,
            no_through,
            seeds,
            seed_d,
            src,
            loc_ptr,
            loc_col,
            loc_d,
            col,
            anc,
            off,
            is_needed,
            n_needed,
            c,
            n_chunks,
            out,
        )
    return out
