"""Transit route-set evaluation for the urban transit routing problem (UTRP).

The literature's passenger model (Mandl 1979; Mumford 2013): every passenger takes the
minimum-cost path through the route network, where cost = in-vehicle time + a fixed
penalty per transfer; ties are broken by fewer transfers. Routes run both ways.

The search is round-based (RAPTOR-like, Delling et al. 2012) on untimed routes: round
``k`` rides every route touched by a stop improved in round ``k - 1`` and so finds, for
every stop, the least cost over paths with at most ``k`` boardings. A stop keeps the
first round that reached its final least cost, which is the fewest boardings among the
least-cost paths — exactly the lexicographic (cost, transfers) order.

A route set is passed flat: ``route_ptr`` (R+1,) int64 and ``stops`` (route_ptr[-1],)
int64 node indices, route ``r`` being ``stops[route_ptr[r]:route_ptr[r+1]]``.
``travel_time`` is the (n, n) link time matrix in minutes (``inf`` = no link).
"""

from __future__ import annotations

import numpy as np

from ._config import njit

#: transfer counts kept apart in the evaluation (0, 1, 2; anything above is "unsatisfied")
_MAX_COUNTED_TRANSFERS = 2


@njit
def _stop_routes(n, route_ptr, stops):
    """CSR stop → routes through it (each route once per stop)."""
    n_routes = route_ptr.size - 1
    count = np.zeros(n + 1, dtype=np.int64)
    for r in range(n_routes):
        for i in range(route_ptr[r], route_ptr[r + 1]):
            count[stops[i] + 1] += 1
    ptr = np.cumsum(count)
    fill = ptr[:-1].copy()
    routes = np.empty(ptr[-1], dtype=np.int64)
    for r in range(n_routes):
        for i in range(route_ptr[r], route_ptr[r + 1]):
            s = stops[i]
            routes[fill[s]] = r
            fill[s] += 1
    return ptr, routes


@njit
def _ride_route(start, end, stops, travel_time, penalty, simple, marked, prev, onboard):
    """Least in-vehicle cost at each stop of one route, boarding at the marked stops.

    The route is the graph of its consecutive stop pairs (a stop visited twice is one
    node, as in the literature's route graph), ridden both ways. Result in ``onboard``.
    """
    for i in range(start, end):
        onboard[stops[i]] = np.inf
    for i in range(start, end):
        p = stops[i]
        if marked[p]:
            onboard[p] = prev[p] + penalty
    changed = True
    while changed:
        changed = False
        for i in range(start + 1, end):
            cand = onboard[stops[i - 1]] + travel_time[stops[i - 1], stops[i]]
            if cand < onboard[stops[i]]:
                onboard[stops[i]] = cand
                changed = True
        for i in range(end - 2, start - 1, -1):
            cand = onboard[stops[i + 1]] + travel_time[stops[i + 1], stops[i]]
            if cand < onboard[stops[i]]:
                onboard[stops[i]] = cand
                changed = True
        if simple:
            break


@njit
def _route_is_simple(route_ptr, stops, n):
    """(R,) bool: route visits no stop twice."""
    n_routes = route_ptr.size - 1
    out = np.ones(n_routes, dtype=np.bool_)
    seen = np.full(n, -1, dtype=np.int64)
    for r in range(n_routes):
        for i in range(route_ptr[r], route_ptr[r + 1]):
            if seen[stops[i]] == r:
                out[r] = False
            seen[stops[i]] = r
    return out


@njit
def _raptor_origin(
    origin,
    route_ptr,
    stops,
    travel_time,
    penalty,
    sr_ptr,
    sr_routes,
    simple,
    best,
    rounds,
    prev,
    marked,
    next_marked,
    route_seen,
    onboard,
):
    """Least cost (minutes) and boardings from ``origin`` to every stop, written into ``best``/``rounds``.

    Scratch arrays come in any state and are reset here: ``best`` (n,) float, ``rounds``
    (n,) int, ``prev`` (n,) float, ``marked``/``next_marked`` (n,) bool, ``route_seen``
    (R,) int (round stamp), ``onboard`` (n,) float. ``simple`` (R,) bool flags routes that
    visit no stop twice. ``rounds[s]`` = boardings of the chosen path (0 at the
    origin, -1 unreachable).
    """
    n = best.size
    for s in range(n):
        best[s] = np.inf
        rounds[s] = -1
        marked[s] = False
        next_marked[s] = False
    route_seen[:] = -1
    best[origin] = 0.0
    rounds[origin] = 0
    prev[origin] = -penalty  # the first boarding is free
    marked[origin] = True
    any_marked = True
    k = 0
    while any_marked:
        k += 1
        any_marked = False
        for s in range(n):
            if not marked[s]:
                continue
            for j in range(sr_ptr[s], sr_ptr[s + 1]):
                r = sr_routes[j]
                if route_seen[r] == k:
                    continue
                route_seen[r] = k
                _ride_route(
                    route_ptr[r],
                    route_ptr[r + 1],
                    stops,
                    travel_time,
                    penalty,
                    simple[r],
                    marked,
                    prev,
                    onboard,
                )
                for i in range(route_ptr[r], route_ptr[r + 1]):
                    p = stops[i]
                    if onboard[p] < best[p]:
                        best[p] = onboard[p]
                        rounds[p] = k
                        next_marked[p] = True
        for s in range(n):
            marked[s] = next_marked[s]
            next_marked[s] = False
            if marked[s]:
                prev[s] = best[s]
                any_marked = True


