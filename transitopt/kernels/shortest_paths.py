"""Dijkstra shortest paths over a CSR graph: single source, many-to-many, many-to-all.

Conventions shared by every kernel here:

* the graph is ``indptr`` (n+1,) int64 and ``head`` (m,) int32 in CSR order by tail;
* ``weight`` (m,) float64 >= 0; ``np.inf`` marks an edge that may not be used;
* ``no_through`` (n,) bool: nodes a path may start or end at but never pass through
  (zone centroids); the source itself is always expanded;
* unreachable nodes get distance ``np.inf`` and predecessor edge ``-1``.

Every search uses the indexed 4-ary min-heap of :mod:`.heap` (decrease-key, at most
one entry per node) and scratch arrays from :func:`search_scratch`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel
from .heap import NOT_QUEUED, SETTLED, heap_pop, heap_push


@njit
def search_scratch(n):
    """Fresh scratch arrays for one search over ``n`` nodes, ready for :func:`dijkstra_into`.

    Returns ``(dist, pred, heap_key, heap_node, position)``: ``inf``, ``-1``, an empty
    heap and :data:`.heap.NOT_QUEUED` everywhere.
    """
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int64)
    heap_key = np.empty(n)
    heap_node = np.empty(n, dtype=np.int64)
    position = np.full(n, NOT_QUEUED, dtype=np.int64)
    return dist, pred, heap_key, heap_node, position


@njit
def reset_search(dist, pred, position):
    """Make scratch arrays from :func:`search_scratch` ready for the next search."""
    dist[:] = np.inf
    pred[:] = -1
    position[:] = NOT_QUEUED


@njit
def relax_out_edges(indptr, head, weight, u, du, dist, pred, heap_key, heap_node, position, size):
    """Relax the edges out of node ``u``, settled at distance ``du``.

    A head ``v`` not yet settled that gets closer has ``dist[v]``, ``pred[v]`` (the edge)
    and its heap entry lowered. Returns the heap's new size.
    """
    for e in range(indptr[u], indptr[u + 1]):
        v = head[e]
        nd = du + weight[e]
        if nd < dist[v] and position[v] != SETTLED:
            dist[v] = nd
            pred[v] = e
            size = heap_push(heap_key, heap_node, position, size, v, nd)
    return size


@njit
def relax_tracked(v, nd, dist, touched, n_touched, heap_key, heap_node, position, size):
    """Lower node ``v`` (unless settled) to distance ``nd`` if that is shorter, listing it
    in ``touched`` the first time it is reached. Returns ``(n_touched, size)``."""
    if nd < dist[v] and position[v] != SETTLED:
        if dist[v] == np.inf:
            touched[n_touched] = v
            n_touched += 1
        dist[v] = nd
        size = heap_push(heap_key, heap_node, position, size, v, nd)
    return n_touched, size


@njit
def seed_search(seeds, seed_d, dist, heap_key, heap_node, position):
    """Queue the nodes ``seeds`` (-1: none) at distances ``seed_d``, keeping the smallest
    distance of a node given twice; returns the heap's size."""
    size = 0
    for a in range(seeds.size):
        k = seeds[a]
        if k >= 0 and seed_d[a] < dist[k]:
            dist[k] = seed_d[a]
            size = heap_push(heap_key, heap_node, position, size, k, seed_d[a])
    return size


@njit
def _settle(
    indptr, head, weight, source, no_through, is_target, n_targets,
    dist, pred, heap_key, heap_node, position, size,
):  # fmt: skip
    """Run Dijkstra from the queued nodes until the heap is empty or ``n_targets`` nodes
    flagged in ``is_target`` are settled (``n_targets == 0``: all reachable). No-through
    nodes other than ``source`` (-1: none) are settled but not expanded. Returns the
    number of settled nodes."""
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
        size = relax_out_edges(
            indptr, head, weight, u, du, dist, pred, heap_key, heap_node, position, size
        )
    return settled


@njit
def dijkstra_into(
    indptr, head, weight, source, no_through, is_target, n_targets,
    dist, pred, heap_key, heap_node, position,
):  # fmt: skip
    """Single-source Dijkstra writing into caller-owned scratch arrays.

    The scratch arrays come from :func:`search_scratch` (or :func:`reset_search`).
    Settled nodes are left :data:`.heap.SETTLED` in ``position``. With ``n_targets > 0``
    the search stops once that many nodes flagged in ``is_target`` are settled. Returns
    the number of settled nodes.
    """
    dist[source] = 0.0
    size = heap_push(heap_key, heap_node, position, 0, source, 0.0)
    return _settle(
        indptr, head, weight, source, no_through, is_target, n_targets,
        dist, pred, heap_key, heap_node, position, size,
    )  # fmt: skip


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
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    is_target, n_targets = _mark_targets(n, targets)
    dijkstra_into(
        indptr, head, weight, source, no_through, is_target, n_targets,
        dist, pred, heap_key, heap_node, position,
    )  # fmt: skip
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


