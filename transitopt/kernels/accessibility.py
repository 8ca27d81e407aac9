"""Accessibility sums: cumulative opportunities within cutoffs and a gravity measure.

Two kernels, parallel over origins, arrays only:

* :func:`network_sums` runs one bounded Dijkstra per origin over a CSR graph and adds
  the opportunities of each node as it is settled (opportunities live at nodes, as in
  Pandana), so no origin-by-node matrix is ever stored;
* :func:`matrix_sums` does the same sums from a given travel-time matrix (a transit
  skim, say), one row per origin.

For an origin ``i``, a node (or destination) ``v`` reached at time ``t`` and
opportunity column ``k``:

* ``cumulative[i, j, k]`` sums ``opportunities[v, k]`` over ``t <= cutoffs[j]``;
* ``gravity[i, g, k]`` sums ``opportunities[v, k] * exp(-decay[g] * t)`` over
  ``t <= limit``.

Times, cutoffs, decay rates and ``limit`` share one unit (the edge weights' unit).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel
from .heap import NOT_QUEUED, heap_pop, heap_push
from .shortest_paths import relax_out_edges, search_scratch


@njit
def _first_bin(cutoffs, t):
    """Index of the smallest cutoff ``>= t`` (``cutoffs.size`` if none)."""
    lo = 0
    hi = cutoffs.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if cutoffs[mid] >= t:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit
def _accumulate(opportunities, v, t, cutoffs, decay, limit, bins, grav_row):
    """Add node/destination ``v`` reached at time ``t`` to one origin's sums."""
    k_cols = opportunities.shape[1]
    j = _first_bin(cutoffs, t)
    if j < cutoffs.size:
        for k in range(k_cols):
            bins[j, k] += opportunities[v, k]
    if t <= limit:
        for g in range(decay.size):
            w = np.exp(-decay[g] * t)
            for k in range(k_cols):
                grav_row[g, k] += opportunities[v, k] * w


@njit
def _bounded_sums(
    indptr, head, weight, no_through, source, start_time, opportunities, cutoffs, decay, limit,
    search_limit, dist, pred, heap_key, heap_node, position, settled, bins, grav_row,
):  # fmt: skip
    """One origin: Dijkstra from ``source`` (at ``start_time``) settling nodes up to
    ``search_limit``, accumulating as nodes settle. Scratch arrays come in reset (``dist``
    inf, ``position`` not queued) and are reset again on return (only the entries the
    search touched: the ``settled`` nodes and those left in the heap)."""
    dist[source] = start_time
    size = heap_push(heap_key, heap_node, position, 0, source, start_time)
    n_settled = 0
    while size > 0 and heap_key[0] <= search_limit:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        settled[n_settled] = u
        n_settled += 1
        _accumulate(opportunities, u, du, cutoffs, decay, limit, bins, grav_row)
        if no_through[u] and u != source:
            continue
        size = relax_out_edges(
            indptr, head, weight, u, du, dist, pred, heap_key, heap_node, position, size
        )
    for v in settled[:n_settled]:
        dist[v] = np.inf
        position[v] = NOT_QUEUED
    for v in heap_node[:size]:
        dist[v] = np.inf
        position[v] = NOT_QUEUED


@njit
def _finish(bins, cum_row):
    """Cumulative sums over the cutoff bins."""
    for k in range(bins.shape[1]):
        acc = 0.0
        for j in range(bins.shape[0]):
            acc += bins[j, k]
            cum_row[j, k] = acc


