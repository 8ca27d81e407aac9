"""Contraction hierarchy (CH) and PHAST one-to-all sweeps over a CSR graph.

Preprocessing contracts nodes one by one in order of importance; contracting ``v``
adds a *shortcut* ``u -> w`` for every pair of remaining neighbours whose shortest path
runs through ``v`` (no *witness* path avoiding ``v`` found by a bounded local search).
The result is one edge set where every edge goes *up* (to a higher rank) or *down*.

A one-to-all query (PHAST, Delling et al. 2011) is a small Dijkstra on the up edges
from the source followed by one linear sweep over all nodes in decreasing rank that
relaxes the down edges into each node; with nodes numbered by decreasing rank the sweep
reads memory in order and needs no priority queue.

``no_through`` nodes (zone centroids) are contracted first and without shortcuts, so
no shortcut runs through them; queries never relax edges out of them unless one is the
source. Conventions as in :mod:`.shortest_paths`: ``weight`` >= 0, ``inf`` = unusable
edge, unreachable = ``inf``.

Layout of a built hierarchy (node ``k`` = ``k``-th highest rank; the caller keeps the
map from its own numbering):

* ``up_ptr, up_head, up_w``: CSR by tail of edges to higher rank (smaller ``k``);
* ``dn_ptr, dn_tail, dn_w``: CSR by head of edges from higher rank, tails not no-through;
* ``sd_ptr, sd_head, sd_w``: CSR by tail of edges from no-through nodes to lower rank.

Queries take the sources and output columns of a compressed graph
(:mod:`.compression`): a source inside a contracted chain starts from its boundary nodes,
a contracted output column is read through its anchors. Distances are float64.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import njit, njit_parallel
from .compression import dedupe_csr
from .heap import NOT_QUEUED, heap_pop, heap_push, heap_raise_key
from .shortest_paths import relax_out_edges, relax_tracked, search_scratch, seed_search

# ----------------------------------------------------------------------------- build


@njit
def _find_out(first_out, next_out, e_head, u, w):
    e = first_out[u]
    while e >= 0:
        if e_head[e] == w:
            return e
        e = next_out[e]
    return -1


@njit
def _witness(
    first_out,
    next_out,
    e_head,
    e_w,
    contracted,
    source,
    avoid,
    limit,
    max_settled,
    dist,
    touched,
    heap_key,
    heap_node,
    position,
):
    """Bounded Dijkstra from ``source`` avoiding ``avoid`` and contracted nodes.

    Leaves tentative distances in ``dist`` (reset by the caller through ``touched``);
    returns the number of touched nodes.
    """
    n_touched = 1
    touched[0] = source
    dist[source] = 0.0
    size = heap_push(heap_key, heap_node, position, 0, source, 0.0)
    settled = 0
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        if du > limit:
            break
        settled += 1
        if settled > max_settled:
            break
        e = first_out[u]
        while e >= 0:
            v = e_head[e]
            if v != avoid and not contracted[v]:
                n_touched, size = relax_tracked(
                    v, du + e_w[e], dist, touched, n_touched, heap_key, heap_node, position, size
                )
            e = next_out[e]
    # leave no node marked in the heap
    return n_touched


@njit
def _add_edge(pool, n_e, u, w, c):
    """Append edge ``u -> w`` of weight ``c`` to the ``pool`` at slot ``n_e``, linking it
    into ``u``'s out-list and ``w``'s in-list; returns the new edge count."""
    e_tail, e_head, e_w, first_out, next_out, first_in, next_in = pool
    e_tail[n_e] = u
    e_head[n_e] = w
    e_w[n_e] = c
    next_out[n_e] = first_out[u]
    first_out[u] = n_e
    next_in[n_e] = first_in[w]
    first_in[w] = n_e
    return n_e + 1


@njit
def _process(v, add, pool, n_e, contracted, max_settled, search):
    """Shortcuts needed to contract ``v``; with ``add`` insert them into the ``pool``.

    ``pool`` is ``(e_tail, e_head, e_w, first_out, next_out, first_in, next_in)``: the
    edges and their linked out- and in-lists; ``search`` is ``(dist, touched, heap_key,
    heap_node, position)``, scratch for the witness searches (``inf``/not queued).
    Returns ``(n_shortcuts, degree, n_e)``; ``n_e`` is -1 if the pool is full.
    """
    e_tail, e_head, e_w, first_out, next_out, first_in, next_in = pool
    dist, touched, heap_key, heap_node, position = search
    cap = e_head.size
    n_short = 0
    degree = 0
    e = first_out[v]
    while e >= 0:
        if not contracted[e_head[e]]:
            degree += 1
        e = next_out[e]
    ein = first_in[v]
    while ein >= 0:
        u = e_tail[ein]
        if not contracted[u]:
            degree += 1
            w_uv = e_w[ein]
            limit = -1.0
            e = first_out[v]
            while e >= 0:
                w = e_head[e]
                if w != u and not contracted[w]:
                    c = w_uv + e_w[e]
                    if c > limit:
                        limit = c
                e = next_out[e]
            if limit >= 0.0:
                n_t = _witness(
                    first_out, next_out, e_head, e_w, contracted, u, v, limit, max_settled,
                    dist, touched, heap_key, heap_node, position,
                )  # fmt: skip
                e = first_out[v]
                while e >= 0:
                    w = e_head[e]
                    if w != u and not contracted[w]:
                        c = w_uv + e_w[e]
                        if dist[w] > c:
                            n_short += 1
                            if add:
                                f = _find_out(first_out, next_out, e_head, u, w)
                                if f >= 0:
                                    if c < e_w[f]:
                                        e_w[f] = c
                                elif n_e >= cap:
                                    n_e = -1
                                elif n_e >= 0:
                                    n_e = _add_edge(pool, n_e, u, w, c)
                    e = next_out[e]
                for x in touched[:n_t]:
                    dist[x] = np.inf
                    position[x] = NOT_QUEUED
        ein = next_in[ein]
    return n_short, degree, n_e


@njit
def _drop_contracted(first, nxt, other_end, contracted, x):
    """Unlink from node ``x``'s list (``first``/``nxt``) the edges whose other end is
    contracted, so later searches only walk live edges (edges stay in the pool)."""
    prev = -1
    e = first[x]
    while e >= 0:
        following = nxt[e]
        if contracted[other_end[e]]:
            if prev < 0:
                first[x] = following
            else:
                nxt[prev] = following
        else:
            prev = e
        e = following


@njit
def _priority(n_short, degree, deleted, level):
    return 2.0 * (n_short - degree) + deleted + level


@njit
def _tails(indptr):
    n = indptr.size - 1
    tail = np.empty(indptr[n], dtype=np.int64)
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            tail[e] = u
    return tail


@njit
def build_hierarchy(indptr, head, weight, no_through, max_settled, pool_factor):
    """Contract every node; return ``(rank, e_tail, e_head, e_w)`` or empty arrays if the
    pool of ``pool_factor * m`` edges ran out (retry with a larger factor).

    ``rank[v]`` is the contraction order (0 first). Edges are the deduplicated input
    edges (parallel edges by minimum, self-loops and ``inf`` edges dropped) plus shortcuts.
    """
    n = indptr.size - 1
    m = head.size
    cap = int(pool_factor * m) + 16
    e_tail = np.empty(cap, dtype=np.int64)
    e_head = np.empty(cap, dtype=np.int64)
    e_w = np.empty(cap)
    first_out = np.full(n, -1, dtype=np.int64)
    next_out = np.empty(cap, dtype=np.int64)
    first_in = np.full(n, -1, dtype=np.int64)
    next_in = np.empty(cap, dtype=np.int64)
    pool = (e_tail, e_head, e_w, first_out, next_out, first_in, next_in)
    n_e = 0
    # parallel edges by minimum, no self-loops or inf edges
    # int64 heads, as compression passes them: one specialisation of dedupe_csr
    d_ptr, d_head, d_w = dedupe_csr(n, _tails(indptr), head.astype(np.int64), weight)
    for u in range(n):
        for k in range(d_ptr[u], d_ptr[u + 1]):
            n_e = _add_edge(pool, n_e, u, d_head[k], d_w[k])

    contracted = np.zeros(n, dtype=np.bool_)
    rank = np.full(n, -1, dtype=np.int64)
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    touched = np.empty(n, dtype=np.int64)
    search = (dist, touched, heap_key, heap_node, position)
    next_rank = 0
    # no-through nodes first, without shortcuts: no shortest path passes through them
    for v in range(n):
        if no_through[v]:
            contracted[v] = True
            rank[v] = next_rank
            next_rank += 1

    deleted = np.zeros(n, dtype=np.int64)
    stale = np.zeros(n, dtype=np.bool_)
    level = np.zeros(n, dtype=np.int64)
    # the contraction queue: nodes by priority, in a heap of its own
    q_key = np.empty(n)
    q_node = np.empty(n, dtype=np.int64)
    q_pos = np.full(n, NOT_QUEUED, dtype=np.int64)
    q_size = 0
    for v in range(n):
        if not contracted[v]:
            ns, deg, unused = _process(v, False, pool, n_e, contracted, max_settled, search)
            q_size = heap_push(q_key, q_node, q_pos, q_size, v, _priority(ns, deg, 0, 0))

    while q_size > 0:
        v = q_node[0]
        # lazy update: a key bumped since it was computed is recomputed, and v is
        # contracted only if it stays on top
        if stale[v]:
            stale[v] = False
            ns, deg, unused = _process(v, False, pool, n_e, contracted, max_settled, search)
            pr = _priority(ns, deg, deleted[v], level[v])
            if pr > q_key[0] and q_size > 1:
                heap_raise_key(q_key, q_node, q_pos, q_size, 0, pr)
                if q_node[0] != v:
                    continue
        v, key, q_size = heap_pop(q_key, q_node, q_pos, q_size)
        ns, deg, n_e = _process(v, True, pool, n_e, contracted, max_settled, search)
        if n_e < 0:
            return rank[:0], e_tail[:0], e_head[:0], e_w[:0]
        contracted[v] = True
        rank[v] = next_rank
        next_rank += 1
        _update_neighbours(v, pool, contracted, deleted, level, stale, q_key, q_node, q_pos, q_size)
    return rank, e_tail[:n_e].copy(), e_head[:n_e].copy(), e_w[:n_e].copy()


@njit
def _update_neighbours(v, pool, contracted, deleted, level, stale, q_key, q_node, q_pos, q_size):
    """After contracting ``v``: unlink contracted ends from its live neighbours' lists and
    give each one more deleted neighbour, maybe a level deeper, and a stale priority."""
    e_tail, e_head, _, first_out, next_out, first_in, next_in = pool
    for side in range(2):
        e = first_out[v] if side == 0 else first_in[v]
        while e >= 0:
            x = e_head[e] if side == 0 else e_tail[e]
            e = next_out[e] if side == 0 else next_in[e]
            if contracted[x]:
                continue
            _drop_contracted(first_out, next_out, e_head, contracted, x)
            _drop_contracted(first_in, next_in, e_tail, contracted, x)
            # cheap update (one more deleted neighbour, maybe a level deeper); the
            # exact priority is recomputed lazily when x reaches the top
            bump = 1.0
            if level[v] + 1 > level[x]:
                bump += level[v] + 1 - level[x]
                level[x] = level[v] + 1
            deleted[x] += 1
            stale[x] = True
            p = q_pos[x]
            heap_raise_key(q_key, q_node, q_pos, q_size, p, q_key[p] + bump)


# ----------------------------------------------------------------------------- query


@njit
def _upward(
    up_ptr, up_head, up_w, sd_ptr, sd_head, sd_w, no_through, seeds, seed_d, s,
    dist, pred, heap_key, heap_node, position, touched,
):  # fmt: skip
    """Dijkstra over the up edges from the ``seeds`` (two hierarchy nodes, -1 unused) at
    distances ``seed_d``; ``s`` is the source itself (-1 when it lies inside a contracted
    component and only its boundary is seeded). No-through nodes other than ``s`` are
    reached but not expanded; a no-through ``s`` also relaxes its own down edges.

    ``dist`` must be ``inf`` everywhere except what this writes. Returns the number of
    settled nodes listed in ``touched`` (their ``position`` is reset to not queued).
    """
    size = seed_search(seeds, seed_d, dist, heap_key, heap_node, position)
    if s >= 0 and no_through[s]:
        for e in range(sd_ptr[s], sd_ptr[s + 1]):
            v = sd_head[e]
            if sd_w[e] < dist[v]:
                dist[v] = sd_w[e]
                # lower-rank node: reached only from s; settled through the sweep
    n_t = 0
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        touched[n_t] = u
        n_t += 1
        if no_through[u] and u != s:
            continue
        size = relax_out_edges(
            up_ptr, up_head, up_w, u, du, dist, pred, heap_key, heap_node, position, size
        )
    for u in touched[:n_t]:
        position[u] = NOT_QUEUED
    return n_t


@njit
def _sweep(dn_ptr, dn_tail, dn_w, dist):
    """Relax the down edges into every node in rank order (node 0 = highest rank)."""
    n = dn_ptr.size - 1
    for v in range(n):
        dv = dist[v]
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            x = dist[dn_tail[e]] + dn_w[e]
            if x < dv:
                dv = x
        dist[v] = dv


#: sources swept together: one 64-byte cache line of float64 distances per node
LANES = 8


@njit
def _sweep_lanes(dn_ptr, dn_tail, dn_w, d):
    """``_sweep`` for ``LANES`` (= 8) sources at once; ``d`` is ``(n, 8)``.

    Written out lane by lane so that the minima stay in registers and vectorise.
    """
    n = dn_ptr.size - 1
    for v in range(n):
        a0 = d[v, 0]
        a1 = d[v, 1]
        a2 = d[v, 2]
        a3 = d[v, 3]
        a4 = d[v, 4]
        a5 = d[v, 5]
        a6 = d[v, 6]
        a7 = d[v, 7]
        for e in range(dn_ptr[v], dn_ptr[v + 1]):
            t = dn_tail[e]
            w = dn_w[e]
            a0 = min(a0, d[t, 0] + w)
            a1 = min(a1, d[t, 1] + w)
            a2 = min(a2, d[t, 2] + w)
            a3 = min(a3, d[t, 3] + w)
            a4 = min(a4, d[t, 4] + w)
            a5 = min(a5, d[t, 5] + w)
            a6 = min(a6, d[t, 6] + w)
            a7 = min(a7, d[t, 7] + w)
        d[v, 0] = a0
        d[v, 1] = a1
        d[v, 2] = a2
        d[v, 3] = a3
        d[v, 4] = a4
        d[v, 5] = a5
        d[v, 6] = a6
        d[v, 7] = a7


@njit
def _expand(d, srcs, col, anc, off, anc_nt, out, i0):
    """Rows ``out[i0 : i0 + len(srcs)]`` from the lane distances ``d (n, >= len(srcs))``.

    A kept column reads ``d[col, lane]``; a contracted one the best anchor
    ``d[anchor, lane] + offset``, a no-through anchor only when it is the lane's source.
    """
    n_l = srcs.size
    for o in range(col.size):
        c = col[o]
        if c >= 0:
            for j in range(n_l):
                out[i0 + j, o] = d[c, j]
            continue
        for j in range(n_l):
            out[i0 + j, o] = np.inf
        for a in range(2):
            k = anc[o, a]
            if k < 0:
                continue
            x0 = off[o, a]
            if anc_nt[o, a]:
                for j in range(n_l):
                    if srcs[j] == k:
                        x = d[k, j] + x0
                        if x < out[i0 + j, o]:
                            out[i0 + j, o] = x
            else:
                for j in range(n_l):
                    x = d[k, j] + x0
                    if x < out[i0 + j, o]:
                        out[i0 + j, o] = x


@njit
def _expand_full(d, srcs, col, anc, off, anc_nt, out, i0):
    """``_expand`` for a full batch of ``LANES`` sources (constant loop bounds vectorise)."""
    for o in range(col.size):
        c = col[o]
        if c >= 0:
            for j in range(LANES):
                out[i0 + j, o] = d[c, j]
            continue
        for j in range(LANES):
            out[i0 + j, o] = np.inf
        for a in range(2):
            k = anc[o, a]
            if k < 0:
                continue
            x0 = off[o, a]
            if anc_nt[o, a]:
                for j in range(LANES):
                    if srcs[j] == k:
                        x = d[k, j] + x0
                        if x < out[i0 + j, o]:
                            out[i0 + j, o] = x
            else:
                for j in range(LANES):
                    x = d[k, j] + x0
                    if x < out[i0 + j, o]:
                        out[i0 + j, o] = x


@njit
def _apply_local(out, i, loc_ptr, loc_col, loc_d):
    """Distances inside the source's own component (found by its local search)."""
    for e in range(loc_ptr[i], loc_ptr[i + 1]):
        c = loc_col[e]
        if loc_d[e] < out[i, c]:
            out[i, c] = loc_d[e]