@njit
def _raptor_rows(route_ptr, stops, travel_time, penalty, origins):
    """``_raptor_origin`` from each of ``origins``: (len(origins), n) least cost and boardings."""
    n = travel_time.shape[0]
    n_routes = route_ptr.size - 1
    sr_ptr, sr_routes = _stop_routes(n, route_ptr, stops)
    simple = _route_is_simple(route_ptr, stops, n)
    best = np.empty((origins.size, n))
    rounds = np.empty((origins.size, n), dtype=np.int64)
    prev = np.empty(n)
    marked = np.empty(n, dtype=np.bool_)
    next_marked = np.empty(n, dtype=np.bool_)
    route_seen = np.empty(n_routes, dtype=np.int64)
    onboard = np.empty(n)
    for row in range(origins.size):
        _raptor_origin(
            origins[row],
            route_ptr,
            stops,
            travel_time,
            penalty,
            sr_ptr,
            sr_routes,
            simple,
            best[row],
            rounds[row],
            prev,
            marked,
            next_marked,
            route_seen,
            onboard,
        )
    return best, rounds


@njit
def _tally(out, trips, cost, boardings):
    """Add ``trips`` to the evaluation ``out`` by their cost (minutes) and boardings (< 1: no path)."""
    if boardings < 1:
        out[5] += trips
        return
    out[0] += trips * cost
    transfers = boardings - 1
    if transfers <= _MAX_COUNTED_TRANSFERS:
        out[1 + transfers] += trips
    else:
        out[4] += trips


@njit
def _total_route_time(route_ptr, stops, travel_time):
    """TRT: sum of the routes' one-way travel times (minutes)."""
    trt = 0.0
    for r in range(route_ptr.size - 1):
        for i in range(route_ptr[r] + 1, route_ptr[r + 1]):
            trt += travel_time[stops[i - 1], stops[i]]
    return trt


@njit
def evaluate_routes(route_ptr, stops, travel_time, demand, penalty):
    """Passenger and operator objectives of a route set.

    Parameters
    ----------
    route_ptr, stops
        The route set (see module docstring); node indices ``0..n-1``.
    travel_time
        (n, n) link times in minutes; every consecutive stop pair must be linked.
    demand
        (n, n) trips.
    penalty
        Minutes added per transfer.

    Returns
    -------
    numpy.ndarray
        (8,) float64: total passenger cost over served demand (minutes × trips), demand
        with 0, 1, 2 and more than 2 transfers, demand with no path (trips), total
        demand (trips), total route time TRT (minutes, one way).
    """
    n = travel_time.shape[0]
    out = np.zeros(8)
    origins = np.empty(n, dtype=np.int64)
    n_origins = 0
    for o in range(n):
        row_total = 0.0
        for d in range(n):
            if d != o:
                row_total += demand[o, d]
        if row_total > 0.0:
            out[6] += row_total
            origins[n_origins] = o
            n_origins += 1
    best, rounds = _raptor_rows(route_ptr, stops, travel_time, penalty, origins[:n_origins])
    for row in range(n_origins):
        o = origins[row]
        for d in range(n):
            q = demand[o, d]
            if d != o and q > 0.0:
                _tally(out, q, best[row, d], rounds[row, d])
    out[7] = _total_route_time(route_ptr, stops, travel_time)
    return out


@njit
def route_set_skim(route_ptr, stops, travel_time, penalty):
    """(n, n) least cost in minutes (incl. transfer penalties) and (n, n) transfers; ``inf``/-1 unreachable."""
    n = travel_time.shape[0]
    cost, rounds = _raptor_rows(route_ptr, stops, travel_time, penalty, np.arange(n))
    transfers = np.empty((n, n), dtype=np.int64)
    for o in range(n):
        for d in range(n):
            transfers[o, d] = rounds[o, d] - 1 if rounds[o, d] >= 1 else -1
        transfers[o, o] = 0
    return cost, transfers


@njit
def _segment_times(route_ptr, stops, travel_time):
    """(len(stops),) time from the previous stop of the same route (0 at a route's first stop)."""
    seg = np.zeros(stops.size)
    for r in range(route_ptr.size - 1):
        for i in range(route_ptr[r] + 1, route_ptr[r + 1]):
            seg[i] = travel_time[stops[i - 1], stops[i]]
    return seg


