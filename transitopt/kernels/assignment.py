"""All-or-nothing loading along shortest-path trees, parallel over origins.

Origins are split into :func:`.chunk_count` contiguous blocks (independent of the thread
count); each block accumulates into its own flow buffer and the buffers are summed in
block order, so the result is the same, bit for bit, with any number of threads.

Conventions as in :mod:`.shortest_paths`: CSR graph ``indptr``/``head`` (``tail`` per
edge), ``cost`` >= 0 with ``inf`` for unusable links, ``no_through`` for centroids.
``demand[o, d]`` is the flow from ``origin_nodes[o]`` to ``dest_nodes[d]``.

Each search stops once every destination with demand from its origin is settled (zone
centroids never enter the heap: they are leaves of every tree), loads its tree in reverse
settling order and resets only the nodes it reached. The iterative
solvers call :func:`aon_load_compressed` on the graph of :func:`aon_graph` (chains
contracted, dead-end trees dropped; built once per problem), which gives the same
distances and flows up to the order of summation along chains.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel, sized
from .buckets import bucket_ring, bucket_scratch, prefetch
from .compression import bfs_order, peel, undirected_neighbours
from .heap import NOT_QUEUED, SETTLED, heap_pop, heap_push
from .shortest_paths import dijkstra_into, search_scratch


@njit
def load_tree(n, tail, pred, position, node_flow, n_child, stack, flow):
    """Push ``node_flow`` (demand ending at each node) down the shortest-path tree into ``flow``.

    Visits settled nodes (``position == SETTLED``) leaves-first using child counts; O(n).
    ``n_child`` must come in as zeros; ``stack`` is (n,) scratch.
    """
    for v in range(n):
        if position[v] == SETTLED and pred[v] >= 0:
            n_child[tail[pred[v]]] += 1
    top = 0
    for v in range(n):
        if position[v] == SETTLED and n_child[v] == 0:
            stack[top] = v
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        e = pred[v]
        if e < 0:
            continue
        u = tail[e]
        f = node_flow[v]
        if f != 0.0:
            flow[e] += f
            node_flow[u] += f
        n_child[u] -= 1
        if n_child[u] == 0:
            stack[top] = u
            top += 1


@njit
def _mark_demand_targets(dest_nodes, demand_row, is_target):
    """Flag in ``is_target`` the destinations with demand in ``demand_row``; returns how
    many distinct nodes were flagged (unflag them with :func:`_unmark_targets`)."""
    n_targets = 0
    for j in range(dest_nodes.size):
        t = dest_nodes[j]
        if demand_row[j] > 0.0 and not is_target[t]:
            is_target[t] = True
            n_targets += 1
    return n_targets


@njit
def _unmark_targets(dest_nodes, is_target):
    """Clear the flags :func:`_mark_demand_targets` set."""
    for t in dest_nodes:
        is_target[t] = False


@njit
def search_to_demand(
    indptr, head, cost, no_through, source, dest_nodes, demand_row, skip_empty, is_target,
    dist, pred, heap_key, heap_node, position,
):  # fmt: skip
    """Dijkstra from ``source`` until every destination with demand in ``demand_row`` is
    settled (every reachable node if there is none, or no search with ``skip_empty``).

    ``is_target`` (n,) bool comes in and is left all false; the scratch arrays are those
    of :func:`.dijkstra_into`. Returns the number of distinct destinations with demand.
    """
    n_targets = _mark_demand_targets(dest_nodes, demand_row, is_target)
    if n_targets == 0 and skip_empty:
        return 0
    dijkstra_into(
        indptr, head, cost, source, no_through, is_target, n_targets,
        dist, pred, heap_key, heap_node, position,
    )  # fmt: skip
    _unmark_targets(dest_nodes, is_target)
    return n_targets


@njit
def _leaf_bound(no_through, source, dist, targets):
    """Largest tentative distance of the leaf targets (``no_through``, not ``source``) in
    ``targets``; ``-inf`` if there is none."""
    bound = -np.inf
    for t in targets:
        if no_through[t] and t != source and dist[t] > bound:
            bound = dist[t]
    return bound


#: a search skips the centroid edges that lead to no target (:func:`_search_listed`)
#: where its origin has demand to fewer than one in this many destinations
FEW_TARGETS = 4


@njit
def leaves_last(indptr, head, cost, no_through):
    """Each node's edges reordered for :func:`_search_listed`: those into through nodes
    first, then those into centroids (``no_through``), each group in its order.

    Returns ``(l_head, l_cost, perm, split, feed_ptr, feed_tail)``: edge ``k`` of the
    reordered CSR (same ``indptr``) is edge ``perm[k]``; node ``u``'s edges into centroids
    are ``split[u]:indptr[u + 1]``; ``feed_tail[feed_ptr[t]:feed_ptr[t + 1]]`` are the
    through nodes with an edge into centroid ``t`` (once per edge). O(n + m).
    """
    n = indptr.size - 1
    m = head.size
    perm = np.empty(m, dtype=np.int64)
    split = np.empty(n, dtype=np.int64)
    feed_ptr = np.zeros(n + 1, dtype=np.int64)
    k = 0
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            if not no_through[head[e]]:
                perm[k] = e
                k += 1
        split[u] = k
        for e in range(indptr[u], indptr[u + 1]):
            if no_through[head[e]]:
                perm[k] = e
                k += 1
                if not no_through[u]:
                    feed_ptr[head[e] + 1] += 1
    for t in range(n):
        feed_ptr[t + 1] += feed_ptr[t]
    feed_tail = np.empty(feed_ptr[n], dtype=np.int64)
    fill = feed_ptr[:n].copy()
    l_head = np.empty(m, dtype=np.int64)
    l_cost = np.empty(m)
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            v = head[perm[k]]
            l_head[k] = v
            l_cost[k] = cost[perm[k]]
            if k >= split[u] and not no_through[u]:
                feed_tail[fill[v]] = u
                fill[v] += 1
    return l_head, l_cost, perm, split, feed_ptr, feed_tail


@njit
def _search_listed(
    indptr, head, cost, split, no_through, source, is_target, feeds, use_feeds, targets,
    dist, pred, heap_key, heap_node, position, touched, settled,
):  # fmt: skip
    """Dijkstra from ``source`` until the flagged nodes ``targets`` have their final
    distance, listing the nodes it reaches in ``touched`` and the nodes it settles, in
    order, in ``settled``. Returns ``(n_settled, n_touched)``.

    The graph's edges are ordered by :func:`leaves_last` (``split``). Centroids
    (``no_through``, not the source) are leaves of every shortest-path tree, so they
    never enter the heap: one that is not a target is not even reached, a target gets
    its distance and predecessor from the relaxations and is final once the heap's
    smallest key is no smaller than its distance (it is not listed in ``settled``). A
    settled node's edges into centroids are looked at only where ``feeds`` counts an
    edge from it into a target centroid (with ``use_feeds``: for few targets;
    Berlin-Center: 7 of a node's 16 edges, most of them into centroids without demand). The search stops when every target is final.
    Distances are those of a plain Dijkstra; of several equally short paths it may take
    another one.
    """
    dist[source] = 0.0
    touched[0] = source
    n_t = 1
    n_s = 0
    size = heap_push(heap_key, heap_node, position, 0, source, 0.0)
    left = targets.size  # targets not yet settled (through nodes) or reached (leaves)
    bound = np.inf  # once every target is reached: the largest leaf-target distance
    if is_target[source]:
        left -= 1
        if left == 0:
            bound = _leaf_bound(no_through, source, dist, targets)
    while size > 0 and heap_key[0] < bound:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        settled[n_s] = u
        n_s += 1
        if u != source and no_through[u]:
            continue
        if is_target[u] and u != source:
            left -= 1
            if left == 0:
                bound = _leaf_bound(no_through, source, dist, targets)
        # edges into centroids (after split[u]) only where one leads to a target
        stop = split[u] if use_feeds and feeds[u] == 0 and u != source else indptr[u + 1]
        for e in range(indptr[u], stop):
            v = head[e]
            nd = du + cost[e]
            if nd >= dist[v]:
                continue
            if no_through[v]:
                if v == source or not is_target[v]:
                    continue
                before = dist[v]
                if before == np.inf:
                    touched[n_t] = v
                    n_t += 1
                    left -= 1
                dist[v] = nd
                pred[v] = e
                # the bound is the largest leaf-target distance: it changes only where
                # the last target was reached or the one at the bound came closer
                if left == 0 and before >= bound:
                    bound = _leaf_bound(no_through, source, dist, targets)
                continue
            if position[v] == SETTLED:
                continue
            if dist[v] == np.inf:
                touched[n_t] = v
                n_t += 1
            dist[v] = nd
            pred[v] = e
            size = heap_push(heap_key, heap_node, position, size, v, nd)
    return n_s, n_t


@njit
def _keep_tree(tree, tree_count, o, targets, no_through, source, pred, settled, n_s):
    """Row ``o`` of ``tree``: the predecessor edges (searched-graph numbering) of one
    search, in the order a loading visits them: the leaf targets' (centroids reached,
    :func:`_search_listed`), then each settled node's in reverse settling order; their
    number into ``tree_count[o]`` (at most the node count: each node once)."""
    c = 0
    for t in targets:
        if no_through[t] and t != source and pred[t] >= 0:
            tree[o, c] = pred[t]
            c += 1
    for i in range(n_s - 1, 0, -1):
        tree[o, c] = pred[settled[i]]
        c += 1
    tree_count[o] = c


@njit
def _aon_block_listed(
    indptr, head, tail, cost, split, feed_ptr, feed_tail, no_through, origin_nodes, dest_nodes,
    demand, start, stop, load, flow, zone_cost, tree, tree_count,
):  # fmt: skip
    """AON for origins ``start:stop``; adds to ``flow``; returns ``(sptt, unreachable demand)``.

    Work is proportional to the nodes each search reaches: the leaf targets' flows go
    first, then the tree is loaded in reverse settling order (a node's predecessor
    settles before it) and only reached nodes are reset. The graph's edges are ordered
    by :func:`leaves_last` (``split``, ``feed_ptr``, ``feed_tail``). Where ``zone_cost``
    has rows (else it is ``(0, 0)``), ``zone_cost[o, j]`` gets the shortest cost of each
    pair with demand (final: the search stops only once those are), NaN elsewhere (not
    known). Where ``tree`` has rows (else ``(0, 0)``), each origin's tree is kept there
    (:func:`_keep_tree`; no row where the origin has no demand: ``tree_count`` 0)."""
    n = indptr.size - 1
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    is_target = np.zeros(n, dtype=np.bool_)
    feeds = np.zeros(n, dtype=np.int64)
    node_flow = np.zeros(n)
    touched = np.empty(n, dtype=np.int64)
    settled = np.empty(n, dtype=np.int64)
    target_list = np.empty(dest_nodes.size, dtype=np.int64)
    sptt = 0.0
    unreachable = 0.0
    keep_costs = zone_cost.shape[0] > 0
    keep_trees = tree.shape[0] > 0
    for o in range(start, stop):
        row = demand[o]
        if keep_trees:
            tree_count[o] = 0
        n_targets = 0
        for j in range(dest_nodes.size):
            t = dest_nodes[j]
            if row[j] > 0.0 and not is_target[t]:
                is_target[t] = True
                target_list[n_targets] = t
                n_targets += 1
        if keep_costs:
            zone_cost[o, :] = np.nan
        if n_targets == 0:
            continue
        source = origin_nodes[o]
        targets = target_list[:n_targets]
        # few targets: skip the centroid edges that feed none (dense rows, e.g. Grid100k,
        # would pay a look-up per node for nothing)
        use_feeds = FEW_TARGETS * n_targets < dest_nodes.size
        if use_feeds:
            for t in targets:
                for k in range(feed_ptr[t], feed_ptr[t + 1]):
                    feeds[feed_tail[k]] += 1
        n_s, n_t = _search_listed(
            indptr, head, cost, split, no_through, source, is_target, feeds, use_feeds,
            targets, dist, pred, heap_key, heap_node, position, touched, settled,
        )  # fmt: skip
        for t in targets:
            is_target[t] = False
            if use_feeds:
                for k in range(feed_ptr[t], feed_ptr[t + 1]):
                    feeds[feed_tail[k]] = 0
        for j in range(dest_nodes.size):
            q = row[j]
            if q > 0.0:
                t = dest_nodes[j]
                d = dist[t]
                if keep_costs:
                    zone_cost[o, j] = d
                if d == np.inf:
                    unreachable += q
                else:
                    sptt += q * d
                    node_flow[t] += q
        if load:
            for t in targets:
                if no_through[t] and t != source and pred[t] >= 0:
                    e = pred[t]
                    flow[e] += node_flow[t]
                    node_flow[tail[e]] += node_flow[t]
            for i in range(n_s - 1, 0, -1):
                v = settled[i]
                f = node_flow[v]
                if f != 0.0:
                    e = pred[v]
                    flow[e] += f
                    node_flow[tail[e]] += f
        if keep_trees:
            _keep_tree(tree, tree_count, o, targets, no_through, source, pred, settled, n_s)
        for i in range(n_t):
            v = touched[i]
            node_flow[v] = 0.0
            dist[v] = np.inf
            pred[v] = -1
            position[v] = NOT_QUEUED
    return sptt, unreachable


@njit_parallel
def aon_load(indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, load):
    """All-or-nothing assignment of ``demand`` on shortest paths under ``cost``.

    Parameters
    ----------
    load : bool
        Load flows (else only compute ``sptt``, e.g. for a gap check).

    Returns
    -------
    flow : (m,) float64
        Link flows (veh/h); zeros when ``load`` is false.
    sptt : float
        Shortest-path total travel cost ``sum demand * shortest cost``.
    unreachable : float
        Demand whose destination cannot be reached (not loaded).
    """
    m = head.size
    l_head, l_cost, perm, split, feed_ptr, feed_tail = leaves_last(indptr, head, cost, no_through)
    buffers, sptt, unreachable = _aon_blocks(
        indptr, l_head, tail, l_cost, split, feed_ptr, feed_tail, no_through, origin_nodes,
        dest_nodes, demand, load, np.empty((0, 0)), np.empty((0, 0), dtype=np.int32),
        np.empty(0, dtype=np.int64),
    )  # fmt: skip
    n_blocks = buffers.shape[0]
    flow = np.zeros(m)
    if load:
        for k in prange(m):
            total = 0.0
            for b in range(n_blocks):
                total += buffers[b, k]
            flow[perm[k]] = total
    return flow, sptt, unreachable


@njit_parallel
def _aon_blocks(
    indptr, head, tail, cost, split, feed_ptr, feed_tail, no_through, origin_nodes, dest_nodes,
    demand, load, zone_cost, tree, tree_count,
):  # fmt: skip
    """AON of every origin, in :func:`~._config.chunk_count` blocks in parallel, on a
    graph ordered by :func:`leaves_last`.

    Returns ``(buffers, sptt, unreachable)``: ``buffers[b]`` the link flows of block ``b``
    (width 0 when ``load`` is false), to be added up in block order by the caller;
    ``zone_cost``, ``tree``, ``tree_count``: see :func:`_aon_block_listed`.
    """
    m = head.size
    n_orig = origin_nodes.size
    n_blocks = chunk_count(n_orig)
    buffers = np.zeros((n_blocks, m if load else 0))
    sptt_part = np.zeros(n_blocks)
    unreach_part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        start = b * n_orig // n_blocks
        stop = (b + 1) * n_orig // n_blocks
        s, u = _aon_block_listed(
            indptr, head, tail, cost, split, feed_ptr, feed_tail, no_through, origin_nodes,
            dest_nodes, demand, start, stop, load, buffers[b], zone_cost, tree, tree_count,
        )  # fmt: skip
        sptt_part[b] = s
        unreach_part[b] = u
    sptt = 0.0
    unreachable = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
        unreachable += unreach_part[b]
    return buffers, sptt, unreachable


# ------------------------------------------------------------------ compressed AON
#
# The same all-or-nothing assignment on a smaller graph that is built once per problem
# (its shape does not depend on the costs). Unprotected nodes that repeated peeling of
# undirected degree <= 1 removes (dead-end trees) hold no origin or destination and no
# shortest path between kept nodes passes through them: they are dropped. Unprotected
# nodes left with exactly two neighbours form chains; each chain walked from one kept end
# to the other becomes one *shortcut* edge whose cost, every iteration, is the sum over
# its steps of the cheapest parallel link of that step. Flows on a shortcut go back to
# the link picked at each step. Distances equal those of the full graph up to the order
# of summation along the chains.


@njit
def _usable_csr(indptr, head, usable):
    """CSR ``(ptr, head)`` of the usable edges only."""
    n = indptr.size - 1
    ptr = np.zeros(n + 1, dtype=np.int64)
    out = np.empty(head.size, dtype=head.dtype)
    k = 0
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            if usable[e]:
                out[k] = head[e]
                k += 1
        ptr[u + 1] = k
    return ptr, out[:k].copy()


@njit
def aon_graph(indptr, head, usable, protect):
    """Compressed graph for :func:`aon_load_compressed` (see the comment above it).

    Parameters
    ----------
    usable : (m,) bool
        Links that may ever carry flow (the others are left out).
    protect : (n,) bool
        Nodes always kept: centroids, origins and destinations.

    Returns
    -------
    new_of : (n,) int64
        Compressed index of each kept node, -1 for the others.
    c_indptr, c_head, c_tail
        The compressed CSR graph (kept nodes in breadth-first order).
    c_link : (m_c,) int64
        Per compressed edge: its original link ``>= 0``, or ``-1 - s`` for shortcut ``s``.
    sc_ptr, step_ptr, cand
        Shortcut ``s`` has the steps ``sc_ptr[s]:sc_ptr[s+1]``; step ``k`` may use any of
        the parallel links ``cand[step_ptr[k]:step_ptr[k+1]]``.
    """
    n = indptr.size - 1
    u_ptr, u_head = _usable_csr(indptr, head, usable)
    nb_ptr, nbr = undirected_neighbours(u_ptr, u_head)
    peeled, deg = peel(nb_ptr, nbr, protect)
    chain = np.zeros(n, dtype=np.bool_)
    kept = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        if not peeled[v]:
            if deg[v] == 2 and not protect[v]:
                chain[v] = True
            else:
                kept[v] = True
    order = bfs_order(nb_ptr, nbr, kept)
    n_kept = order.size
    new_of = np.full(n, -1, dtype=np.int64)
    for i in range(n_kept):
        new_of[order[i]] = i
    m = head.size
    c_indptr = np.zeros(n_kept + 1, dtype=np.int64)
    c_head = np.empty(m, dtype=np.int64)
    c_link = np.empty(m, dtype=np.int64)
    sc_ptr = np.zeros(m + 1, dtype=np.int64)
    step_ptr = np.zeros(m + 1, dtype=np.int64)
    cand = np.empty(m, dtype=np.int64)
    walk = np.empty(n + 1, dtype=np.int64)
    k = 0  # compressed edges
    n_sc = 0
    n_step = 0
    n_cand = 0
    for i in range(n_kept):
        u = order[i]
        for e in range(indptr[u], indptr[u + 1]):
            if usable[e] and kept[head[e]]:
                c_head[k] = new_of[head[e]]
                c_link[k] = e
                k += 1
        for kk in range(nb_ptr[u], nb_ptr[u + 1]):
            x = nbr[kk]
            if not chain[x]:
                continue
            # walk the chain u, x, ... to the kept node at its other end
            walk[0] = u
            walk[1] = x
            length = 2
            prev = u
            cur = x
            while chain[cur]:
                nxt = -1
                for j in range(nb_ptr[cur], nb_ptr[cur + 1]):
                    y = nbr[j]
                    if y != prev and not peeled[y]:
                        nxt = y
                        break
                prev = cur
                cur = nxt
                walk[length] = cur
                length += 1
            if cur == u:
                continue  # a loop back to u: never on a shortest path
            # the steps u -> ... -> cur, each with its parallel usable links
            first_step = n_step
            first_cand = n_cand
            ok = True
            for j in range(length - 1):
                a = walk[j]
                b = walk[j + 1]
                found = False
                for e in range(indptr[a], indptr[a + 1]):
                    if usable[e] and head[e] == b:
                        cand[n_cand] = e
                        n_cand += 1
                        found = True
                if not found:
                    ok = False
                    break
                n_step += 1
                step_ptr[n_step] = n_cand
            if not ok:  # a one-way chain in the other direction
                n_step = first_step
                n_cand = first_cand
                continue
            sc_ptr[n_sc + 1] = n_step
            c_head[k] = new_of[cur]
            c_link[k] = -1 - n_sc
            n_sc += 1
            k += 1
        c_indptr[i + 1] = k
    c_tail = np.empty(k, dtype=np.int64)
    for i in range(n_kept):
        for e in range(c_indptr[i], c_indptr[i + 1]):
            c_tail[e] = i
    return (
        new_of,
        c_indptr,
        c_head[:k].copy(),
        c_tail,
        c_link[:k].copy(),
        sc_ptr[: n_sc + 1].copy(),
        step_ptr[: n_step + 1].copy(),
        cand[:n_cand].copy(),
    )


@njit
def _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, c_cost, pick):
    """Costs of the compressed edges into ``c_cost``; ``pick[k]``: the cheapest link of
    step ``k`` (the first of equal ones, as a search over the full graph takes)."""
    for e in range(c_link.size):
        a = c_link[e]
        if a >= 0:
            c_cost[e] = cost[a]
            continue
        s = -1 - a
        total = 0.0
        for k in range(sc_ptr[s], sc_ptr[s + 1]):
            best = np.inf
            chosen = cand[step_ptr[k]]
            for i in range(step_ptr[k], step_ptr[k + 1]):
                c = cost[cand[i]]
                if c < best:
                    best = c
                    chosen = cand[i]
            total += best
            pick[k] = chosen
        c_cost[e] = total


@njit
def _derived_costs(ec, m_c, op_sum, op_a, op_b, pick):
    """Costs of the derived edges ``m_c + k`` in creation order: ``ec[a] + ec[b]`` for a
    sum, the smaller of the two for a min (``pick[k]``: the one taken, ``a`` on ties)."""
    for k in range(op_a.size):
        a = op_a[k]
        b = op_b[k]
        if op_sum[k]:
            ec[m_c + k] = ec[a] + ec[b]
        elif ec[b] < ec[a]:
            ec[m_c + k] = ec[b]
            pick[k] = b
        else:
            ec[m_c + k] = ec[a]
            pick[k] = a


@njit
def _unpack_flows(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow):
    """Push flows ``ef`` on derived edges down to their parts (latest first), then on
    compressed edges to the original links, into ``flow``."""
    _unpack_derived(ef, m_c, op_sum, op_a, op_b, op_pick)
    for e in range(m_c):
        a = c_link[e]
        if a >= 0:
            flow[a] = ef[e]
        else:
            s = -1 - a
            for k in range(sc_ptr[s], sc_ptr[s + 1]):
                flow[pick[k]] = ef[e]


@njit
def _unpack_derived(ef, m_c, op_sum, op_a, op_b, op_pick):
    """Push flows ``ef`` on derived edges down to their parts, latest first (in place)."""
    for k in range(op_a.size - 1, -1, -1):
        f = ef[m_c + k]
        if f != 0.0:
            if op_sum[k]:
                ef[op_a[k]] += f
                ef[op_b[k]] += f
            else:
                ef[op_pick[k]] += f


@njit_parallel
def _unpack_flows_parallel(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow):
    """:func:`_unpack_flows` with the compressed edges' copy to the links in parallel
    (each link belongs to one compressed edge: the same flows)."""
    _unpack_derived(ef, m_c, op_sum, op_a, op_b, op_pick)
    for e in prange(m_c):
        a = c_link[e]
        if a >= 0:
            flow[a] = ef[e]
        else:
            s = -1 - a
            for k in range(sc_ptr[s], sc_ptr[s + 1]):
                flow[pick[k]] = ef[e]


#: witness searches of :func:`prune_core` follow paths of at most this many edges (Grid100k's
#: core, free flow: 2 / 3 / unlimited hops find 36.9 / 38.8 / 38.9 % of its edges redundant)
WITNESS_HOPS = 3
#: ... and settle at most this many nodes per tail node
WITNESS_SETTLED = 64


@njit
def prune_core(indptr, head, cost, no_through):
    """The edges of the graph ``indptr``/``head`` that a shortest path may need under
    ``cost``: edge ``u -> v`` is dropped where a path of two or more edges, each of
    positive cost and through nodes (not ``no_through``) only, is strictly shorter.

    Every dropped edge has such a *witness* path of strictly cheaper edges, so the edges
    kept give every pair of nodes the same distance (up to the order of summation; the
    witness searches are cut at :data:`WITNESS_HOPS` edges and :data:`WITNESS_SETTLED`
    nodes, which only keeps more edges). Returns the CSR ``(ptr, head, tail, cost, edge)``
    of the edges kept, ``edge[k]`` the index of kept edge ``k`` in ``head``.
    """
    n = indptr.size - 1
    keep = np.ones(head.size, dtype=np.bool_)
    _prune_nodes(indptr, head, cost, no_through, np.int64(0), np.int64(n), keep)
    m_keep = int(keep.sum())
    ptr = np.zeros(n + 1, dtype=np.int64)
    k_head = np.empty(m_keep, dtype=np.int64)
    k_tail = np.empty(m_keep, dtype=np.int64)
    k_cost = np.empty(m_keep)
    k_edge = np.empty(m_keep, dtype=np.int64)
    k = 0
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            if keep[e]:
                k_head[k] = head[e]
                k_tail[k] = u
                k_cost[k] = cost[e]
                k_edge[k] = e
                k += 1
        ptr[u + 1] = k
    return ptr, k_head, k_tail, k_cost, k_edge


@njit
def _prune_nodes(indptr, head, cost, no_through, start, stop, keep):
    """:func:`prune_core`'s witness searches from the tail nodes ``start..stop - 1``:
    ``keep[e]`` set False for each of their redundant edges (the others untouched)."""
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    best2 = np.full(n, np.inf)  # shortest path of >= 2 edges found so far
    hops = np.zeros(n, dtype=np.int64)
    position = np.full(n, NOT_QUEUED, dtype=np.int64)
    heap_key = np.empty(n)
    heap_node = np.empty(n, dtype=np.int64)
    touched = np.empty(n, dtype=np.int64)
    for u in range(start, stop):
        bound = 0.0
        for e in range(indptr[u], indptr[u + 1]):
            if bound < cost[e] < np.inf:
                bound = cost[e]
        n_t = 0
        size = 0
        for e in range(indptr[u], indptr[u + 1]):
            w = head[e]
            c = cost[e]
            if w == u or no_through[w] or not 0.0 < c < bound or c >= dist[w]:
                continue
            if dist[w] == np.inf and best2[w] == np.inf:
                touched[n_t] = w
                n_t += 1
            dist[w] = c
            hops[w] = 1
            size = heap_push(heap_key, heap_node, position, size, w, c)
        n_settled = 0
        while size > 0 and n_settled < WITNESS_SETTLED:
            x, dx, size = heap_pop(heap_key, heap_node, position, size)
            n_settled += 1
            if hops[x] >= WITNESS_HOPS:
                continue
            for f in range(indptr[x], indptr[x + 1]):
                y = head[f]
                c = cost[f]
                if y == u or not c > 0.0:
                    continue
                nd = dx + c
                if nd >= bound:
                    continue
                if dist[y] == np.inf and best2[y] == np.inf:
                    touched[n_t] = y
                    n_t += 1
                if nd < best2[y]:
                    best2[y] = nd
                if nd >= dist[y] or no_through[y] or position[y] == SETTLED:
                    continue
                dist[y] = nd
                hops[y] = hops[x] + 1
                size = heap_push(heap_key, heap_node, position, size, y, nd)
        for e in range(indptr[u], indptr[u + 1]):
            if best2[head[e]] < cost[e]:
                keep[e] = False
        for i in range(n_t):
            v = touched[i]
            dist[v] = np.inf
            best2[v] = np.inf
            position[v] = NOT_QUEUED


#: :func:`prune_core_parallel` splits the nodes into this many ranges, each with its own
#: scratch (its result does not depend on the split: each node's witness searches are
#: its own; the thread count is not asked for, which would keep numba from caching)
PRUNE_RANGES = 16


@njit_parallel
def prune_core_parallel(indptr, head, cost, no_through):
    """:func:`prune_core` with the witness searches of node ranges and the kept edges'
    copy run in parallel: the same arrays, whatever the thread count."""
    n = indptr.size - 1
    keep = np.ones(head.size, dtype=np.bool_)
    n_ranges = max(1, min(n, PRUNE_RANGES))
    for r in prange(n_ranges):
        _prune_nodes(
            indptr, head, cost, no_through, np.int64(r * n // n_ranges),
            np.int64((r + 1) * n // n_ranges), keep,
        )  # fmt: skip
    ptr = np.zeros(n + 1, dtype=np.int64)
    for u in prange(n):
        kept = 0
        for e in range(indptr[u], indptr[u + 1]):
            if keep[e]:
                kept += 1
        ptr[u + 1] = kept
    for u in range(n):
        ptr[u + 1] += ptr[u]
    m_keep = ptr[n]
    k_head = np.empty(m_keep, dtype=np.int64)
    k_tail = np.empty(m_keep, dtype=np.int64)
    k_cost = np.empty(m_keep)
    k_edge = np.empty(m_keep, dtype=np.int64)
    for u in prange(n):
        k = ptr[u]
        for e in range(indptr[u], indptr[u + 1]):
            if keep[e]:
                k_head[k] = head[e]
                k_tail[k] = u
                k_cost[k] = cost[e]
                k_edge[k] = e
                k += 1
    return ptr, k_head, k_tail, k_cost, k_edge


def aon_load_compressed(
    c_link: np.ndarray, sc_ptr: np.ndarray, step_ptr: np.ndarray, cand: np.ndarray,
    op_sum: np.ndarray, op_a: np.ndarray, op_b: np.ndarray,
    core_indptr: np.ndarray, core_head: np.ndarray, core_tail: np.ndarray,
    core_edge: np.ndarray, cost: np.ndarray, no_through: np.ndarray, origins: np.ndarray,
    dests: np.ndarray, demand: np.ndarray, load: bool, prune: bool, zone_cost: np.ndarray,
    tree: np.ndarray, tree_count: np.ndarray,
) -> tuple[np.ndarray, float, float]:  # fmt: skip
    """:func:`aon_load` on a compressed graph; ``cost`` and the returned flows are per
    original link. Returns ``(flow, sptt, unreachable)``; ``zone_cost`` ``(n_origins,
    n_dests)`` or ``(0, 0)``: the shortest costs of the pairs with demand, NaN elsewhere
    (see :func:`_aon_block_listed`); ``tree`` ``(n_origins, n_core_nodes)`` int32 or
    ``(0, 0)``: each origin's shortest-path tree kept, as core-edge indices (of
    ``core_head``, pruned or not) in loading order, ``tree_count`` entries per origin
    (:func:`load_trees` loads demand on them).

    The compressed edges ``c_link``/``sc_ptr``/``step_ptr``/``cand`` come from
    :func:`aon_graph`; derived edges ``m_c + k`` are ``op_a[k] + op_b[k]`` (``op_sum``,
    a path through an eliminated node) or the cheaper of the two (parallel edges); the
    searched *core* graph's edge ``e`` is edge ``core_edge[e]`` of that numbering, and
    ``no_through``, ``origins``, ``dests`` are in core node indices.

    A Python function over kernels: the core is pruned (``prune``, :func:`prune_core`) by
    a kernel of its own, so a first run that never prunes does not compile the pruning,
    and the searches and loading run in :func:`_load_core`, its serial twin for small
    work (:func:`~._config.sized`).
    """
    ptr, p_head, p_tail, p_edge = _searched_core(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
        core_indptr, core_head, core_tail, core_edge, cost, no_through, prune,
    )  # fmt: skip
    return sized(_load_core, origins.size * p_head.size)(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, ptr, p_head, p_tail,
        p_edge, cost, no_through, origins, dests, demand, load, zone_cost, tree, tree_count,
    )  # fmt: skip


def _searched_core(
    c_link: np.ndarray, sc_ptr: np.ndarray, step_ptr: np.ndarray, cand: np.ndarray,
    op_sum: np.ndarray, op_a: np.ndarray, op_b: np.ndarray, core_indptr: np.ndarray,
    core_head: np.ndarray, core_tail: np.ndarray, core_edge: np.ndarray, cost: np.ndarray,
    no_through: np.ndarray, prune: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The graph the searches of :func:`aon_load_compressed` and :func:`skim_compressed`
    run on, ``(ptr, head, tail, edge)``: the core, or where ``prune`` the core without
    the edges :func:`prune_core` finds redundant under ``cost``; ``edge[k]`` the index of
    its edge ``k`` in ``core_head``."""
    if prune:
        return _pruned_core(
            c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
            core_indptr, core_head, core_edge, cost, no_through,
        )  # fmt: skip
    return core_indptr, core_head, core_tail, np.arange(core_edge.size, dtype=np.int64)