@njit
def _phast_chunk(
    up_ptr, up_head, up_w, dn_ptr, dn_tail, dn_w, sd_ptr, sd_head, sd_w, no_through, seeds,
    seed_d, src, loc_ptr, loc_col, loc_d, col, anc, off, anc_nt, first, step, out,
):  # fmt: skip
    """Batches ``first, first + step, ...`` of :func:`phast`, with one scratch set."""
    n = up_ptr.size - 1
    n_src = src.size
    n_batch = (n_src + LANES - 1) // LANES
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    # one source alone (or two) is swept on its own, without the lanes
    lanes = np.empty((n if n_src > 2 else 0, LANES))
    touched = np.empty(n, dtype=np.int64)
    for b in range(first, n_batch, step):
        i0 = b * LANES
        i1 = min(i0 + LANES, n_src)
        # too few sources to fill the lanes: sweep them one by one
        alone = i1 - i0 <= 2
        if not alone:
            lanes[:] = np.inf
        for i in range(i0, i1):
            s = src[i]
            n_t = _upward(
                up_ptr, up_head, up_w, sd_ptr, sd_head, sd_w, no_through, seeds[i], seed_d[i], s,
                dist, pred, heap_key, heap_node, position, touched,
            )  # fmt: skip
            if alone:
                _sweep(dn_ptr, dn_tail, dn_w, dist)
                _expand(dist.reshape((n, 1)), src[i : i + 1], col, anc, off, anc_nt, out, i)
                _apply_local(out, i, loc_ptr, loc_col, loc_d)
                dist[:] = np.inf
                continue
            j = i - i0
            for x in touched[:n_t]:
                lanes[x, j] = dist[x]
                dist[x] = np.inf
            if s >= 0 and no_through[s]:
                for e in range(sd_ptr[s], sd_ptr[s + 1]):
                    x = sd_head[e]
                    if dist[x] < lanes[x, j]:
                        lanes[x, j] = dist[x]
                    dist[x] = np.inf
        if alone:
            continue
        _sweep_lanes(dn_ptr, dn_tail, dn_w, lanes)
        if i1 - i0 == LANES:
            _expand_full(lanes, src[i0:i1], col, anc, off, anc_nt, out, i0)
        else:
            _expand(lanes, src[i0:i1], col, anc, off, anc_nt, out, i0)
        for i in range(i0, i1):
            _apply_local(out, i, loc_ptr, loc_col, loc_d)