@njit_parallel
def many_to_many(indptr, head, weight, sources, targets, no_through):
    """Distance matrix ``(len(sources), len(targets))``, parallel over sources.

    Each search stops once every target is settled. Unreachable pairs are ``inf``.
    Sources are dealt round-robin to :func:`.chunk_count` chunks, each with one set of
    scratch arrays.
    """
    n = indptr.size - 1
    n_src = sources.size
    n_tgt = targets.size
    out = np.empty((n_src, n_tgt))
    is_target, n_unique = _mark_targets(n, targets)
    n_chunks = chunk_count(n_src)
    for c in prange(n_chunks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        for i in range(c, n_src, n_chunks):
            reset_search(dist, pred, position)
            dijkstra_into(
                indptr, head, weight, sources[i], no_through, is_target, n_unique,
                dist, pred, heap_key, heap_node, position,
            )  # fmt: skip
            for j in range(n_tgt):
                out[i, j] = dist[targets[j]]
    return out


@njit_parallel
def many_to_many_within(indptr, head, weight, sources, targets, no_through, limit):
    """:func:`many_to_many` with every search stopped at distance ``limit``: targets
    farther than ``limit`` (or unreachable) are ``inf``.

    The searches are :func:`many_to_many`'s cut short (the same heap and relaxations in
    the same order), so every distance within ``limit`` is the same number, bit for bit.
    """
    n = indptr.size - 1
    n_src = sources.size
    n_tgt = targets.size
    out = np.empty((n_src, n_tgt))
    is_target, n_unique = _mark_targets(n, targets)
    n_chunks = chunk_count(n_src)
    for c in prange(n_chunks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        for i in range(c, n_src, n_chunks):
            reset_search(dist, pred, position)
            s = sources[i]
            dist[s] = 0.0
            size = heap_push(heap_key, heap_node, position, 0, s, 0.0)
            targets_left = n_unique
            while size > 0 and heap_key[0] <= limit:
                u, du, size = heap_pop(heap_key, heap_node, position, size)
                if is_target[u]:
                    targets_left -= 1
                    if targets_left == 0:
                        break
                if no_through[u] and u != s:
                    continue
                size = relax_out_edges(
                    indptr, head, weight, u, du, dist, pred, heap_key, heap_node, position, size
                )
            for j in range(n_tgt):
                d = dist[targets[j]]
                out[i, j] = d if d <= limit else np.inf
    return out


@njit
def many_to_all(indptr, head, weight, sources, no_through):
    """Distance matrix ``(len(sources), n_nodes)``, parallel over sources."""
    every_node = np.arange(indptr.size - 1)
    return many_to_many(indptr, head, weight, sources, every_node, no_through)


@njit
def _expanded_row(dist, s, no_through, col, anc, off, local_col, local_d, row):
    """One row of :func:`many_expanded` from the search's ``dist``: kept columns read
    ``dist``, contracted ones their best anchor (a no-through anchor only if it is the
    source ``s``), then the source's own component's distances ``local_d`` at
    ``local_col`` where smaller."""
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
    for e in range(local_col.size):
        if local_d[e] < row[local_col[e]]:
            row[local_col[e]] = local_d[e]


@njit_parallel
def many_expanded(
    indptr, head, weight, no_through, seeds, seed_d, src, loc_ptr, loc_col, loc_d, col, anc, off,
    is_needed, n_needed,
):  # fmt: skip
    """Distances ``(n_sources, len(col))`` on a compressed graph, expanded to the output
    columns (sources and columns as in :func:`.contraction.phast`).

    Each search stops once the ``n_needed`` nodes flagged in ``is_needed`` (the kept
    columns and the anchors) are settled; ``n_needed == 0`` searches everything.
    Parallel over sources.
    """
    n = indptr.size - 1
    out = np.empty((src.size, col.size))
    n_chunks = chunk_count(src.size)
    for c in prange(n_chunks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        for i in range(c, src.size, n_chunks):
            reset_search(dist, pred, position)
            # from the seeds (the source itself, or its boundary if it was contracted)
            size = seed_search(seeds[i], seed_d[i], dist, heap_key, heap_node, position)
            _settle(
                indptr, head, weight, src[i], no_through, is_needed, n_needed,
                dist, pred, heap_key, heap_node, position, size,
            )  # fmt: skip
            local = slice(loc_ptr[i], loc_ptr[i + 1])
            _expanded_row(
                dist, src[i], no_through, col, anc, off, loc_col[local], loc_d[local], out[i]
            )
    return out