@njit
def _core_costs(c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, p_edge, cost):
    """Link costs ``cost`` (per original link) carried to the compressed and derived edges
    and to the edges ``p_edge`` of the core: ``(ec, pick, op_pick, p_cost)`` (see
    :func:`_compressed_costs`, :func:`_derived_costs`); ``p_cost[k] =
    ec[core_edge[p_edge[k]]]``."""
    m_c = c_link.size
    n_ops = op_a.size
    ec = np.empty(m_c + n_ops)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(n_ops, dtype=np.int64)
    _derived_costs(ec, m_c, op_sum, op_a, op_b, op_pick)
    p_cost = np.empty(p_edge.size)
    for k in range(p_edge.size):
        p_cost[k] = ec[core_edge[p_edge[k]]]
    return ec, pick, op_pick, p_cost


@njit
def _pruned_core(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
    core_indptr, core_head, core_edge, cost, no_through,
):  # fmt: skip
    """The core graph without the edges :func:`prune_core` finds redundant under link
    costs ``cost``: ``(ptr, head, tail, edge)`` as :func:`_searched_core`."""
    every = np.arange(core_edge.size)
    core_cost = _core_costs(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, every, cost
    )[3]
    ptr, p_head, p_tail, _, p_edge = prune_core(core_indptr, core_head, core_cost, no_through)
    return ptr, p_head, p_tail, p_edge


