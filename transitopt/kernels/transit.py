"""Optimal strategies (Spiess & Florian 1989): frequency-based transit assignment kernels.

The graph is a list of links ``a = (tail[a], head[a])`` with a cost ``cost[a] >= 0``
(seconds: in-vehicle, walk, dwell, penalties) and a frequency ``freq[a]`` (1/s). A
link with finite frequency is a *boarding* link: a traveller at its tail waits for it;
``np.inf`` marks a link taken without waiting (in-vehicle, alighting, walking).
``in_indptr``/``in_links`` list the links entering each node (reverse CSR).

Strategy (backward pass, per destination ``r``): links are scanned in increasing
order of ``u_j + c_a`` (a label-setting pass over links with the indexed 4-ary heap of
:mod:`.heap`). Link ``a = (i, j)`` becomes attractive at ``i`` when ``u_j + c_a < u_i``;
then

    u_i = (alpha + sum_a f_a (u_j + c_a)) / F_i,    F_i = sum_a f_a

over the attractive links of ``i`` -- the expected time to ``r`` when boarding the first
vehicle to arrive among the attractive lines, with expected wait ``alpha / F_i``. A
no-wait link (``f_a = inf``) that is attractive makes it the only choice at ``i``
(``u_i = u_j + c_a``, wait 0). ``alpha`` is the waiting-time factor: 0.5 gives half the
combined headway (regular arrivals, the paper's example), 1.0 the full headway
(exponential arrivals).

Loading (forward pass): the demand of each origin flows along the attractive links in
the reverse of the order they were made attractive (a topological order of the
strategy), splitting at each node in proportion to ``f_a / F_i``.

Skims follow the same recurrence: for each per-link attribute ``x`` (in-vehicle time,
walk time, boardings) ``s_i = sum_a f_a (x_a + s_j) / F_i``, and the expected wait
``w_i = (alpha + sum_a f_a w_j) / F_i``. Unreachable nodes keep ``inf`` labels and skims.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_inline, njit_parallel
from .heap import NOT_QUEUED, heap_pop, heap_push_lower


@njit
def strategy_scratch(n, m, k):
    """Arrays for :func:`strategy_into` on ``n`` nodes, ``m`` links and ``k`` skims:
    ``(u, f_node, inf_link, wait, skim, key, heap, pos, order, entered)``."""
    u = np.empty(n)
    f_node = np.empty(n)
    inf_link = np.empty(n, dtype=np.int64)
    wait = np.empty(n)
    skim = np.empty((n, k))
    key = np.empty(m)
    heap = np.empty(m, dtype=np.int64)
    pos = np.empty(m, dtype=np.int64)
    order = np.empty(m, dtype=np.int64)
    entered = np.empty(n, dtype=np.bool_)
    return u, f_node, inf_link, wait, skim, key, heap, pos, order, entered


@njit
def strategy_into(
    tail, head, cost, freq, in_indptr, in_links, link_skim, dest, alpha, origins, is_origin,
    scratch, prune,
):  # fmt: skip
    """Optimal strategy towards node ``dest``, written into the arrays of ``scratch``.

    Parameters
    ----------
    tail, head, cost, freq : (m,) arrays
        Link end nodes, costs (s) and frequencies (1/s, ``inf`` = no wait).
    in_indptr, in_links : reverse CSR of the links entering each node.
    link_skim : (m, k) float64
        Per-link attributes to skim (in-vehicle s, walk s, boardings, ...).
    dest : int
        Destination node.
    alpha : float
        Waiting-time factor (expected wait at a node is ``alpha / F_i``).
    origins : (o,) int64, distinct;  is_origin : (n,) bool, True at ``origins``
        Nodes whose strategies are needed: once all have a label and the next link's key
        ``u_j + c_a`` is at least every origin's label, no later link can be attractive
        on their strategies and the scan stops. Empty: scan the whole graph.
    scratch : tuple
        ``(u, f_node, inf_link, wait, skim, key, heap, pos, order, entered)`` from
        :func:`strategy_scratch`, reset here. Outputs: ``u``, ``f_node``, ``wait`` (n,)
        labels (expected total time to ``dest``, s), combined frequency of the attractive
        boarding links, expected wait (s); ``inf_link`` (n,) the no-wait attractive link
        (or -1); ``skim`` (n, k) skims per node; ``order`` (m,) the attractive links in
        the order they became attractive. ``key, heap, pos`` (m,) hold the link heap;
        ``entered`` (n,) marks the heads of attractive links.
    prune : bool
        Queue a link ``b = (h, i)`` only if it can still become attractive: ``h`` is not
        settled (no attractive no-wait link, not ``dest``, no attractive link into it)
        and its key ``u_i + c_b`` is below ``u_h`` (labels only decrease). The links left
        out would be popped and skipped, so the strategy is the same, but the heap holds
        fewer links: about 30 % less CPU on Transjakarta (38,800 links popped per
        destination instead of 57,400, 28,700 attractive). Among links with equal
        keys the pop order (a heap position tie-break) can differ: labels then differ by
        rounding (1e-11 s measured), and where strategies tie exactly (stops at the same
        place) another one of the same cost may be taken. ``True`` everywhere the package
        searches (:func:`assign`, :func:`optimal_strategy`, :func:`capacity_response`,
        the sweeps of ``kernels.transit_sweeps``), so the unconstrained assignment that
        the capacity-constrained one is compared with gets the same saving.

    Returns
    -------
    int
        Number of attractive links (``order[:count]``).
    """
    u, f_node, inf_link, wait, skim, key, heap, pos, order, entered = scratch
    n = u.shape[0]
    m = tail.shape[0]
    k = link_skim.shape[1]
    for i in range(n):
        u[i] = np.inf
        f_node[i] = 0.0
        inf_link[i] = -1
        entered[i] = False
        wait[i] = np.inf
        for c in range(k):
            skim[i, c] = np.inf
    for a in range(m):
        pos[a] = NOT_QUEUED
    u[dest] = 0.0
    wait[dest] = 0.0
    for c in range(k):
        skim[dest, c] = 0.0
    size = 0
    for p in range(in_indptr[dest], in_indptr[dest + 1]):
        a = in_links[p]
        size = heap_push_lower(key, heap, pos, size, a, cost[a])
    count = 0
    n_origins = origins.shape[0]
    n_left = n_origins  # origins without a label yet
    if n_origins > 0 and is_origin[dest]:
        n_left -= 1
    bound = 0.0  # the largest origin label, recomputed lazily (labels only decrease)
    while size > 0:
        a, value, size = heap_pop(key, heap, pos, size)
        if n_origins > 0 and n_left == 0 and value >= bound:
            bound = 0.0
            for p in range(n_origins):
                if u[origins[p]] > bound:
                    bound = u[origins[p]]
            if value >= bound:
                break
        i = tail[a]
        if inf_link[i] >= 0 or i == dest or entered[i]:
            # entered: an attractive link already leads into i. In exact arithmetic no
            # later link can improve u_i then (its key is at least u_i); in floating
            # point the weighted update below can move u_i by an ulp, and a link taken
            # now would break the topological order the loading relies on (trips lost)
            continue
        if not value < u[i]:
            continue
        # link a = (i, j) is attractive at i
        j = head[a]
        entered[j] = True
        if n_origins > 0 and is_origin[i] and u[i] == np.inf:
            n_left -= 1
        fa = freq[a]
        if np.isinf(fa):
            u[i] = value
            inf_link[i] = a
            wait[i] = wait[j]
            for c in range(k):
                skim[i, c] = link_skim[a, c] + skim[j, c]
        else:
            fi = f_node[i]
            fnew = fi + fa
            if fi == 0.0:
                u[i] = (alpha + fa * value) / fa
                wait[i] = (alpha + fa * wait[j]) / fa
                for c in range(k):
                    skim[i, c] = link_skim[a, c] + skim[j, c]
            else:
                u[i] = (fi * u[i] + fa * value) / fnew
                wait[i] = (fi * wait[i] + fa * wait[j]) / fnew
                for c in range(k):
                    skim[i, c] = (fi * skim[i, c] + fa * (link_skim[a, c] + skim[j, c])) / fnew
            f_node[i] = fnew
        order[count] = a
        count += 1
        ui = u[i]
        for p in range(in_indptr[i], in_indptr[i + 1]):
            b = in_links[p]
            kb = ui + cost[b]
            if prune:
                h = tail[b]
                if inf_link[h] >= 0 or h == dest or entered[h] or not kb < u[h]:
                    continue
            size = heap_push_lower(key, heap, pos, size, b, kb)
    return count


@njit
def load_into(tail, head, freq, f_node, inf_link, order, count, node_volume, volume):
    """Load the node volumes ``node_volume`` (demand at the origins) along a strategy.

    Adds each attractive link's volume to ``volume`` (m,), and adds it to the link's head
    in ``node_volume``, which is not reset: it is left with each node's volume passing
    through (its demand plus what arrives there), for the caller to clear.
    ``order[:count]``, ``f_node`` and ``inf_link`` come from :func:`strategy_into`.
    """
    for p in range(count - 1, -1, -1):
        a = order[p]
        i = tail[a]
        vi = node_volume[i]
        if vi == 0.0:
            continue
        if inf_link[i] >= 0:
            share = 1.0 if inf_link[i] == a else 0.0
        else:
            share = freq[a] / f_node[i]
        va = vi * share
        volume[a] += va
        node_volume[head[a]] += va


@njit
def optimal_strategy(tail, head, cost, freq, in_indptr, in_links, link_skim, dest, alpha):
    """Strategy to one destination (serial; for inspection and tests).

    Returns ``(u, f_node, inf_link, wait, skim, attractive)``: node labels (s), combined
    frequencies, no-wait links, expected waits (s), skims (n, k) and a (m,) bool mask of
    the attractive links.
    """
    n = in_indptr.shape[0] - 1
    m = tail.shape[0]
    scratch = strategy_scratch(n, m, link_skim.shape[1])
    no_origins = np.empty(0, dtype=np.int64)
    count = strategy_into(
        tail, head, cost, freq, in_indptr, in_links, link_skim, dest, alpha, no_origins,
        np.zeros(n, dtype=np.bool_), scratch, True,
    )  # fmt: skip
    u, f_node, inf_link, wait, skim, key, heap, pos, order, entered = scratch
    attractive = np.zeros(m, dtype=np.bool_)
    for p in range(count):
        attractive[order[p]] = True
    return u, f_node, inf_link, wait, skim, attractive


@njit_parallel
def assign(
    tail,
    head,
    cost,
    freq,
    in_indptr,
    in_links,
    link_skim,
    alpha,
    origins,
    destinations,
    demand,
    want_skims,
):
    """Optimal-strategies assignment of a dense demand matrix, parallel over destinations.

    Parameters
    ----------
    origins : (o,) int64
        Origin node of each demand row.
    destinations : (d,) int64
        Destination node of each demand column.
    demand : (o, d) float64
        Trips from ``origins[p]`` to ``destinations[q]``. Destinations are dealt
        round-robin to :func:`.chunk_count` blocks, each with its own volume buffer;
        blocks run in parallel and are summed in block order, so results do not depend
        on the number of threads.
    want_skims : bool
        Fill the skim array (otherwise it has shape (0, 0, 2 + k)).

    Returns
    -------
    volume : (m,) float64
        Link volumes.
    skims : (o, d, 2 + k) float64
        Per OD pair: expected total time (s), expected wait (s), then the ``k`` link
        attributes; ``inf`` where the destination cannot be reached.
    arrived : (d,) float64
        Demand that reached each destination (the rest had no path).
    """
    m = tail.shape[0]
    n_dest = destinations.shape[0]
    n_blocks = chunk_count(n_dest)
    volume_blocks = np.zeros((n_blocks, m))
    skims, arrived, unique_origins, all_origins, dem_indptr, dem_origin, dem_value = _assign_setup(
        in_indptr.shape[0] - 1, link_skim.shape[1], origins, n_dest, demand, want_skims
    )
    for b in prange(n_blocks):  # b is unsigned: passed on as int64, one specialisation
        _assign_block(
            np.int64(b), n_blocks, tail, head, cost, freq, in_indptr, in_links, link_skim, alpha,
            origins, destinations, dem_indptr, dem_origin, dem_value, want_skims, unique_origins,
            all_origins, volume_blocks[b], skims, arrived,
        )  # fmt: skip
    return _sum_rows(volume_blocks), skims, arrived


@njit
def _assign_setup(n, k, origins, n_dest, demand, want_skims):
    """The serial part of :func:`assign` before its parallel loop: the output arrays, the
    origin nodes (distinct and as a mask) and the demand by destination (CSR, read once
    in memory order). Returns ``(skims, arrived, unique_origins, all_origins,
    dem_indptr, dem_origin, dem_value)``."""
    n_orig = origins.shape[0]
    if want_skims:
        skims = np.full((n_orig, n_dest, 2 + k), np.inf)
    else:
        skims = np.full((0, 0, 2 + k), np.inf)
    arrived = np.zeros(n_dest)
    all_origins = np.zeros(n, dtype=np.bool_)
    for p in range(n_orig):
        all_origins[origins[p]] = True
    unique_origins = np.flatnonzero(all_origins)
    dem_indptr = np.zeros(n_dest + 1, dtype=np.int64)
    for p in range(n_orig):
        for q in range(n_dest):
            if demand[p, q] > 0.0:
                dem_indptr[q + 1] += 1
    for q in range(n_dest):
        dem_indptr[q + 1] += dem_indptr[q]
    fill = dem_indptr[:-1].copy()
    dem_origin = np.empty(dem_indptr[n_dest], dtype=np.int64)
    dem_value = np.empty(dem_indptr[n_dest])
    for p in range(n_orig):
        for q in range(n_dest):
            if demand[p, q] > 0.0:
                dem_origin[fill[q]] = p
                dem_value[fill[q]] = demand[p, q]
                fill[q] += 1
    return skims, arrived, unique_origins, all_origins, dem_indptr, dem_origin, dem_value


@njit
def _sum_rows(blocks):
    """Column sums of ``blocks`` (b, m), rows added in order (the same with any threads)."""
    total = np.zeros(blocks.shape[1])
    for b in range(blocks.shape[0]):
        for a in range(blocks.shape[1]):
            total[a] += blocks[b, a]
    return total


@njit_inline
def _assign_block(
    b, n_blocks, tail, head, cost, freq, in_indptr, in_links, link_skim, alpha, origins,
    destinations, dem_indptr, dem_origin, dem_value, want_skims, unique_origins, all_origins,
    volume, skims, arrived,
):  # fmt: skip
    """Destinations ``b, b + n_blocks, ...`` of :func:`assign`, serially, into ``volume``."""
    n = in_indptr.shape[0] - 1
    m = tail.shape[0]
    k = link_skim.shape[1]
    n_orig = origins.shape[0]
    n_dest = destinations.shape[0]
    scratch = strategy_scratch(n, m, k)
    u, f_node, inf_link, wait, skim, key, heap, pos, order, entered = scratch
    node_volume = np.zeros(n)
    is_origin = np.zeros(n, dtype=np.bool_)
    some_origins = np.empty(n_orig, dtype=np.int64)
    for q in range(b, n_dest, n_blocks):
        dest = destinations[q]
        n_some = 0
        for r in range(dem_indptr[q], dem_indptr[q + 1]):
            o = origins[dem_origin[r]]
            if o != dest and not is_origin[o]:
                is_origin[o] = True
                some_origins[n_some] = o
                n_some += 1
        if n_some == 0 and not want_skims:
            continue
        if want_skims:  # every origin's label is needed
            needed, is_needed = unique_origins, all_origins
        else:
            needed, is_needed = some_origins[:n_some], is_origin
        count = strategy_into(
            tail, head, cost, freq, in_indptr, in_links, link_skim, dest, alpha, needed, is_needed,
            scratch, True,
        )  # fmt: skip
        for p in range(n_some):
            is_origin[some_origins[p]] = False
        if want_skims:
            for p in range(n_orig):
                o = origins[p]
                skims[p, q, 0] = u[o]
                skims[p, q, 1] = wait[o]
                for c in range(k):
                    skims[p, q, 2 + c] = skim[o, c]
        if n_some > 0:
            for r in range(dem_indptr[q], dem_indptr[q + 1]):
                o = origins[dem_origin[r]]
                if u[o] < np.inf and o != dest:
                    node_volume[o] += dem_value[r]
            load_into(tail, head, freq, f_node, inf_link, order, count, node_volume, volume)
            arrived[q] = node_volume[dest]
            for i in range(n):
                node_volume[i] = 0.0


@njit_parallel
def capacity_response(
    tail, head, cost, freq, in_indptr, in_links, alpha, origins, destinations, demand,
    wait_links, wait_index, averaged, response, orders, counts,
):  # fmt: skip
    """All-or-nothing optimal strategies with the per-destination flows on the waiting
    links kept, and the terms of Cepeda, Cominetti & Florian's (2006) gap function.

    Parameters
    ----------
    tail ... demand
        As for :func:`assign` (no skims).
    wait_links : (w,) int64
        The links with a finite frequency (boarding links).
    wait_index : (m,) int64
        Position of each link in ``wait_links``, -1 for the others.
    averaged : (d, w) float64
        The current (averaged) flow of each destination on the waiting links.
    response : (d, w) float64
        Output: the all-or-nothing flow of each destination on the waiting links.
    orders, counts : (d, m) int32, (d,) int64
        Output where ``orders`` has rows (else pass ``(0, 0)``): each destination's
        optimal strategy, its attractive links in the order they became attractive that
        carry flow, in ``orders[q, :counts[q]]`` (``counts[q] = 0`` where destination
        ``q`` has no demand; strategy columns, ``transit/capacity_columns.py``).

    Returns
    -------
    volume : (m,) float64
        Link volumes of the all-or-nothing strategies.
    arrived : (d,) float64
        Demand that reached each destination.
    strategy_cost : (d,) float64
        ``sum_o g_od tau_od``: demand times the optimal strategy's expected cost (s) at
        ``cost`` and ``freq``, per destination.
    averaged_wait : (d,) float64
        ``alpha * sum_i max_a averaged[d, a] / freq[a]`` over the nodes ``i`` and the
        waiting links ``a`` leaving them: the total wait (s) of the averaged flows of
        each destination at ``freq`` (the wait term of the gap function).
    """
    m = tail.shape[0]
    n_dest = destinations.shape[0]
    n_blocks = chunk_count(n_dest)
    volume_blocks = np.zeros((n_blocks, m))
    no_skims = np.empty((m, 0))
    _, arrived, _, _, dem_indptr, dem_origin, dem_value = _assign_setup(
        in_indptr.shape[0] - 1, 0, origins, n_dest, demand, False
    )
    strategy_cost = np.zeros(n_dest)
    averaged_wait = np.zeros(n_dest)
    for b in prange(n_blocks):
        _capacity_block(
            np.int64(b), n_blocks, tail, head, cost, freq, in_indptr, in_links, no_skims, alpha,
            origins, destinations, dem_indptr, dem_origin, dem_value, wait_links, wait_index,
            averaged, response, volume_blocks[b], arrived, strategy_cost, averaged_wait, orders,
            counts,
        )  # fmt: skip
    return _sum_rows(volume_blocks), arrived, strategy_cost, averaged_wait


@njit
def _capacity_block(
    b, n_blocks, tail, head, cost, freq, in_indptr, in_links, no_skims, alpha, origins,
    destinations, dem_indptr, dem_origin, dem_value, wait_links, wait_index, averaged,
    response, volume, arrived, strategy_cost, averaged_wait, orders, counts,
):  # fmt: skip
    """Destinations ``b, b + n_blocks, ...`` of :func:`capacity_response`, serially; with
    ``orders`` (d, m) not empty, each destination's attractive links (in the order they
    became attractive) that carry flow are copied to ``orders[q, :counts[q]]``."""
    n = in_indptr.shape[0] - 1
    m = tail.shape[0]
    n_orig = origins.shape[0]
    n_dest = destinations.shape[0]
    n_wait = wait_links.shape[0]
    scratch = strategy_scratch(n, m, 0)
    u, f_node, inf_link, wait, skim, key, heap, pos, order, entered = scratch
    node_volume = np.zeros(n)
    link_volume = np.zeros(m)
    node_max = np.zeros(n)
    is_origin = np.zeros(n, dtype=np.bool_)
    some_origins = np.empty(n_orig, dtype=np.int64)
    for q in range(b, n_dest, n_blocks):
        # the wait of the averaged flows: alpha * max over a node's waiting links of v / f
        averaged_wait[q] = alpha * _max_ratio_sum(q, tail, freq, wait_links, averaged, node_max)
        for p in range(n_wait):
            response[q, p] = 0.0
        dest = destinations[q]
        n_some = 0
        for r in range(dem_indptr[q], dem_indptr[q + 1]):
            o = origins[dem_origin[r]]
            if o != dest and not is_origin[o]:
                is_origin[o] = True
                some_origins[n_some] = o
                n_some += 1
        if orders.shape[0] > 0:
            counts[q] = 0
        if n_some == 0:
            continue
        count = strategy_into(
            tail, head, cost, freq, in_indptr, in_links, no_skims, dest, alpha,
            some_origins[:n_some], is_origin, scratch, True,
        )  # fmt: skip
        for p in range(n_some):
            is_origin[some_origins[p]] = False
        total_cost = 0.0
        for r in range(dem_indptr[q], dem_indptr[q + 1]):
            o = origins[dem_origin[r]]
            if u[o] < np.inf and o != dest:
                node_volume[o] += dem_value[r]
                total_cost += dem_value[r] * u[o]
        strategy_cost[q] = total_cost
        load_into(tail, head, freq, f_node, inf_link, order, count, node_volume, link_volume)
        arrived[q] = node_volume[dest]
        for i in range(n):
            node_volume[i] = 0.0
        kept = 0
        for p in range(count):
            a = order[p]
            va = link_volume[a]
            if va != 0.0:
                if orders.shape[0] > 0:
                    orders[q, kept] = a
                    kept += 1
                volume[a] += va
                link_volume[a] = 0.0
                w = wait_index[a]
                if w >= 0:
                    response[q, w] = va
        if orders.shape[0] > 0:
            counts[q] = kept


@njit
def _max_ratio_sum(q, tail, freq, wait_links, flows, node_max):
    """``sum_i max_a flows[q, a] / freq[a]`` over the nodes ``i`` and the waiting links
    ``a`` leaving them (``node_max`` (n,) zeros, left zero)."""
    n_wait = wait_links.shape[0]
    total = 0.0
    for p in range(n_wait):
        v = flows[q, p]
        if v > 0.0:
            a = wait_links[p]
            ratio = v / freq[a]
            i = tail[a]
            if ratio > node_max[i]:
                total += ratio - node_max[i]
                node_max[i] = ratio
    for p in range(n_wait):
        node_max[tail[wait_links[p]]] = 0.0
    return total


@njit_parallel
def wait_totals(tail, freq, wait_links, flows, n_nodes):
    """Per destination ``q``, ``sum_i max_a flows[q, a] / freq[a]`` over the nodes ``i``
    and the waiting links ``a`` leaving them: the wait (s, before the factor alpha) of
    the flows ``flows`` (d, w) on the waiting links ``wait_links`` (w,) at the
    frequencies ``freq`` (m,) (Cepeda, Cominetti & Florian 2006, the wait term of their
    gap function). Returns (d,) float64."""
    n_dest = flows.shape[0]
    n_blocks = chunk_count(n_dest)
    out = np.zeros(n_dest)
    for b in prange(n_blocks):
        node_max = np.zeros(n_nodes)
        for q in range(b, n_dest, n_blocks):
            out[q] = _max_ratio_sum(np.int64(q), tail, freq, wait_links, flows, node_max)
    return out


@njit_parallel
def column_pass(
    tail, head, cost, freq, alpha, n_nodes, origins, destinations, demand, dest_columns,
    column_indptr, column_links, weight, shift, wait_index, mixture,
):  # fmt: skip
    """One re-balancing pass of the per-destination strategy columns (restricted master
    problem of a disaggregated simplicial decomposition, Larsson & Patriksson 1992).

    A *column* of destination ``q`` is a strategy: attractive links in the order they
    became attractive (``column_links[column_indptr[c]:column_indptr[c + 1]]``, the
    columns of ``q`` being ``dest_columns[q] ... dest_columns[q + 1] - 1``). At ``cost``
    and ``freq`` each column's expected cost ``C_c = sum_o g_oq u_o`` is recomputed by
    the optimal-strategies recurrence over its own links (``u_i = (alpha + sum_a f_a (u_j
    + c_a)) / F_i``, a no-wait link taking over), then the weights move towards the
    cheapest column ``c*``: column ``c`` gives ``weight[c] * min(1, shift * (C_c - C_c*) /
    C_c*)`` to ``c*``; then the demand is loaded on each column, in proportion to its
    weight, splitting at the nodes in proportion to ``freq`` (so each column's flows are
    consistent with the current frequencies).

    Parameters
    ----------
    demand : (o, d) float64
        Trips (as for :func:`assign`).
    weight : (c,) float64
        Column weights (sum 1 per destination with demand); updated in place.
    shift : float
        Gain of the weight update (per relative cost difference).
    wait_index : (m,) int64
        Position of each link among the waiting links, -1 for the others.
    mixture : (d, w) float64
        Output: each destination's flow on the waiting links.

    Returns
    -------
    volume : (m,) float64
        Link volumes of the re-weighted columns.
    column_cost : (c,) float64
        Each column's expected cost (s, demand-weighted) before the update.
    restricted_gap : (d,) float64
        ``sum_c weight[c] (C_c - C_c*)`` with the weights before the update (s).
    least_cost : (d,) float64
        ``C_c*`` (s).
    """
    m = tail.shape[0]
    n_dest = destinations.shape[0]
    n_blocks = chunk_count(n_dest)
    volume_blocks = np.zeros((n_blocks, m))
    _, _, _, _, dem_indptr, dem_origin, dem_value = _assign_setup(
        n_nodes, 0, origins, n_dest, demand, False
    )
    column_cost = np.zeros(weight.shape[0])
    restricted_gap = np.zeros(n_dest)
    least_cost = np.zeros(n_dest)
    for b in prange(n_blocks):
        _column_block(
            np.int64(b), n_blocks, tail, head, cost, freq, alpha, n_nodes, origins, destinations,
            dem_indptr, dem_origin, dem_value, dest_columns, column_indptr, column_links, weight,
            shift, wait_index, mixture, volume_blocks[b], column_cost, restricted_gap, least_cost,
        )  # fmt: skip
    return _sum_rows(volume_blocks), column_cost, restricted_gap, least_cost


@njit
def _column_block(
    b, n_blocks, tail, head, cost, freq, alpha, n_nodes, origins, destinations, dem_indptr,
    dem_origin, dem_value, dest_columns, column_indptr, column_links, weight, shift, wait_index,
    mixture, volume, column_cost, restricted_gap, least_cost,
):  # fmt: skip
    """Destinations ``b, b + n_blocks, ...`` of :func:`column_pass`, serially."""
    n = n_nodes
    n_dest = destinations.shape[0]
    u = np.full(n, np.inf)
    f_node = np.zeros(n)
    numerator = np.zeros(n)
    inf_link = np.full(n, -1, dtype=np.int64)
    node_volume = np.zeros(n)
    for q in range(b, n_dest, n_blocks):
        for p in range(mixture.shape[1]):
            mixture[q, p] = 0.0
        first, last = dest_columns[q], dest_columns[q + 1]
        if first == last:
            continue
        dest = destinations[q]
        best = -1
        for c in range(first, last):
            _column_labels(
                tail, head, cost, freq, alpha, dest, column_links, column_indptr[c],
                column_indptr[c + 1], u, f_node, numerator, inf_link,
            )  # fmt: skip
            total = 0.0
            for r in range(dem_indptr[q], dem_indptr[q + 1]):
                o = origins[dem_origin[r]]
                if o != dest and u[o] < np.inf:
                    total += dem_value[r] * u[o]
            column_cost[c] = total
            _column_reset(tail, head, column_links, column_indptr[c], column_indptr[c + 1], u,
                          f_node, numerator, inf_link, node_volume)  # fmt: skip
            if best < 0 or total < column_cost[best]:
                best = c
        least = column_cost[best]
        least_cost[q] = least
        gap = 0.0
        moved = 0.0
        for c in range(first, last):
            excess = column_cost[c] - least
            gap += weight[c] * excess
            if c != best and weight[c] > 0.0:
                share = shift * excess / least if least > 0.0 else 1.0
                give = weight[c] * min(1.0, share)
                weight[c] -= give
                moved += give
        weight[best] += moved
        restricted_gap[q] = gap
        for c in range(first, last):
            if weight[c] <= 0.0:
                continue
            start, stop = column_indptr[c], column_indptr[c + 1]
            _column_labels(
                tail, head, cost, freq, alpha, dest, column_links, start, stop, u, f_node,
                numerator, inf_link,
            )  # fmt: skip
            for r in range(dem_indptr[q], dem_indptr[q + 1]):
                o = origins[dem_origin[r]]
                if o != dest and u[o] < np.inf:
                    node_volume[o] += weight[c] * dem_value[r]
            for p in range(stop - 1, start - 1, -1):
                a = column_links[p]
                i = tail[a]
                vi = node_volume[i]
                if vi == 0.0:
                    continue
                if inf_link[i] >= 0:
                    share = 1.0 if inf_link[i] == a else 0.0
                else:
                    share = freq[a] / f_node[i]
                va = vi * share
                if va == 0.0:
                    continue
                volume[a] += va
                node_volume[head[a]] += va
                w = wait_index[a]
                if w >= 0:
                    mixture[q, w] += va
            _column_reset(tail, head, column_links, start, stop, u, f_node, numerator, inf_link,
                          node_volume)  # fmt: skip


@njit
def _column_labels(
    tail, head, cost, freq, alpha, dest, column_links, start, stop, u, f_node, numerator,
    inf_link,
):  # fmt: skip
    """Labels ``u`` (s), combined frequencies ``f_node`` and no-wait links ``inf_link`` of
    the strategy ``column_links[start:stop]`` (attractive links in the order they became
    attractive: every link out of a node comes before the links into it) at ``cost`` and
    ``freq``; the node arrays must hold ``inf``, 0, 0, -1 (see :func:`_column_reset`)."""
    u[dest] = 0.0
    for p in range(start, stop):
        a = column_links[p]
        i = tail[a]
        j = head[a]
        fa = freq[a]
        if np.isinf(fa):
            u[i] = u[j] + cost[a]
            inf_link[i] = a
        elif inf_link[i] < 0:
            f_node[i] += fa
            numerator[i] += fa * (u[j] + cost[a])
            u[i] = (alpha + numerator[i]) / f_node[i]


@njit
def _column_reset(
    tail, head, column_links, start, stop, u, f_node, numerator, inf_link, node_volume
):  # fmt: skip
    """Reset the node arrays of :func:`_column_labels` (and ``node_volume``) at the ends
    of the links ``column_links[start:stop]``."""
    for p in range(start, stop):
        a = column_links[p]
        for i in (tail[a], head[a]):
            u[i] = np.inf
            f_node[i] = 0.0
            numerator[i] = 0.0
            inf_link[i] = -1
            node_volume[i] = 0.0


@njit_parallel
def node_shift(
    head, cost, freq, out_indptr, out_links, origins, destinations, demand, flows, alpha,
    gain,
):  # fmt: skip
    """One pass of node-level flow shifts per destination, then the demand loaded again.

    For destination ``q``, over the links that carry its flow ``flows[q]`` (d, m), in
    reverse topological order: each node's expected cost to ``q`` under the current
    splits, ``U_i = (sum_a x_a (cost_a + U_j) + alpha max_a x_a / freq_a) / sum_a x_a``
    (the max over the waiting links: Cepeda, Cominetti & Florian's 2006 wait term), and
    its best local choice among the same links, at the costs ``cost_a + U_j`` of the
    nodes downstream: the cheapest no-wait link, or the optimal common-lines split of its
    waiting links (Spiess & Florian 1989, shares ``f_a / F``). A share ``min(1, gain (U_i
    - best) / best)`` of the node's outflow moves from its current split to the best
    choice (nothing moves where the current split is the best), and ``U_i`` is taken
    again with the new split for the nodes upstream. The demand is then loaded again
    along the new splits. Frequencies and costs are those of the
    flows before the pass. A destination whose flows have a cycle is left as it is.
    With ``gain`` 0 nothing moves: each destination's demand is only loaded again along
    its flows' splits (conservation holds by construction). Returns ``(volume (m,),
    reloaded (d,) bool, local_gap (d,))``, the last the sum over the nodes of their
    outflow times ``U_i - best`` before the shift (s; 0 where every node's split is its
    best local choice).
    """
    n_dest = flows.shape[0]
    m = flows.shape[1]
    n = out_indptr.shape[0] - 1
    n_blocks = chunk_count(n_dest)
    volume_blocks = np.zeros((n_blocks, m))
    reloaded = np.zeros(n_dest, dtype=np.bool_)
    local_gap = np.zeros(n_dest)
    for b in prange(n_blocks):
        _node_block(
            np.int64(b), n_blocks, head, cost, freq, out_indptr, out_links, origins,
            destinations, demand, flows, volume_blocks[b], reloaded, local_gap, n, alpha, gain,
        )  # fmt: skip
    return _sum_rows(volume_blocks), reloaded, local_gap


@njit
def _node_block(
    b, n_blocks, head, cost, freq, out_indptr, out_links, origins, destinations, demand, flows,
    volume, reloaded, local_gap, n, alpha, gain,
):  # fmt: skip
    """Destinations ``b, b + n_blocks, ...`` of :func:`node_shift`."""
    n_dest = flows.shape[0]
    m = flows.shape[1]
    outflow = np.zeros(n)
    indegree = np.zeros(n, dtype=np.int64)
    node_volume = np.zeros(n)
    label = np.zeros(n)
    queue = np.empty(n, dtype=np.int64)
    new = np.zeros(m)
    max_out = 1
    for i in range(n):
        if out_indptr[i + 1] - out_indptr[i] > max_out:
            max_out = out_indptr[i + 1] - out_indptr[i]
    g = np.full(max_out, np.inf)
    f = np.zeros(max_out)
    br = np.zeros(max_out)
    rank = np.zeros(max_out, dtype=np.int64)
    for q in range(b, n_dest, n_blocks):
        for i in range(n):
            outflow[i] = 0.0
            indegree[i] = 0
            node_volume[i] = 0.0
        for i in range(n):
            for p in range(out_indptr[i], out_indptr[i + 1]):
                a = out_links[p]
                if flows[q, a] > 0.0:
                    outflow[i] += flows[q, a]
                    indegree[head[a]] += 1
        size = 0
        for i in range(n):
            if indegree[i] == 0 and outflow[i] > 0.0:
                queue[size] = i
                size += 1
        done = 0
        while done < size:
            i = queue[done]
            done += 1
            for p in range(out_indptr[i], out_indptr[i + 1]):
                a = out_links[p]
                if flows[q, a] > 0.0:
                    j = head[a]
                    indegree[j] -= 1
                    if indegree[j] == 0 and outflow[j] > 0.0:
                        queue[size] = j
                        size += 1
        acyclic = True
        for i in range(n):
            if indegree[i] > 0:
                acyclic = False
                break
        reloaded[q] = acyclic
        if acyclic:
            # reverse topological order: expected costs and the shifts (shares in flows[q])
            for i in range(n):
                label[i] = 0.0
            for r in range(size - 1, -1, -1):
                i = queue[r]
                local_gap[q] += _shift_node(
                    i, q, head, cost, freq, out_indptr, out_links, flows, outflow, label,
                    alpha, gain, g, f, br, rank,
                )  # fmt: skip
        if acyclic:
            dest = destinations[q]
            for p in range(origins.shape[0]):
                o = origins[p]
                if o != dest:
                    node_volume[o] += demand[p, q]
            for r in range(size):
                i = queue[r]
                vi = node_volume[i]
                for p in range(out_indptr[i], out_indptr[i + 1]):
                    a = out_links[p]
                    fa = flows[q, a]
                    if fa > 0.0:
                        va = vi * (fa / outflow[i])
                        new[a] = va
                        node_volume[head[a]] += va
        for a in range(m):
            if acyclic:
                flows[q, a] = new[a]
            new[a] = 0.0
            volume[a] += flows[q, a]


@njit
def _shift_node(
    i, q, head, cost, freq, out_indptr, out_links, flows, outflow, label, alpha, gain, g, f,
    br, rank,
):  # fmt: skip
    """The shift of :func:`node_shift` at node ``i`` for destination ``q``: rewrites the
    flows leaving ``i`` (same total) and sets ``label[i]``; returns the outflow times the
    excess of the current split's cost over the best local choice's (s)."""
    start = out_indptr[i]
    k_out = out_indptr[i + 1] - start
    out = outflow[i]
    current = 0.0
    worst = 0.0
    best_free = np.inf
    free_link = -1
    n_wait = 0
    for k in range(k_out):
        a = out_links[start + k]
        x = flows[q, a]
        g[k] = np.inf
        f[k] = 0.0
        if x > 0.0:
            c = cost[a] + label[head[a]]
            current += x * c
            if np.isinf(freq[a]):
                if c < best_free:
                    best_free = c
                    free_link = k
            else:
                g[k] = c
                f[k] = freq[a]
                n_wait += 1
                if x / freq[a] > worst:
                    worst = x / freq[a]
    current = (current + alpha * worst) / out
    tau = np.inf
    if n_wait > 0:
        tau = _common_lines(g[:k_out], f[:k_out], alpha, rank, br)
    best = best_free if best_free <= tau else tau
    share = 0.0
    if best < current and best > 0.0:
        share = gain * (current - best) / best
        if share > 1.0:
            share = 1.0
    if share > 0.0:
        for k in range(k_out):
            a = out_links[start + k]
            x = flows[q, a]
            if x > 0.0:
                target = 0.0
                if best_free <= tau:
                    target = 1.0 if k == free_link else 0.0
                elif g[k] < np.inf:
                    target = br[k]
                flows[q, a] = (1.0 - share) * x + share * out * target
    # the cost with the new split
    total = 0.0
    worst = 0.0
    for k in range(k_out):
        a = out_links[start + k]
        x = flows[q, a]
        if x > 0.0:
            total += x * (cost[a] + label[head[a]])
            if not np.isinf(freq[a]) and x / freq[a] > worst:
                worst = x / freq[a]
    label[i] = (total + alpha * worst) / out
    return out * (current - best) if best < current else 0.0


@njit
def _common_lines(g, f, alpha, rank, br):
    """The optimal common-lines split (Spiess & Florian 1989) of one traveller over the
    lines with finite cost ``g`` at frequencies ``f``: shares into ``br`` (summing to 1);
    returns the expected cost ``(alpha + sum f g) / F`` over the chosen lines."""
    nl = g.shape[0]
    n = 0
    for k in range(nl):
        br[k] = 0.0
        if g[k] < np.inf:
            # insertion by increasing cost
            p = n
            while p > 0 and g[rank[p - 1]] > g[k]:
                rank[p] = rank[p - 1]
                p -= 1
            rank[p] = k
            n += 1
    total_f = 0.0
    numerator = alpha
    tau = np.inf
    chosen = 0
    for p in range(n):
        k = rank[p]
        if chosen > 0 and not g[k] < tau:
            break
        total_f += f[k]
        numerator += f[k] * g[k]
        tau = numerator / total_f
        chosen += 1
    for p in range(chosen):
        k = rank[p]
        br[k] = f[k] / total_f
    return tau
