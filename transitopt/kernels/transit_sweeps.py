"""Block Gauss-Seidel sweeps over destinations for the capacity-constrained transit
assignment (``step_rule = "sweeps"`` of ``transit/capacity.py``).

Each destination ``q`` keeps its own flow on every link, ``flows[q]`` (d, m); their sum
is ``volume`` (m,). A call of :func:`sweep_block` treats a few destinations (a *block*):
their optimal strategies (Spiess & Florian 1989) at the current effective frequencies
``freq`` and crowded costs ``cost`` are searched in parallel and loaded (the responses
``y_q``); then, one destination after the other, ``flows[q]`` moves a step ``s`` towards
``y_q`` and ``volume``, ``freq`` and ``cost`` are updated on the links it touches, so the
next destination (and the next block) sees the shift (Gauss-Seidel). The step is the
*equal-cost step* of the destination's own flows: the ``s`` in ``[0, max_step[j]]`` where
``y_q`` and ``flows[q]`` cost the same at the state the mix ``flows[q] + s (y_q -
flows[q])`` produces, each flow's cost being the gap-function cost of Cepeda, Cominetti &
Florian (2006) (``sum_a c_a x_a + alpha sum_i max_a x_a / f_a``), found by bisection;
``max_step[j]`` where ``y_q`` stays cheaper.

The effective frequency of a boarding link (``link_places > 0``) is ``mu (1 - (v /
room) ** beta)``, at least ``min_share mu``, ``room = places - volume[link_dwell]``; the
cost of a crowded link (``link_seats >= 0``) is ``base_cost + (m - 1) in_vehicle_s``
with ``m`` :func:`crowding_multiplier_one` (the same formulas as
``transit/capacity.effective_frequency`` and ``crowding_multiplier``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._config import njit, njit_parallel
from .transit import load_into, strategy_into

#: bisections of the equal-cost step: the step to ``max_step[j] * 2**-12``
BISECTIONS = 12

#: per-link terms of the equal-cost step gathered once per destination (:func:`_gather`)
_FIELDS = 11


@njit
def sweep_pool(n, m, b):
    """Scratch arrays of :func:`sweep_block` for ``b`` destinations at once on ``n`` nodes
    and ``m`` links, allocated once per run (fresh arrays per destination cost page
    faults): per slot the search arrays of ``kernels.transit.strategy_scratch``, the
    origin marks and node volumes (kept False and zero), and the links used; then the
    link marks and two node maxima (kept False and zero), and the per-link terms of the
    step (:func:`_gather`) with their tail nodes."""
    return (
        np.empty((b, n)), np.empty((b, n)), np.empty((b, n), dtype=np.int64), np.empty((b, n)),
        np.empty((b, n, 0)), np.empty((b, m)), np.empty((b, m), dtype=np.int64),
        np.empty((b, m), dtype=np.int64), np.empty((b, m), dtype=np.int64),
        np.empty((b, n), dtype=np.bool_), np.zeros((b, n), dtype=np.bool_), np.zeros((b, n)),
        np.empty((b, m), dtype=np.int64), np.zeros(m, dtype=np.bool_), np.zeros(n), np.zeros(n),
        np.empty((m, _FIELDS)), np.empty(m, dtype=np.int64),
    )  # fmt: skip


@njit
def effective_frequency_one(mu, boardings, room, beta, min_share):
    """``mu (1 - (boardings / room) ** beta)``, at least ``min_share mu`` (1/s);
    ``room <= 0`` gives the floor, negative boardings (rounding) count as 0."""
    share = 0.0
    if room > 0.0:
        ratio = max(boardings, 0.0) / room
        if ratio < 1.0:
            share = 1.0 - math.pow(ratio, beta)
    return mu * max(share, min_share)


@njit
def crowding_multiplier_one(load, seats, curve):
    """Mean in-vehicle time multiplier of ``load`` riders on ``seats`` seats; ``curve``
    is ``(seated_free_load, seated_full_multiplier, seated_over_multiplier,
    standing_multiplier)`` (Wardman & Whelan 2011; see ``transit/capacity.py``)."""
    if not load > 0.0:
        return 1.0
    free, full, over, standing_m = curve[0], curve[1], curve[2], curve[3]
    x = load / seats if seats > 0.0 else np.inf
    if x <= free:
        seated_m = 1.0
    elif x <= 1.0:
        seated_m = 1.0 + (full - 1.0) * (x - free) / (1.0 - free)
    else:
        seated_m = over
    seated = min(load, seats)
    standing = max(load - seats, 0.0)
    return (seated * seated_m + standing * standing_m) / load


@njit
def _gather(
    q, j, links, n_links, tail, flows, response, volume, base_cost, in_vehicle_s, nominal_freq,
    link_places, link_dwell, link_seats, cost, freq, terms, tails,
):  # fmt: skip
    """The terms of :func:`_own_costs` of destination ``q``'s flows and response ``j`` on
    the links ``links[:n_links]``, copied once per destination into consecutive rows of
    ``terms`` (``n_links``, :data:`_FIELDS`) and their tail nodes into ``tails``: the
    bisection then reads them in order instead of from a dozen link arrays at scattered
    positions (0.52 ms per evaluation over 6,000 links on Transjakarta before). Row:
    ``x, y, y - x`` (the flows, the response, the shift), then the link's volume, seats
    (-1: cost fixed at ``cost``), base cost or fixed cost, in-vehicle time, places (0:
    frequency fixed at ``freq``), nominal or fixed frequency, the dwell link's volume and
    its shift."""
    for p in range(n_links):
        a = links[p]
        row = terms[p]
        x = flows[q, a]
        y = response[j, a]
        row[0] = x
        row[1] = y
        row[2] = y - x
        row[3] = volume[a]
        row[4] = link_seats[a]
        row[5] = base_cost[a] if link_seats[a] >= 0.0 else cost[a]
        row[6] = in_vehicle_s[a]
        row[7] = link_places[a]
        row[8] = nominal_freq[a] if link_places[a] > 0.0 else freq[a]
        dw = link_dwell[a]
        row[9] = volume[dw] if dw >= 0 else 0.0
        row[10] = response[j, dw] - flows[q, dw] if dw >= 0 else 0.0
        tails[p] = tail[a]


@njit
def _own_costs(step, terms, tails, n_links, curve, beta, min_share, alpha, max_x, max_y):
    """Gap-function costs (s) of destination ``q``'s flows and of its response at the
    state of the mix ``step``: ``(cost of flows[q], cost of response[j])``, over the
    links gathered by :func:`_gather` (every link either uses; each link's cost and
    frequency at the volumes ``volume + step (y - x)``, as :func:`_update_link` sets
    them). ``max_x``, ``max_y`` (n,) zeros, left
    zero."""
    cx = 0.0
    cy = 0.0
    wx = 0.0
    wy = 0.0
    for p in range(n_links):
        row = terms[p]
        x = row[0]
        y = row[1]
        seats = row[4]
        c = row[5]
        if seats >= 0.0:
            load = row[3] + step * row[2]
            multiplier = crowding_multiplier_one(load, seats, curve)
            c = c + (multiplier - 1.0) * row[6]
        f = row[8]
        places = row[7]
        if places > 0.0:
            boardings = row[3] + step * row[2]
            through = row[9] + step * row[10]
            f = effective_frequency_one(f, boardings, places - through, beta, min_share)
        cx += c * x
        cy += c * y
        if f < np.inf:
            i = tails[p]
            rx = x / f
            if rx > max_x[i]:
                wx += rx - max_x[i]
                max_x[i] = rx
            ry = y / f
            if ry > max_y[i]:
                wy += ry - max_y[i]
                max_y[i] = ry
    for p in range(n_links):
        i = tails[p]
        max_x[i] = 0.0
        max_y[i] = 0.0
    return cx + alpha * wx, cy + alpha * wy


@njit_parallel
def sweep_block(
    tail, head, in_indptr, in_links, base_cost, in_vehicle_s, nominal_freq, link_places,
    link_dwell, link_seats, curve, beta, min_share, alpha, origins, destinations, dem_indptr,
    dem_origin, dem_value, block, flows, volume, cost, freq, response, max_step, steps, own_gap,
    best, pool,
):  # fmt: skip
    """One block of a Gauss-Seidel sweep (module docstring).

    Parameters
    ----------
    tail, head, in_indptr, in_links : the graph (``kernels.transit``).
    base_cost, in_vehicle_s, nominal_freq : (m,) float64
        Link costs without crowding (s), in-vehicle times (s), nominal frequencies (1/s).
    link_places, link_dwell, link_seats : (m,) float64, int64, float64
        Places over the period on boarding links (0 elsewhere), the dwell link into a
        boarding link's head (-1), seats over the period on crowded in-vehicle links
        (-1 elsewhere).
    curve : (4,) float64
        The crowding curve (:func:`crowding_multiplier_one`).
    beta, min_share, alpha : float
        Effective-frequency exponent and floor, waiting-time factor.
    origins, destinations, dem_indptr, dem_origin, dem_value
        Origin and destination nodes, the demand by destination (CSR of
        ``kernels.transit._assign_setup``).
    block : (b,) int64
        Destinations of this block, in the order their steps are taken.
    flows : (d, m) float64;  volume, cost, freq : (m,) float64
        The state, updated in place.
    response : (b', m) float64, b' >= b
        Scratch, zeros (left zero).
    max_step : (b,) float64
        Largest step of each destination of the block, in [0, 1] (0: nothing moves; the
        gaps are still measured).
    steps, own_gap, best : (b,) float64
        Output per destination of the block: the step taken, the gap of its flows before
        the step (s: their gap-function cost minus the optimal strategy's) and the optimal
        strategies' total expected cost ``sum_o g_oq tau_oq`` (s).
    pool : tuple
        :func:`sweep_pool` for ``b'`` destinations.
    """
    m = tail.shape[0]
    n_block = block.shape[0]
    support = pool[12]
    marked, max_x, max_y = pool[13], pool[14], pool[15]
    terms, tails = pool[16], pool[17]
    n_support = np.zeros(n_block, dtype=np.int64)
    for j in prange(n_block):
        _respond_one(
            np.int64(j), block[j], tail, head, cost, freq, in_indptr, in_links, alpha, origins,
            destinations, dem_indptr, dem_origin, dem_value, response, support, n_support, best,
            pool,
        )  # fmt: skip
    for j in range(n_block):
        q = block[j]
        # the links that destination q's flows or its response use
        count = n_support[j]
        links = support[j]
        for p in range(count):
            marked[links[p]] = True
        for a in range(m):
            if flows[q, a] != 0.0 and not marked[a]:
                marked[a] = True
                links[count] = a
                count += 1
        _gather(
            q, j, links, count, tail, flows, response, volume, base_cost, in_vehicle_s,
            nominal_freq, link_places, link_dwell, link_seats, cost, freq, terms, tails,
        )  # fmt: skip
        cx, cy = _own_costs(0.0, terms, tails, count, curve, beta, min_share, alpha, max_x, max_y)
        own_gap[j] = cx - best[j]
        step = 0.0
        cap = max_step[j]
        if cx > cy and cap > 0.0:
            step = cap
            cx, cy = _own_costs(
                cap, terms, tails, count, curve, beta, min_share, alpha, max_x, max_y
            )
            if cy > cx:
                low = 0.0
                high = cap
                for _ in range(BISECTIONS):
                    mid = 0.5 * (low + high)
                    cx, cy = _own_costs(
                        mid, terms, tails, count, curve, beta, min_share, alpha, max_x, max_y
                    )
                    if cy <= cx:
                        low = mid
                    else:
                        high = mid
                step = 0.5 * (low + high)
        steps[j] = step
        if step > 0.0:
            for p in range(count):
                a = links[p]
                x = flows[q, a]
                new = (1.0 - step) * x + step * response[j, a]
                volume[a] += new - x
                flows[q, a] = new
            for p in range(count):
                a = links[p]
                _update_link(
                    a, volume, base_cost, in_vehicle_s, nominal_freq, link_places, link_dwell,
                    link_seats, curve, beta, min_share, cost, freq,
                )  # fmt: skip
                # a dwell link sets the room of the boarding links into its head
                h = head[a]
                for r in range(in_indptr[h], in_indptr[h + 1]):
                    b = in_links[r]
                    if link_dwell[b] == a:
                        _update_link(
                            b, volume, base_cost, in_vehicle_s, nominal_freq, link_places,
                            link_dwell, link_seats, curve, beta, min_share, cost, freq,
                        )  # fmt: skip
        for p in range(count):
            a = links[p]
            marked[a] = False
            response[j, a] = 0.0


@njit
def _update_link(
    a, volume, base_cost, in_vehicle_s, nominal_freq, link_places, link_dwell, link_seats,
    curve, beta, min_share, cost, freq,
):  # fmt: skip
    """Cost and frequency of link ``a`` at ``volume``, written to ``cost`` and ``freq``."""
    if link_seats[a] >= 0.0:
        multiplier = crowding_multiplier_one(volume[a], link_seats[a], curve)
        cost[a] = base_cost[a] + (multiplier - 1.0) * in_vehicle_s[a]
    if link_places[a] > 0.0:
        dw = link_dwell[a]
        through = volume[dw] if dw >= 0 else 0.0
        freq[a] = effective_frequency_one(
            nominal_freq[a], volume[a], link_places[a] - through, beta, min_share
        )


@njit
def _respond_one(
    j, q, tail, head, cost, freq, in_indptr, in_links, alpha, origins, destinations,
    dem_indptr, dem_origin, dem_value, response, support, n_support, best, pool,
):  # fmt: skip
    """Destination ``q``'s optimal strategy loaded into ``response[j]``; its links with
    flow into ``support[j, :n_support[j]]``, its total expected cost into ``best[j]``
    (search arrays: slot ``j`` of the :func:`sweep_pool` ``pool``)."""
    best[j] = 0.0
    n_support[j] = 0
    dest = destinations[q]
    is_origin = pool[10][j]
    node_volume = pool[11][j]
    some_origins = np.empty(dem_indptr[q + 1] - dem_indptr[q], dtype=np.int64)
    n_some = 0
    for r in range(dem_indptr[q], dem_indptr[q + 1]):
        o = origins[dem_origin[r]]
        if o != dest and not is_origin[o]:
            is_origin[o] = True
            some_origins[n_some] = o
            n_some += 1
    if n_some == 0:
        return
    scratch = (
        pool[0][j], pool[1][j], pool[2][j], pool[3][j], pool[4][j], pool[5][j], pool[6][j],
        pool[7][j], pool[8][j], pool[9][j],
    )  # fmt: skip
    no_skims = np.empty((tail.shape[0], 0))
    count = strategy_into(
        tail, head, cost, freq, in_indptr, in_links, no_skims, dest, alpha, some_origins[:n_some],
        is_origin, scratch, True,
    )  # fmt: skip
    for p in range(n_some):
        is_origin[some_origins[p]] = False
    u, f_node, inf_link, wait, skim, key, heap, pos, order, entered = scratch
    total = 0.0
    for r in range(dem_indptr[q], dem_indptr[q + 1]):
        o = origins[dem_origin[r]]
        if u[o] < np.inf and o != dest:
            node_volume[o] += dem_value[r]
            total += dem_value[r] * u[o]
    best[j] = total
    row = response[j]
    load_into(tail, head, freq, f_node, inf_link, order, count, node_volume, row)
    # node_volume back to zeros: what is left sits at the origins and link heads
    node_volume[dest] = 0.0
    for p in range(n_some):
        node_volume[some_origins[p]] = 0.0
    kept = 0
    for p in range(count):
        a = order[p]
        node_volume[head[a]] = 0.0
        if row[a] != 0.0:
            support[j, kept] = a
            kept += 1
    n_support[j] = kept