@njit_parallel
def network_sums(
    indptr,
    head,
    weight,
    no_through,
    sources,
    start_time,
    opportunities,
    cutoffs,
    decay,
    limit,
    search_limit,
):
    """Accessibility of each origin from a bounded search over the network.

    Parameters
    ----------
    indptr, head, weight, no_through
        CSR graph as in :mod:`.shortest_paths` (``weight`` >= 0, ``inf`` forbids an edge).
    sources : (s,) int64
        Origin node of each row.
    start_time : (s,) float64
        Time already spent when leaving the origin node (e.g. walking from the zone
        centroid to it); 0 for none.
    opportunities : (n_nodes, k) float64
        Opportunities at each node.
    cutoffs : (c,) float64
        Ascending cutoffs.
    decay : (g,) float64
        Gravity decay rates (per unit of time).
    limit : float
        Gravity terms are summed up to this time (``inf``: all reached nodes).
    search_limit : float
        Nodes farther than this are not searched; should be >= ``cutoffs[-1]`` and
        ``limit`` (``inf``: search everything reachable).

    Returns
    -------
    cumulative : (s, c, k) float64
    gravity : (s, g, k) float64
    """
    n = indptr.size - 1
    n_src = sources.size
    k_cols = opportunities.shape[1]
    cumulative = np.zeros((n_src, cutoffs.size, k_cols))
    gravity = np.zeros((n_src, decay.size, k_cols))
    n_chunks = chunk_count(n_src)
    for c in prange(n_chunks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        settled = np.empty(n, dtype=np.int64)
        bins = np.zeros((cutoffs.size, k_cols))
        for i in range(c, n_src, n_chunks):
            bins[:, :] = 0.0
            _bounded_sums(
                indptr, head, weight, no_through, sources[i], start_time[i], opportunities, cutoffs,
                decay, limit, search_limit, dist, pred, heap_key, heap_node, position, settled, bins,
                gravity[i],
            )  # fmt: skip
            _finish(bins, cumulative[i])
    return cumulative, gravity


@njit
def _row_sums(row, opportunities, cutoffs, decay, limit, cum_row, grav_row):
    """Sums of one origin over a row of times to every destination."""
    n_cut = cutoffs.size
    n_dec = decay.size
    k_cols = opportunities.shape[1]
    last = cutoffs[n_cut - 1] if n_cut else -np.inf
    reach = max(last, limit)
    bins = np.zeros((n_cut + 1, k_cols))
    grav = np.zeros((n_dec, k_cols))
    for j in range(row.size):
        t = row[j]
        if not t <= reach:  # also skips inf and nan
            continue
        b = 0
        while b < n_cut and cutoffs[b] < t:
            b += 1
        for k in range(k_cols):
            bins[b, k] += opportunities[j, k]
        if n_dec and t <= limit:
            for g in range(n_dec):
                w = np.exp(-decay[g] * t)
                for k in range(k_cols):
                    grav[g, k] += opportunities[j, k] * w
    for k in range(k_cols):
        acc = 0.0
        for b in range(n_cut):
            acc += bins[b, k]
            cum_row[b, k] = acc
        for g in range(n_dec):
            grav_row[g, k] = grav[g, k]


@njit_parallel
def matrix_sums(times, opportunities, cutoffs, decay, limit):
    """Accessibility of each origin (row) from a travel-time matrix.

    Parameters
    ----------
    times : (s, d) float64
        Time from origin ``i`` to destination ``j`` (``inf``: unreachable).
    opportunities : (d, k) float64
        Opportunities at each destination.
    cutoffs, decay, limit
        As in :func:`network_sums` (``limit`` bounds the gravity sum only).

    Returns
    -------
    cumulative : (s, c, k) float64
    gravity : (s, g, k) float64
    """
    n_src = times.shape[0]
    k_cols = opportunities.shape[1]
    cumulative = np.zeros((n_src, cutoffs.size, k_cols))
    gravity = np.zeros((n_src, decay.size, k_cols))
    for i in prange(n_src):
        _row_sums(times[i], opportunities, cutoffs, decay, limit, cumulative[i], gravity[i])
    return cumulative, gravity


@njit
def reachable_within(indptr, head, weight, no_through, sources, start_time, limit):
    """Nodes reachable within ``limit`` from any of ``sources`` (a multi-source search):
    ``(n_nodes,)`` float64 times, ``inf`` beyond ``limit``. Used for isochrones."""
    n = indptr.size - 1
    best = np.full(n, np.inf)
    dist, pred, heap_key, heap_node, position = search_scratch(n)
    is_source = np.zeros(n, dtype=np.bool_)
    size = 0
    for i in range(sources.size):
        s = sources[i]
        is_source[s] = True
        t = start_time[i]
        if t < dist[s] and t <= limit:
            dist[s] = t
            size = heap_push(heap_key, heap_node, position, size, s, t)
    while size > 0 and heap_key[0] <= limit:
        u, du, size = heap_pop(heap_key, heap_node, position, size)
        best[u] = du
        if no_through[u] and not is_source[u]:
            continue
        size = relax_out_edges(
            indptr, head, weight, u, du, dist, pred, heap_key, heap_node, position, size
        )
    return best