@njit
def anchor_no_through(anc, no_through):
    """Which anchors ``anc (n_out, 2)`` (hierarchy nodes, -1 none) are no-through."""
    anc_nt = np.zeros(anc.shape, dtype=np.bool_)
    for o in range(anc.shape[0]):
        for a in range(2):
            if anc[o, a] >= 0:
                anc_nt[o, a] = no_through[anc[o, a]]
    return anc_nt


@njit_parallel
def phast(
    up_ptr,
    up_head,
    up_w,
    dn_ptr,
    dn_tail,
    dn_w,
    sd_ptr,
    sd_head,
    sd_w,
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
    anc_nt,
    n_threads,
):
    """Distances ``(n_sources, len(col))`` by PHAST, parallel over batches of sources.

    Source ``i`` is hierarchy node ``src[i]``, or (``src[i] == -1``) a contracted node
    whose search starts from its boundary ``seeds[i]`` at ``seed_d[i]`` and whose own
    component's distances ``loc_d[loc_ptr[i]:loc_ptr[i+1]]`` at columns ``loc_col`` come
    from a local search (see :func:`.compression.source_seeds`). Output column ``o`` is
    hierarchy node ``col[o]`` or, when ``col[o] == -1``, a contracted node reached through
    ``anc[o]`` (hierarchy nodes, -1 none) at ``off[o]``; ``anc_nt`` flags the no-through
    anchors (:func:`anchor_no_through`). Sources are swept ``LANES`` at a
    time, batches interleaved over ``n_threads`` chunks (one scratch set each).
    """
    out = np.empty((src.size, col.size))
    n_batch = (src.size + LANES - 1) // LANES
    n_chunks = max(1, min(n_threads, n_batch))
    for c in prange(n_chunks):
        _phast_chunk(
            up_ptr,
            up_head,
            up_w,
            dn_ptr,
            dn_tail,
            dn_w,
            sd_ptr,
            sd_head,
            sd_w,
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
            anc_nt,
            np.int64(c),  # the prange index is unsigned
            n_chunks,
            out,
        )
    return out
