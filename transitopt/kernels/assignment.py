"""All-or-nothing loading along shortest-path trees, parallel over origins.

Origins are split into :func:`.chunk_count` contiguous blocks (independent of the thread
count); each block accumulates into its own flow buffer and the buffers are summed in
block order, so the result is the same, bit for bit, with any number of threads.

Conventions as in :mod:`.shortest_paths`: CSR graph ``indptr``/``head`` (``tail`` per
edge), ``cost`` >= 0 with ``inf`` for unusable links, ``no_through`` for centroids.
``demand[o, d]`` is the flow from ``origin_nodes[o]`` to ``dest_nodes[d]``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel
from .heap import SETTLED
from .shortest_paths import dijkstra_into, reset_search, search_scratch


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
def _aon_block(
    indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, start, stop, load, flow
):
    """AON for origins ``start:stop``; adds to ``flow``; returns ``(sptt, unreachable demand)``."""
    n = indptr.size - 1
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    is_target = np.zeros(n, dtype=np.bool_)
    node_flow = np.zeros(n)
    n_child = np.zeros(n, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    sptt = 0.0
    unreachable = 0.0
    for o in range(start, stop):
        row = demand[o]
        n_targets = search_to_demand(
            indptr, head, cost, no_through, origin_nodes[o], dest_nodes, row, True, is_target,
            dist, pred, heap_key, heap_node, position,
        )  # fmt: skip
        if n_targets == 0:
            continue
        for j in range(dest_nodes.size):
            q = row[j]
            if q > 0.0:
                t = dest_nodes[j]
                d = dist[t]
                if d == np.inf:
                    unreachable += q
                else:
                    sptt += q * d
                    node_flow[t] += q
        if load:
            load_tree(n, tail, pred, position, node_flow, n_child, stack, flow)
        reset_search(dist, pred, position)
        node_flow[:] = 0.0
        n_child[:] = 0
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
    n_orig = origin_nodes.size
    n_blocks = chunk_count(n_orig)
    buffers = np.zeros((n_blocks, m if load else 0))
    sptt_part = np.zeros(n_blocks)
    unreach_part = np.zeros(n_blocks)
    for b in prange(n_blocks):
        start = b * n_orig // n_blocks
        stop = (b + 1) * n_orig // n_blocks
        s, u = _aon_block(
            indptr,
            head,
            tail,
            cost,
            no_through,
            origin_nodes,
            dest_nodes,
            demand,
            start,
            stop,
            load,
            buffers[b],
        )
        sptt_part[b] = s
        unreach_part[b] = u
    flow = np.zeros(m)
    if load:
        for a in prange(m):
            total = 0.0
            for b in range(n_blocks):
                total += buffers[b, a]
            flow[a] = total
    sptt = 0.0
    unreachable = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
        unreachable += unreach_part[b]
    return flow, sptt, unreachable


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