@njit_parallel
def _load_core(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, ptr, p_head, p_tail,
    p_edge, cost, no_through, origins, dests, demand, load, zone_cost, tree, tree_count,
):  # fmt: skip
    """:func:`aon_load_compressed`'s searches and loading on the graph ``ptr``/``p_head``/
    ``p_tail`` of :func:`_searched_core` (its edge ``k`` is core edge ``p_edge[k]``)."""
    m = cost.size
    m_c = c_link.size
    n_ops = op_a.size
    ec, pick, op_pick, p_cost = _core_costs(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, p_edge, cost
    )
    l_head, l_cost, perm, split, feed_ptr, feed_tail = leaves_last(ptr, p_head, p_cost, no_through)
    buffers, sptt, unreachable = _aon_blocks(
        ptr, l_head, p_tail, l_cost, split, feed_ptr, feed_tail, no_through, origins, dests,
        demand, load, zone_cost, tree, tree_count,
    )  # fmt: skip
    _trees_to_core(tree, tree_count, perm, p_edge)
    n_blocks = buffers.shape[0]
    flow = np.zeros(m)
    if load:
        ef = np.zeros(m_c + n_ops)
        for k in range(perm.size):
            total = 0.0
            for b in range(n_blocks):
                total += buffers[b, k]
            ef[core_edge[p_edge[perm[k]]]] += total
        _unpack_flows(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
    return flow, sptt, unreachable


def skim_compressed(
    c_link: np.ndarray, sc_ptr: np.ndarray, step_ptr: np.ndarray, cand: np.ndarray,
    op_sum: np.ndarray, op_a: np.ndarray, op_b: np.ndarray,
    core_indptr: np.ndarray, core_head: np.ndarray, core_tail: np.ndarray,
    core_edge: np.ndarray, cost: np.ndarray, no_through: np.ndarray, origins: np.ndarray,
    dests: np.ndarray, prune: bool, tree: np.ndarray, tree_count: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Shortest-path costs ``(len(origins), len(dests))`` under link costs ``cost`` (s,
    per original link) on the compressed graph of :func:`aon_load_compressed` (same
    arguments; ``origins``, ``dests`` in core node indices; ``prune``: search the core
    without the edges :func:`prune_core` finds redundant under ``cost``, which leaves
    every distance as it is). Parallel over origins (:func:`_skim_core`, its serial twin
    for small work); each search is the loadings' (:func:`_search_listed`: centroids
    never queued), stopped once every destination is final; ``inf`` where unreachable.
    ``tree``, ``tree_count``: each origin's search kept as in :func:`aon_load_compressed`
    (every destination a target), or ``(0, 0)``.
    """
    ptr, p_head, _, p_edge = _searched_core(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
        core_indptr, core_head, core_tail, core_edge, cost, no_through, prune,
    )  # fmt: skip
    return sized(_skim_core, origins.size * p_head.size)(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, ptr, p_head, p_edge,
        cost, no_through, origins, dests, tree, tree_count,
    )  # fmt: skip


@njit_parallel
def _skim_core(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, ptr, p_head, p_edge,
    cost, no_through, origins, dests, tree, tree_count,
):  # fmt: skip
    """:func:`skim_compressed`'s searches on the graph ``ptr``/``p_head`` of
    :func:`_searched_core` (its edge ``k`` is core edge ``p_edge[k]``)."""
    p_cost = _core_costs(
        c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_edge, p_edge, cost
    )[3]
    # the loadings' edge order: their search, compiled for the same argument types
    l_head, l_cost, perm, split, _, _ = leaves_last(ptr, p_head, p_cost, no_through)
    keep_trees = tree.shape[0] > 0
    n = ptr.size - 1
    n_src = origins.size
    out = np.empty((n_src, dests.size))
    is_target = np.zeros(n, dtype=np.bool_)
    target_list = np.empty(dests.size, dtype=np.int64)
    n_targets = 0
    for t in dests:
        if not is_target[t]:
            is_target[t] = True
            target_list[n_targets] = t
            n_targets += 1
    targets = target_list[:n_targets]
    n_chunks = chunk_count(n_src)
    for c in prange(n_chunks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        touched = np.empty(n, dtype=np.int64)
        settled = np.empty(n, dtype=np.int64)
        no_feeds = np.zeros(0, dtype=np.int64)
        for i in range(c, n_src, n_chunks):
            # every destination a target: each node's edges all looked at (no feeds)
            n_s, n_t = _search_listed(
                ptr, l_head, l_cost, split, no_through, origins[i], is_target, no_feeds,
                False, targets, dist, pred, heap_key, heap_node, position, touched, settled,
            )  # fmt: skip
            for j in range(dests.size):
                out[i, j] = dist[dests[j]]
            if keep_trees:
                _keep_tree(tree, tree_count, i, targets, no_through, origins[i], pred, settled, n_s)
            for k in range(n_t):
                v = touched[k]
                dist[v] = np.inf
                pred[v] = -1
                position[v] = NOT_QUEUED
    _trees_to_core(tree, tree_count, perm, p_edge)
    return out


@njit
def _trees_to_core(tree, tree_count, perm, p_edge):
    """Kept trees' edges from the searched graph's numbering (:func:`leaves_last` of the
    pruned core) to the core graph's: ``p_edge[perm[k]]``, in place."""
    to_core = np.empty(perm.size, dtype=np.int32)
    for k in range(perm.size):
        to_core[k] = p_edge[perm[k]]
    for o in range(tree.shape[0]):
        for i in range(tree_count[o]):
            tree[o, i] = to_core[tree[o, i]]


@njit_parallel
def load_trees(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b, core_head, core_tail, core_edge,
    cost, n_nodes, tree, tree_count, rows, dests, demand,
):  # fmt: skip
    """Link flows (per original link) of ``demand`` pushed down kept shortest-path trees
    (:func:`aon_load_compressed`, :func:`skim_compressed`) without searching.

    ``tree[rows[o]]``/``tree_count[rows[o]]`` is the tree of ``demand``'s origin row
    ``o``, ``dests`` its columns' core nodes; ``cost``: the link costs the trees were
    searched at (the chains' and derived edges' picks follow them). Each origin's
    demand goes down its tree in the order kept, in :func:`.chunk_count` blocks of
    origins summed in block order: with the trees of a search of the same core at the
    same costs, the flows of :func:`aon_load_compressed` bit for bit. Demand to a
    destination the tree does not reach is not loaded (the caller checks coverage).
    """
    m = cost.size
    m_c = c_link.size
    n_ops = op_a.size
    ec = np.empty(m_c + n_ops)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(n_ops, dtype=np.int64)
    _derived_costs(ec, m_c, op_sum, op_a, op_b, op_pick)
    n_orig = rows.size
    n_blocks = chunk_count(n_orig)
    m_core = core_edge.size
    buffers = np.zeros((n_blocks, m_core))
    for b in prange(n_blocks):
        node_flow = np.zeros(n_nodes)
        buffer = buffers[b]
        for o in range(b * n_orig // n_blocks, (b + 1) * n_orig // n_blocks):
            r = rows[o]
            row = demand[o]
            for j in range(dests.size):
                if row[j] > 0.0:
                    node_flow[dests[j]] += row[j]
            for i in range(tree_count[r]):
                e = tree[r, i]
                f = node_flow[core_head[e]]
                if f != 0.0:
                    buffer[e] += f
                    node_flow[core_tail[e]] += f
            for i in range(tree_count[r]):
                e = tree[r, i]
                node_flow[core_head[e]] = 0.0
                node_flow[core_tail[e]] = 0.0
            for j in range(dests.size):
                node_flow[dests[j]] = 0.0
    ef = np.zeros(m_c + n_ops)
    for e in range(m_core):
        total = 0.0
        for b in range(n_blocks):
            total += buffers[b, e]
        ef[core_edge[e]] += total
    flow = np.zeros(m)
    _unpack_flows(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
    return flow


@njit_parallel
def unreachable_pairs(indptr, head, usable, no_through, origin_nodes, dest_nodes, demand):
    """``out[o, d]``: ``demand[o, d] > 0`` but no path of ``usable`` links leads there.

    Breadth-first search per origin (parallel), not passing through ``no_through``
    nodes, stopping once every destination with demand is found.
    """
    n = indptr.size - 1
    n_orig = origin_nodes.size
    n_dest = dest_nodes.size
    out = np.zeros((n_orig, n_dest), dtype=np.bool_)
    n_blocks = chunk_count(n_orig)
    for b in prange(n_blocks):
        seen = np.zeros(n, dtype=np.bool_)
        wanted = np.zeros(n, dtype=np.bool_)
        queue = np.empty(n, dtype=np.int64)
        for o in range(b * n_orig // n_blocks, (b + 1) * n_orig // n_blocks):
            left = 0
            for j in range(n_dest):
                t = dest_nodes[j]
                if demand[o, j] > 0.0 and not wanted[t]:
                    wanted[t] = True
                    left += 1
            source = origin_nodes[o]
            seen[source] = True
            queue[0] = source
            read = 0
            filled = 1
            if wanted[source]:
                left -= 1
            while read < filled and left > 0:
                u = queue[read]
                read += 1
                if no_through[u] and u != source:
                    continue
                for a in range(indptr[u], indptr[u + 1]):
                    v = head[a]
                    if usable[a] and not seen[v]:
                        seen[v] = True
                        queue[filled] = v
                        filled += 1
                        if wanted[v]:
                            left -= 1
            for j in range(n_dest):
                t = dest_nodes[j]
                if demand[o, j] > 0.0 and not seen[t]:
                    out[o, j] = True
                wanted[t] = False
            for k in range(filled):
                seen[queue[k]] = False
    return out


# ------------------------------------------------------------ AON on a hierarchy
#
# Where (nearly) every zone has demand to (nearly) every zone, early exit saves nothing
# and each origin's search of the core graph is a full Dijkstra. The core graph is then
# contracted completely (:func:`.elimination.contract_all`: centroids first, without
# shortcuts; the others fewest-added-edges first), and each origin is one small upward
# Dijkstra plus one linear sweep over every node in decreasing rank (PHAST, Delling et
# al. 2011), with no heap: a shortest path's highest-ranked node splits it into an upward
# and a downward part, each one edge of the hierarchy. The tree (a parent edge per node)
# is loaded children first. Derived edges are unpacked as for the core graph.


@njit
def _hierarchy_tree(
    s, n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, n_up, ch_cost, no_through,
    dist, par, heap_key, heap_node, position, settled,
):  # fmt: skip
    """Shortest distances ``dist`` and parent edges ``par`` (hierarchy edge index, -1:
    none) from rank ``s`` to every rank. ``dist``/``par`` are overwritten; the heap
    scratch must come in empty (``position`` NOT_QUEUED) and is left so."""
    n = dist.size
    for v in range(n):
        dist[v] = np.inf
        par[v] = -1
    dist[s] = 0.0
    size = heap_push(heap_key, heap_node, position, 0, s, 0.0)
    n_s = 0
    while size > 0:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        settled[n_s] = u
        n_s += 1
        if u != s and no_through[u]:
            continue
        for j in range(up_ptr[u], up_ptr[u + 1]):
            v = up_head[j]
            nd = du + ch_cost[j]
            if nd < dist[v]:  # v ranks above u: never settled before u
                dist[v] = nd
                par[v] = j
                size = heap_push(heap_key, heap_node, position, size, v, nd)
    for i in range(n_s):
        position[settled[i]] = NOT_QUEUED
    # through nodes: their down edges all come from through nodes (centroids rank lowest)
    for v in range(n - 1, n_centroid_ranks - 1, -1):
        best = dist[v]
        bj = par[v]
        for j in range(down_ptr[v], down_ptr[v + 1]):
            d = dist[down_tail[j]] + ch_cost[n_up + j]
            if d < best:
                best = d
                bj = n_up + j
        dist[v] = best
        par[v] = bj
    # centroids: reached from through nodes, or straight from the source
    for v in range(n_centroid_ranks - 1, -1, -1):
        best = dist[v]
        bj = par[v]
        for j in range(down_ptr[v], down_ptr[v + 1]):
            u = down_tail[j]
            if no_through[u] and u != s:
                continue
            d = dist[u] + ch_cost[n_up + j]
            if d < best:
                best = d
                bj = n_up + j
        dist[v] = best
        par[v] = bj


@njit
def _hierarchy_block(
    n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, ch_tail, ch_cost, no_through,
    origins, dests, demand, start, stop, load, flow, zone_cost,
):  # fmt: skip
    """AON of origins ``start:stop`` on the hierarchy; adds to ``flow`` (per hierarchy
    edge); returns ``(sptt, unreachable demand)``. Where ``zone_cost`` has rows (else it
    is ``(0, 0)``), ``zone_cost[o]`` gets the shortest costs from origin ``o`` to every
    destination (NaN for an origin without demand: not searched)."""
    n = no_through.size
    n_up = up_head.size
    dist, par, heap_key, heap_node, position = search_scratch(n)
    settled = np.empty(n, dtype=np.int64)
    node_flow = np.zeros(n)
    n_child = np.zeros(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    sptt = 0.0
    unreachable = 0.0
    keep_costs = zone_cost.shape[0] > 0
    for o in range(start, stop):
        row = demand[o]
        has_demand = False
        for j in range(dests.size):
            if row[j] > 0.0:
                has_demand = True
                break
        if not has_demand:
            if keep_costs:
                zone_cost[o, :] = np.nan
            continue
        s = origins[o]
        _hierarchy_tree(
            s, n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, n_up, ch_cost,
            no_through, dist, par, heap_key, heap_node, position, settled,
        )  # fmt: skip
        if keep_costs:  # the tree reaches every rank: every destination's cost is final
            for j in range(dests.size):
                zone_cost[o, j] = dist[dests[j]]
        for j in range(dests.size):
            q = row[j]
            if q > 0.0:
                t = dests[j]
                d = dist[t]
                if d == np.inf:
                    unreachable += q
                else:
                    sptt += q * d
                    node_flow[t] += q
        if not load:
            for j in range(dests.size):
                node_flow[dests[j]] = 0.0
            continue
        # children before parents: a node goes once all its children have pushed to it
        for v in range(n):
            if par[v] >= 0:
                n_child[ch_tail[par[v]]] += 1
        top = 0
        for v in range(n):
            if par[v] >= 0 and n_child[v] == 0:
                stack[top] = v
                top += 1
        while top > 0:
            top -= 1
            v = stack[top]
            j = par[v]
            u = ch_tail[j]
            f = node_flow[v]
            if f != 0.0:
                flow[j] += f
                node_flow[u] += f
                node_flow[v] = 0.0
            n_child[u] -= 1
            if n_child[u] == 0 and par[u] >= 0:
                stack[top] = u
                top += 1
        node_flow[s] = 0.0
        n_child[s] = 0
    return sptt, unreachable


@njit_parallel
def aon_load_hierarchy(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
    n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, ch_tail, ch_edge,
    cost, no_through, origins, dests, demand, load, zone_cost,
):  # fmt: skip
    """:func:`aon_load_compressed` on the contraction hierarchy of the core graph (see
    the comment above). Hierarchy edge ``j`` (up edges first, then down edges) runs from
    rank ``ch_tail[j]`` and is edge ``ch_edge[j]`` of the derived numbering; ``no_through``,
    ``origins``, ``dests`` are in ranks, centroids the ``n_centroid_ranks`` lowest.
    Returns ``(flow, sptt, unreachable)`` per original link; ``zone_cost``: see
    :func:`_hierarchy_block`.
    """
    m = cost.size
    m_c = c_link.size
    n_ops = op_a.size
    ec = np.empty(m_c + n_ops)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(n_ops, dtype=np.int64)
    _derived_costs(ec, m_c, op_sum, op_a, op_b, op_pick)
    m_ch = ch_edge.size
    ch_cost = np.empty(m_ch)
    for j in range(m_ch):
        ch_cost[j] = ec[ch_edge[j]]
    n_orig = origins.size
    n_blocks = chunk_count(n_orig)
    buffers = np.zeros((n_blocks, m_ch if load else 0))
    sptt_part = np.zeros(n_blocks)
    unreach_part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        sptt_part[b], unreach_part[b] = _hierarchy_block(
            n_centroid_ranks, up_ptr, up_head, down_ptr, down_tail, ch_tail, ch_cost,
            no_through, origins, dests, demand, np.int64(b * n_orig // n_blocks),
            np.int64((b + 1) * n_orig // n_blocks), load, buffers[b], zone_cost,
        )  # fmt: skip
    sptt = 0.0
    unreachable = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
        unreachable += unreach_part[b]
    flow = np.zeros(m)
    if load:
        ef = np.zeros(m_c + n_ops)
        for j in range(m_ch):
            total = 0.0
            for b in range(n_blocks):
                total += buffers[b, j]
            ef[ch_edge[j]] += total
        _unpack_flows(ef, m_c, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
    return flow, sptt, unreachable


# ------------------------------------------------------- AON of dense demand, bucket queue
#
# Where every search is a full one (dense demand on a core graph too large for the
# hierarchy: street grids), the search's priority queue is a large share of the work.
# Where every edge into a through node costs at least a positive width, a monotone bucket
# queue (:mod:`.buckets`) replaces the heap: the same distances, bit for bit, with O(1)
# queue operations. These kernels are compiled only by the loadings that use them
# (:class:`~transitopt.assignment._hierarchy.DenseCoreAON`), not by a first run's small
# problems.

#: the bucket queue is used where its ring has at most this many slots (the largest
#: edge cost at most about this many times the smallest): every slot a search passes
#: is a look-up, so bucket widths far below the typical edge cost (OSM graphs with 2 m
#: links) would cost more than the heap saves
MAX_SLOTS = 1024


#: a search asks for the edges of the node this many places ahead in its bucket early
#: (:func:`.buckets.prefetch`): they lie anywhere in the edge arrays (Grid100k: 2.5 to
#: 2.25 ms per search; 1 and 4 ahead are slower)
PREFETCH_AHEAD = 2


@njit
def _search_buckets(
    indptr, head, cost, no_through, source, is_target, targets, inv_width, mask,
    dist, pred, position, pool_item, pool_next, bucket_first, batch, touched, settled,
):  # fmt: skip
    """:func:`_search_listed` (without its edge skipping for few targets) with the bucket
    queue of :mod:`.buckets` (``inv_width``: 1 / the bucket width; ``mask``: slots - 1)
    instead of the heap: Dijkstra from ``source`` until the flagged ``targets`` are
    final, listing the nodes reached in ``touched`` and those settled, in order, in
    ``settled`` (a node's predecessor settles before it: it lies a bucket lower).

    The lowest bucket is taken whole into ``batch`` (its stale entries skipped): every
    node in it is final, and none joins it (an edge costs more than the width). The pool
    has room for a push per edge (``head.size``) and the source's. Returns ``(n_settled,
    n_touched)``; ``bucket_first`` comes in empty and is left so, ``position`` is reset
    with the touched nodes by the caller."""
    dist[source] = 0.0
    touched[0] = source
    n_t = 1
    n_s = 0
    pool_item[0] = source
    pool_next[0] = -1
    bucket_first[0] = 0
    n_pool = 1
    position[source] = 0
    queued = 1  # nodes queued (not entries)
    current = 0  # the bucket being settled
    left = targets.size
    bound = np.inf
    if is_target[source]:
        left -= 1
        if left == 0:
            bound = _leaf_bound(no_through, source, dist, targets)
    while queued > 0:
        slot = current & mask
        k = bucket_first[slot]
        if k < 0:
            current += 1
            if current / inv_width >= bound:
                break  # every key left is at least the bound
            continue
        bucket_first[slot] = -1
        n_batch = 0
        while k >= 0:
            u = pool_item[k]
            if position[u] == current:  # else stale: the node moved to a lower bucket
                batch[n_batch] = u
                n_batch += 1
                position[u] = SETTLED
            k = pool_next[k]
        queued -= n_batch
        for i in range(n_batch):
            if i + PREFETCH_AHEAD < n_batch:
                w = indptr[batch[i + PREFETCH_AHEAD]]
                prefetch(head, w)
                prefetch(cost, w)
            u = batch[i]
            du = dist[u]
            if du >= bound:
                continue  # not needed: the targets are final below the bound
            settled[n_s] = u
            n_s += 1
            if u != source and no_through[u]:
                continue
            if is_target[u] and u != source:
                left -= 1
                if left == 0:
                    bound = _leaf_bound(no_through, source, dist, targets)
            for e in range(indptr[u], indptr[u + 1]):
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
                    pred[v] = e
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
                dist[v] = nd
                pred[v] = e
                b = np.int64(nd * inv_width)
                if b != p:
                    slot = b & mask
                    pool_item[n_pool] = v
                    pool_next[n_pool] = bucket_first[slot]
                    bucket_first[slot] = n_pool
                    n_pool += 1
                    position[v] = b
    for slot in range(bucket_first.size):  # stale entries, or nodes left at the bound
        bucket_first[slot] = -1
    return n_s, n_t


@njit
def _dense_block(
    indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, start, stop,
    load, flow, zone_cost, tree, tree_count, width, n_slots,
):  # fmt: skip
    """:func:`_aon_block_listed` with :func:`_search_buckets` (bucket ``width``,
    ``n_slots`` slots: :func:`.buckets.bucket_ring`; ``head`` int32). Node scratch is
    int32 (a search's working set: Grid100k's core, 24,658 nodes, in the 1 MB level-2
    cache of a core)."""
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int32)
    position, pool_item, pool_next, bucket_first = bucket_scratch(n, head.size + 1, n_slots)
    batch = np.empty(n, dtype=np.int32)
    inv_width = 1.0 / width
    mask = n_slots - 1
    is_target = np.zeros(n, dtype=np.bool_)
    node_flow = np.zeros(n)
    touched = np.empty(n, dtype=np.int32)
    settled = np.empty(n, dtype=np.int32)
    target_list = np.empty(dest_nodes.size, dtype=np.int64)
    sptt = 0.0
    unreachable = 0.0
    keep_costs = zone_cost.shape[0] > 0
    keep_trees = tree.shape[0] > 0
    for o in range(start, stop):
        row = demand[o]
        if keep_trees:
            tree_count[o] = 0
        n_targets = 0
        for j in range(dest_nodes.size):
            t = dest_nodes[j]
            if row[j] > 0.0 and not is_target[t]:
                is_target[t] = True
                target_list[n_targets] = t
                n_targets += 1
        if keep_costs:
            zone_cost[o, :] = np.nan
        if n_targets == 0:
            continue
        source = origin_nodes[o]
        targets = target_list[:n_targets]
        n_s, n_t = _search_buckets(
            indptr, head, cost, no_through, source, is_target, targets, inv_width, mask,
            dist, pred, position, pool_item, pool_next, bucket_first, batch, touched, settled,
        )  # fmt: skip
        for t in targets:
            is_target[t] = False
        for j in range(dest_nodes.size):
            q = row[j]
            if q > 0.0:
                t = dest_nodes[j]
                d = dist[t]
                if keep_costs:
                    zone_cost[o, j] = d
                if d == np.inf:
                    unreachable += q
                else:
                    sptt += q * d
                    node_flow[t] += q
        if load:
            for t in targets:
                if no_through[t] and t != source and pred[t] >= 0:
                    e = pred[t]
                    flow[e] += node_flow[t]
                    node_flow[tail[e]] += node_flow[t]
            for i in range(n_s - 1, 0, -1):
                v = settled[i]
                f = node_flow[v]
                if f != 0.0:
                    e = pred[v]
                    flow[e] += f
                    node_flow[tail[e]] += f
        if keep_trees:
            _keep_tree(tree, tree_count, o, targets, no_through, source, pred, settled, n_s)
        for i in range(n_t):
            v = touched[i]
            node_flow[v] = 0.0
            dist[v] = np.inf
            pred[v] = -1
            position[v] = NOT_QUEUED
    return sptt, unreachable


@njit  # its stages are the parallel kernels (no prange of its own)
def aon_load_dense(
    c_link, sc_ptr, step_ptr, cand, op_sum, op_a, op_b,
    core_indptr, core_head, core_tail, core_edge,
    cost, no_through, origins, dests, demand, load, zone_cost, tree, tree_count, max_slots,
):  # fmt: skip
    """:func:`aon_load_compressed` with ``prune`` for dense demand (every search a full
    one): the same arguments and results (distances bit for bit; of equally short paths
    another may be taken), searched with a bucket queue (:mod:`.buckets`) where the
    pruned core's edge costs allow one with at most ``max_slots`` slots (callers pass
    :data:`MAX_SLOTS`), else with the heap. Besides the searches, the pruning
    (:func:`prune_core_parallel`), the sum of the blocks' buffers and the copy to the
    links run in parallel (``benchmarks/profile_grid_aon.py`` times each stage)."""
    m_c = c_link.size
    n_ops = op_a.size
    ec = np.empty(m_c + n_ops)
    pick = np.empty(step_ptr.size - 1, dtype=np.int64)
    _compressed_costs(cost, c_link, sc_ptr, step_ptr, cand, ec, pick)
    op_pick = np.empty(n_ops, dtype=np.int64)
    _derived_costs(ec, m_c, op_sum, op_a, op_b, op_pick)
    core_cost = np.empty(core_edge.size)
    for e in range(core_edge.size):
        core_cost[e] = ec[core_edge[e]]
    ptr, p_head, p_tail, p_cost, p_edge = prune_core_parallel(
        core_indptr, core_head, core_cost, no_through
    )
    l_head, l_cost, perm, split, feed_ptr, feed_tail = leaves_last(ptr, p_head, p_cost, no_through)
    width, n_slots = bucket_ring(ptr, l_head, l_cost, no_through)
    if width > 0.0 and n_slots <= max_slots:
        buffers, sptt, unreachable = _dense_searches(
            ptr, l_head, p_tail, l_cost, no_through, origins, dests, demand, load, zone_cost,
            tree, tree_count, width, n_slots,
        )  # fmt: skip
    else:
        buffers, sptt, unreachable = _aon_blocks(
            ptr, l_head, p_tail, l_cost, split, feed_ptr, feed_tail, no_through, origins,
            dests, demand, load, zone_cost, tree, tree_count,
        )  # fmt: skip
    _trees_to_core(tree, tree_count, perm, p_edge)
    if not load:
        return np.zeros(cost.size), sptt, unreachable
    flow = _dense_flows(
        buffers, perm, p_edge, core_edge, cost.size, c_link, sc_ptr, pick, op_sum, op_a, op_b,
        op_pick,
    )  # fmt: skip
    return flow, sptt, unreachable


@njit_parallel
def _dense_searches(
    ptr, l_head, p_tail, l_cost, no_through, origins, dests, demand, load, zone_cost, tree,
    tree_count, width, n_slots,
):  # fmt: skip
    """The searches of :func:`aon_load_dense` with the bucket queue (``width``,
    ``n_slots``: :func:`.buckets.bucket_ring`), in :func:`.chunk_count` blocks of origins
    in parallel: ``(buffers, sptt, unreachable)`` as :func:`_aon_blocks`. Each block
    clears its own buffer (Grid100k: 32 x 375k edges, 96 MB a loading, whose zeroing and
    page faults took 53 ms on one core before the searches)."""
    head32 = np.empty(l_head.size, dtype=np.int32)
    for k in range(l_head.size):
        head32[k] = l_head[k]
    n_orig = origins.size
    n_blocks = chunk_count(n_orig)
    buffers = np.empty((n_blocks, l_head.size if load else 0))
    sptt_part = np.zeros(n_blocks)
    unreach_part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        buffer = buffers[b]
        for k in range(buffer.size):  # cleared in parallel: its first touch (page faults)
            buffer[k] = 0.0
        sptt_part[b], unreach_part[b] = _dense_block(
            ptr, head32, p_tail, l_cost, no_through, origins, dests, demand,
            np.int64(b * n_orig // n_blocks), np.int64((b + 1) * n_orig // n_blocks),
            load, buffer, zone_cost, tree, tree_count, width, n_slots,
        )  # fmt: skip
    sptt = 0.0
    unreachable = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
        unreachable += unreach_part[b]
    return buffers, sptt, unreachable


@njit_parallel
def _dense_flows(
    buffers, perm, p_edge, core_edge, m, c_link, sc_ptr, pick, op_sum, op_a, op_b, op_pick
):  # fmt: skip
    """Link flows (``m`` links) of the blocks' ``buffers`` on the searched graph's edges
    (:func:`leaves_last` of the pruned core): summed in block order per edge, in
    parallel over the edges (each lands on its own core edge), then unpacked
    (:func:`_unpack_flows_parallel`). The same flows as :func:`aon_load_compressed`'s
    serial sum."""
    n_blocks = buffers.shape[0]
    ef = np.empty(c_link.size + op_a.size)
    for k in prange(ef.size):  # cleared in parallel (page faults)
        ef[k] = 0.0
    for k in prange(perm.size):
        total = 0.0
        for b in range(n_blocks):
            total += buffers[b, k]
        ef[core_edge[p_edge[perm[k]]]] = total
    flow = np.zeros(m)
    _unpack_flows_parallel(ef, c_link.size, op_sum, op_a, op_b, op_pick, c_link, sc_ptr, pick, flow)
    return flow