@njit
def _all_origins(route_ptr, stops, travel_time, penalty, best, rounds):
    """Round-based search from every origin at once; ``best[s, o]``/``rounds[s, o]`` as in ``_raptor_origin``.

    Origins form the inner (contiguous) axis so each route ride is a vector operation.
    """
    n = travel_time.shape[0]
    n_routes = route_ptr.size - 1
    seg = _segment_times(route_ptr, stops, travel_time)
    simple = _route_is_simple(route_ptr, stops, n)
    max_len = 0
    for r in range(n_routes):
        max_len = max(max_len, route_ptr[r + 1] - route_ptr[r])
    onb = np.empty((max_len, n))
    prev = np.full((n, n), np.inf)
    for s in range(n):
        for o in range(n):
            best[s, o] = np.inf
            rounds[s, o] = -1
        best[s, s] = 0.0
        rounds[s, s] = 0
        prev[s, s] = -penalty  # the first boarding is free
    touched = np.zeros(n, dtype=np.int64)  # last round in which a stop improved for some origin
    active_stop = np.ones(
        n, dtype=np.bool_
    )  # improved in the previous round: routes through it are ridden
    k = 0
    improved = True
    while improved:
        k += 1
        improved = False
        if k > 1:
            for s in range(n):
                active_stop[s] = touched[s] == k - 1
        for r in range(n_routes):
            start = route_ptr[r]
            length = route_ptr[r + 1] - start
            active = False
            for i in range(length):
                if active_stop[stops[start + i]]:
                    active = True
                    break
            if not active:
                continue
            p = stops[start]
            for o in range(n):
                onb[0, o] = prev[p, o] + penalty
            for i in range(1, length):
                p = stops[start + i]
                sg = seg[start + i]
                for o in range(n):
                    a = onb[i - 1, o] + sg
                    b = prev[p, o] + penalty
                    onb[i, o] = a if a < b else b
            for i in range(length - 2, -1, -1):
                sg = seg[start + i + 1]
                for o in range(n):
                    a = onb[i + 1, o] + sg
                    if a < onb[i, o]:
                        onb[i, o] = a
            if not simple[r]:
                _settle_loops(start, length, stops, seg, onb, n)
            for i in range(length):
                p = stops[start + i]
                for o in range(n):
                    if onb[i, o] < best[p, o]:
                        best[p, o] = onb[i, o]
                        rounds[p, o] = k
                        touched[p] = k
                        improved = True
        if improved:
            prev[:, :] = best


@njit
def _settle_loops(start, length, stops, seg, onb, n):
    """Ride a route that visits a stop twice until stable, the visits of a stop sharing one value."""
    changed = True
    while changed:
        changed = False
        for i in range(length):
            for j in range(i + 1, length):
                if stops[start + i] == stops[start + j]:
                    for o in range(n):
                        v = min(onb[i, o], onb[j, o])
                        if onb[i, o] != v or onb[j, o] != v:
                            onb[i, o] = v
                            onb[j, o] = v
                            changed = True
        if not changed:
            break
        for i in range(1, length):
            for o in range(n):
                a = onb[i - 1, o] + seg[start + i]
                if a < onb[i, o]:
                    onb[i, o] = a
        for i in range(length - 2, -1, -1):
            for o in range(n):
                a = onb[i + 1, o] + seg[start + i + 1]
                if a < onb[i, o]:
                    onb[i, o] = a


@njit
def evaluate_routes_fast(route_ptr, stops, travel_time, demand, penalty):
    """Same result as :func:`evaluate_routes`, all origins searched together (faster for n >~ 30)."""
    n = travel_time.shape[0]
    best = np.empty((n, n))
    rounds = np.empty((n, n), dtype=np.int64)
    _all_origins(route_ptr, stops, travel_time, penalty, best, rounds)
    out = np.zeros(8)
    for d in range(n):
        for o in range(n):
            q = demand[o, d]
            if d != o and q > 0.0:
                out[6] += q
                _tally(out, q, best[d, o], rounds[d, o])
    out[7] = _total_route_time(route_ptr, stops, travel_time)
    return out


@njit
def route_network_connected(route_ptr, stops, n):
    """True when the routes cover all ``n`` nodes and form one connected network."""
    parent = np.arange(n)
    covered = np.zeros(n, dtype=np.bool_)
    for r in range(route_ptr.size - 1):
        for i in range(route_ptr[r], route_ptr[r + 1]):
            covered[stops[i]] = True
            if i > route_ptr[r]:
                a = stops[i - 1]
                while parent[a] != a:
                    parent[a] = parent[parent[a]]
                    a = parent[a]
                b = stops[i]
                while parent[b] != b:
                    parent[b] = parent[parent[b]]
                    b = parent[b]
                if a != b:
                    parent[a] = b
    root = -1
    for s in range(n):
        if not covered[s]:
            return False
        a = s
        while parent[a] != a:
            a = parent[a]
        if root == -1:
            root = a
        elif a != root:
            return False
    return True


@njit
def path_pair_sums(nodes, lengths, matrix):
    """(P,) sum of ``matrix[u, v]`` over ordered pairs of distinct positions on each path.

    ``nodes`` (P, L) int64 paths padded beyond ``lengths`` (P,). With an upper-triangular
    ``matrix`` each unordered node pair is counted once.
    """
    n_paths = lengths.size
    out = np.zeros(n_paths)
    for p in range(n_paths):
        total = 0.0
        for i in range(lengths[p]):
            a = nodes[p, i]
            for j in range(lengths[p]):
                if i != j:
                    total += matrix[a, nodes[p, j]]
        out[p] = total
    return out
