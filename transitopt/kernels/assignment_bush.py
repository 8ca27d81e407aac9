"""Bush-based user equilibrium: Dial's Algorithm B (Dial 2006, Transportation Research B 40(10)).

Each origin ``r`` keeps a *bush*: an acyclic set of links rooted at ``r`` that carries all
of ``r``'s demand. A bush holds only nodes from which it leads to one of the origin's
destinations: on city networks that is a few percent of the network, so bushes are
stored sparse, in one pool of arrays with a region per origin (memory grows with the
bushes, not with origins × links). The ten arrays of the pool, in this order
(``bushes`` in the driver):

- ``node_start``, ``node_cap``, ``node_count`` (per origin, int64): the origin's region
  of ``nodes`` and ``lend`` and how much of it is used;
- ``nodes`` (int32): the bush's nodes in topological order (the origin first);
- ``lend`` (int32): ``lend[node_start[r] + k]`` is the end, counted from
  ``link_start[r]``, of the links leaving the ``k``-th node;
- ``link_start``, ``link_cap``, ``link_count`` (per origin, int64): the origin's region
  of ``links`` and ``flows``;
- ``links`` (int32): the bush's links, grouped by tail in the order of ``nodes``, in
  link order within a tail;
- ``flows`` (float64): the origin's flow on each of those links (veh/h).

The equilibration sweeps work on this form directly. A bush update reads it in two
passes (potentials forwards, the links and nodes that stay backwards) into dense
per-thread scratch (a bool and a flow per link), changes it there and gathers it back
(in the same pass as the topological sort where links were added); a bush that outgrows its region is not written, its new size is
reported instead, and the driver enlarges the region (:func:`repack_bushes`) and
updates that bush again (the update depends only on the costs and the old bush).

An iteration

1. searches shortest paths from every origin (:func:`gap_and_grow`, parallel over
   origins; or takes the costs from a zone-to-zone skim, :func:`excess_from_skim`, and
   searches only the origins whose bushes grow): the SPTT of the relative gap, each
   origin's excess cost, and the tree from which each bush far from equilibrium grows.
   Unused links are dropped (keeping the bush's shortest-path tree), and shortcut
   links into bush nodes are added, with the shortest-path branch that reaches them
   when their tail is new to the bush (see :func:`_grow_bush` for why this keeps the
   bush acyclic);
2. equilibrates the bushes (:func:`sweep`, several sweeps, each in a few parallel lanes:
   Gauss-Seidel within a lane, Jacobi between lanes, whose flow changes are added up
   after every few bushes): for
   each bush node ``j``, last in topological order first, takes the shortest and the
   longest used bush path to ``j``, walks both back to where they diverge, and moves
   ``min(Δc / (Σ c' over both segments), least flow on the longest segment)`` from the
   longest onto the shortest segment (a Newton step), updating link costs at once.

The graph is the *bush graph* of :func:`chain_graph` (dead-end trees dropped, chains
contracted): each of its links stands for one or more network links (its *members*) that
carry its flow; its cost and derivative are the sums of theirs (:func:`_update_link`).
Link costs are generalised costs ``time(x + preload) + fixed`` from :mod:`.vdf`;
``no_through`` nodes (centroids) are never passed through: a bush never holds a link
leaving a centroid other than its own origin.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._config import chunk_count, njit, njit_parallel
from .assignment import (
    _mark_demand_targets,
    _unmark_targets,
    _usable_csr,
    load_tree,
    search_to_demand,
)
from .compression import peel, undirected_neighbours
from .heap import SETTLED
from .shortest_paths import reset_search, search_scratch
from .vdf import link_time_and_derivative

#: bush flows below this fraction of the origin's demand left by a full shift are rounding residue
ZERO_REL = 1e-13


@njit
def chain_graph(indptr, head, usable, protect):
    """The bush graph: the network with dead-end trees dropped and chains contracted.

    A node is dropped when peeling unprotected nodes of undirected degree <= 1 removes it
    (no flow between protected nodes ever enters a dead-end tree), and contracted when it
    is left with two neighbours and is not protected; the ends of parallel links are kept
    (a chain step is one link). Every chain a one-way trip can follow becomes one link
    whose members are the chain's links in order: they all carry its flow, and its cost
    is the sum of theirs, so the equilibrium on the bush graph is that of the network.
    Self-loops, closed (not ``usable``) links and chains that lead back to where they
    started are left out (no acyclic path uses them).

    Returns
    -------
    new_of : (n,) int64
        Bush-graph index of each node (kept nodes in network order), -1 if contracted or dropped.
    c_indptr, c_head, c_tail
        The bush graph, CSR (int64, int32, int32).
    member_ptr, member : int64
        Links of bush-graph link ``e``: ``member[member_ptr[e]:member_ptr[e + 1]]``.
    """
    n = indptr.size - 1
    m = head.size
    keep = protect.copy()
    last = np.full(n, -1, dtype=np.int64)
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            if usable[e] and v != u:
                if last[v] == u:  # a second link u -> v
                    keep[u] = True
                    keep[v] = True
                last[v] = u
    u_ptr, u_head = _usable_csr(indptr, head, usable)
    nb_ptr, nbr = undirected_neighbours(u_ptr, u_head)
    peeled, deg = peel(nb_ptr, nbr, keep)
    new_of = np.full(n, -1, dtype=np.int64)
    n_kept = 0
    for v in range(n):
        if not peeled[v] and (deg[v] != 2 or keep[v]):
            new_of[v] = n_kept
            n_kept += 1
    c_indptr = np.zeros(n_kept + 1, dtype=np.int64)
    c_head = np.empty(m, dtype=np.int32)
    member_ptr = np.zeros(m + 1, dtype=np.int64)
    member = np.empty(m, dtype=np.int64)
    k = 0  # bush-graph links
    q = 0  # members
    for u in range(n):
        if new_of[u] < 0:
            continue
        for e in range(indptr[u], indptr[u + 1]):
            v = head[e]
            if not usable[e] or v == u or peeled[v]:
                continue
            first = q
            member[q] = e
            q += 1
            prev = u
            cur = v
            ok = True
            while new_of[cur] < 0:  # a chain node: follow its one link onwards
                nxt = -1
                for f in range(indptr[cur], indptr[cur + 1]):
                    w = head[f]
                    if usable[f] and w != prev and w != cur and not peeled[w]:
                        nxt = f
                        break
                if nxt < 0:  # one way in the other direction
                    ok = False
                    break
                member[q] = nxt
                q += 1
                prev = cur
                cur = head[nxt]
            if not ok or cur == u:
                q = first
                continue
            c_head[k] = new_of[cur]
            k += 1
            member_ptr[k] = q
        c_indptr[new_of[u] + 1] = k
    c_tail = np.empty(k, dtype=np.int32)
    for i in range(n_kept):
        for e in range(c_indptr[i], c_indptr[i + 1]):
            c_tail[e] = i
    out_head = np.empty(k, dtype=np.int32)
    for e in range(k):
        out_head[e] = c_head[e]
    out_ptr = np.empty(k + 1, dtype=np.int64)
    for e in range(k + 1):
        out_ptr[e] = member_ptr[e]
    out_member = np.empty(q, dtype=np.int64)
    for i in range(q):
        out_member[i] = member[i]
    return new_of, c_indptr, out_head, c_tail, out_ptr, out_member


@njit
def _sort_and_gather(origin, nodes, count, indptr, head, in_bush, bush_flow, indegree,
                     out_lend, out_links, out_flows):  # fmt: skip
    """Kahn's topological sort and :func:`_gather` in one: the dense bush on ``nodes[:count]``
    (any order) put in topological order in ``nodes`` and, node by node as the order is found,
    gathered into the sparse form (clearing ``in_bush`` and ``bush_flow``). Returns the
    number of links."""
    for k in range(count):
        indegree[nodes[k]] = 0
    for k in range(count):
        u = nodes[k]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                indegree[head[a]] += 1
    nodes[0] = origin
    read = 0
    filled = 1
    p = 0
    while read < filled:
        u = nodes[read]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                out_links[p] = a
                out_flows[p] = bush_flow[a]
                in_bush[a] = False
                bush_flow[a] = 0.0
                p += 1
                v = head[a]
                indegree[v] -= 1
                if indegree[v] == 0:
                    nodes[filled] = v
                    filled += 1
        out_lend[read] = p
        read += 1
    if filled != count:
        raise RuntimeError("bush is not acyclic")
    return p


@njit
def _update_link(e, flow, cost, deriv, member_ptr, member, preload, fixed, t0, cap, alpha, beta,
                 kind):  # fmt: skip
    """Cost and derivative of bush-graph link ``e`` at its flow: sums over its network links
    ``member[member_ptr[e]:member_ptr[e + 1]]`` (a contracted chain: one flow, costs add up)."""
    x = flow[e]
    c = 0.0
    d = 0.0
    for k in range(member_ptr[e], member_ptr[e + 1]):
        a = member[k]
        time, slope = link_time_and_derivative(
            x + preload[a], t0[a], cap[a], alpha[a], beta[a], kind[a]
        )
        c += time + fixed[a]
        d += slope
    cost[e] = c
    deriv[e] = d


@njit
def chain_costs(flow, member_ptr, member, preload, fixed, t0, cap, alpha, beta, kind, cost, deriv):
    """Cost (s) and derivative (s per veh/h) of every bush-graph link at ``flow`` (veh/h),
    into ``cost`` and ``deriv`` (see :func:`chain_graph`)."""
    for e in range(flow.size):
        _update_link(e, flow, cost, deriv, member_ptr, member, preload, fixed, t0, cap, alpha,
                     beta, kind)  # fmt: skip


@njit
def spread_flows(flow, member_ptr, member, out):
    """Network link flows ``out`` (veh/h) of the bush-graph link flows ``flow``; 0 on links
    that no bush-graph link holds (dead ends, closed links)."""
    out[:] = 0.0
    for e in range(flow.size):
        for k in range(member_ptr[e], member_ptr[e + 1]):
            out[member[k]] = flow[e]


@njit
def _bush_labels(
    origin, nodes, s, count, ls, lend, links, flows, head, cost, lo, hi, lo_pred, hi_pred
):
    """Shortest (``lo``) and longest used (``hi``, over links with flow; ``-inf`` where none
    arrives) path costs on the stored (sparse) bush of nodes ``nodes[s:s + count]`` and
    links from ``ls`` on; predecessors ``lo_pred``/``hi_pred`` hold positions in
    ``links``, not link ids (``-1`` at the origin)."""
    for k in range(count):
        v = nodes[s + k]
        lo[v] = np.inf
        hi[v] = -np.inf
        lo_pred[v] = -1
        hi_pred[v] = -1
    lo[origin] = 0.0
    hi[origin] = 0.0
    p = ls
    for k in range(count):
        u = nodes[s + k]
        lu = lo[u]
        hu = hi[u]
        end = ls + lend[s + k]
        while p < end:
            v = head[links[p]]
            c = cost[links[p]]
            if lu + c < lo[v]:
                lo[v] = lu + c
                lo_pred[v] = p
            if hu > -np.inf and flows[p] > 0.0 and hu + c > hi[v]:
                hi[v] = hu + c
                hi_pred[v] = p
            p += 1


@njit
def _equilibrate(
    origin, nodes, s, count, ls, lend, links, flows, position, head, tail, flow, cost, deriv,
    member_ptr, member, preload, fixed, t0, cap, alpha, beta, kind, lo, hi, lo_pred, hi_pred,
    rel_tol, zero_tol, skip_below, touched, touched_list, n_touched,
):  # fmt: skip
    """One pass of Newton flow shifts over the stored bush (see :func:`_bush_labels`).

    ``position[v]`` is ``v``'s index in the bush's topological order. ``zero_tol``
    (veh/h): residues this small left on a segment emptied by a full shift are
    rounding; they are set to 0. Nodes whose longest and shortest path costs differ by
    less than ``skip_below`` (s) are left as they are (walking their segments back costs
    more than their shifts gain while larger differences remain). Links whose flow
    changes are flagged in ``touched`` and appended to ``touched_list`` (holding
    ``n_touched`` already). Returns the largest cost difference between the two paths
    seen (s; for a node left as it is, the difference of its path costs, an upper bound
    of its segments') and the new ``n_touched``.
    """
    _bush_labels(
        origin, nodes, s, count, ls, lend, links, flows, head, cost, lo, hi, lo_pred, hi_pred
    )
    worst = 0.0
    for k in range(count - 1, 0, -1):
        j = nodes[s + k]
        e_hi = hi_pred[j]
        e_lo = lo_pred[j]
        if e_hi < 0 or e_hi == e_lo:
            continue
        spread = hi[j] - lo[j]
        if spread <= rel_tol * hi[j]:
            continue
        if spread < skip_below:
            if spread > worst:
                worst = spread
            continue
        # divergence node: walk both paths back, always stepping the later node, summing
        # the segments' costs and derivatives on the way (from j back, as the shifts go)
        a = links[e_lo]
        c_lo = cost[a]
        d_lo = deriv[a]
        p = tail[a]
        a = links[e_hi]
        c_hi = cost[a]
        d_hi = deriv[a]
        f_hi = flows[e_hi]
        q = tail[a]
        while p != q:
            if position[p] > position[q]:
                a = links[lo_pred[p]]
                c_lo += cost[a]
                d_lo += deriv[a]
                p = tail[a]
            else:
                e = hi_pred[q]
                a = links[e]
                c_hi += cost[a]
                d_hi += deriv[a]
                if flows[e] < f_hi:
                    f_hi = flows[e]
                q = tail[a]
        top = p
        diff = c_hi - c_lo
        if diff > worst:
            worst = diff
        if diff <= rel_tol * c_hi or f_hi <= 0.0:
            continue
        slope = d_lo + d_hi
        shift = diff / slope if slope > 0.0 else f_hi
        if shift > f_hi:
            shift = f_hi
        full = shift == f_hi
        v = j
        while v != top:
            e = hi_pred[v]
            a = links[e]
            rest = flows[e] - shift
            # a full shift empties the whole segment: links that carried the same path flow
            # up to rounding must not keep a residue (it would dangle without inflow)
            if rest < 0.0 or (full and rest <= zero_tol):
                rest = 0.0
            flows[e] = rest
            flow[a] -= shift
            if not touched[a]:
                touched[a] = True
                touched_list[n_touched] = a
                n_touched += 1
            _update_link(
                a, flow, cost, deriv, member_ptr, member, preload, fixed, t0, cap, alpha, beta,
                kind,
            )  # fmt: skip
            v = tail[a]
        v = j
        while v != top:
            e = lo_pred[v]
            a = links[e]
            flows[e] += shift
            flow[a] += shift
            if not touched[a]:
                touched[a] = True
                touched_list[n_touched] = a
                n_touched += 1
            _update_link(
                a, flow, cost, deriv, member_ptr, member, preload, fixed, t0, cap, alpha, beta,
                kind,
            )  # fmt: skip
            v = tail[a]
    return worst, n_touched


@njit
def _push_labels(origin, nodes, s, count, ls, lend, links, flows, head, tail, cost, lo, hi,
                 lo_pred):  # fmt: skip
    """Potentials of the stored bush (nodes ``nodes[s:s + count]``, links from ``ls`` on),
    in one pass over its links in topological order: ``lo`` (shortest path, ``lo_pred``:
    link ids, ``-1`` at the origin) over all its links and ``hi`` (longest path) over the
    links that stay in it: those with flow and the shortest-path tree's."""
    for k in range(count):
        v = nodes[s + k]
        lo[v] = np.inf
        hi[v] = -np.inf
        lo_pred[v] = -1
    lo[origin] = 0.0
    hi[origin] = 0.0
    p = ls
    for k in range(count):
        u = nodes[s + k]
        e = lo_pred[u]  # final now: every link into u comes from an earlier node
        if e >= 0 and hi[tail[e]] + cost[e] > hi[u]:
            hi[u] = hi[tail[e]] + cost[e]
        lu = lo[u]
        hu = hi[u]
        end = ls + lend[s + k]
        while p < end:
            a = links[p]
            v = head[a]
            c = cost[a]
            if lu + c < lo[v]:
                lo[v] = lu + c
                lo_pred[v] = a
            if flows[p] > 0.0 and hu + c > hi[v]:
                hi[v] = hu + c
            p += 1


@njit
def _scatter_live(nodes, s, count, ls, lend, links, flows, head, lo_pred, is_target, in_bush,
                  bush_flow, mark, out_nodes):  # fmt: skip
    """Copy the stored bush into dense scratch, without the links that leave it and the
    nodes that no longer lead to a destination, in one pass over its links in reverse
    topological order.

    A link stays if it carries flow or is on the shortest-path tree (``lo_pred``) and
    leads to a live node; a node is live if it is the origin, a destination with demand
    (``is_target``) or the tail of a link that stays. Live nodes get ``mark`` and go to
    ``out_nodes`` (in order), the links that stay get ``in_bush`` and their flow in
    ``bush_flow``. Dropping dead nodes keeps the potentials of the live ones (no link
    from a dead node leads to a live one). Returns the number of live nodes.
    """
    for k in range(count - 1, -1, -1):
        u = nodes[s + k]
        live = k == 0 or is_target[u]
        first = ls + (lend[s + k - 1] if k > 0 else 0)
        for p in range(first, ls + lend[s + k]):
            a = links[p]
            v = head[a]
            if mark[v] and (flows[p] > 0.0 or lo_pred[v] == a):
                in_bush[a] = True
                bush_flow[a] = flows[p]
                live = True
        mark[u] = live
    size = 0
    for k in range(count):
        v = nodes[s + k]
        if mark[v]:
            out_nodes[size] = v
            size += 1
    return size


@njit
def _tree_anchor(i, mark, pred, tail):
    """The first bush (marked) node on the shortest-path tree branch up from node ``i``."""
    w = i
    while not mark[w]:
        w = tail[pred[w]]
    return w


@njit
def _graft_branch(i, anchor, tail, pred, dist, in_bush, mark, lo, hi, nodes, grown):
    """Add the shortest-path tree branch from bush node ``anchor`` down to ``i`` to the bush,
    its potentials growing with the shortest distance; returns the new node count."""
    w = i
    while w != anchor:
        e = pred[w]
        in_bush[e] = True
        mark[w] = True
        hi[w] = hi[anchor] + (dist[w] - dist[anchor])
        lo[w] = lo[anchor] + (dist[w] - dist[anchor])
        nodes[grown] = w
        grown += 1
        w = tail[e]
    return grown


@njit
def _add_shortcuts(
    origin, nodes, count, tail, rev_indptr, rev_edge, in_bush, cost, no_through, dist, pred,
    position, lo, hi, mark, rel_tol,
):  # fmt: skip
    """Add the links into bush nodes ``nodes[1:count]`` that are shortcuts under the
    potentials (see :func:`_grow_bush`), grafting a new tail's tree branch; returns
    ``(node count, links added)``."""
    added = 0
    grown = count
    for k in range(1, count):
        j = nodes[k]
        hj = hi[j]
        lj = lo[j]
        reach = hj - rel_tol * hj
        for q in range(rev_indptr[j], rev_indptr[j + 1]):
            a = rev_edge[q]
            i = tail[a]
            c = cost[a]
            settled = position[i] == SETTLED
            # both tests below need dist[i] + c < hj (potentials are at least the shortest
            # distances of settled nodes): most in-links fail this, so it comes first
            if settled and dist[i] + c >= reach:
                continue
            if in_bush[a] or c == np.inf or (no_through[i] and i != origin):
                continue
            if not mark[i] and not settled:
                continue  # not settled by the search: no shorter way through it
            anchor = _tree_anchor(i, mark, pred, tail)
            hu = hi[anchor] + (dist[i] - dist[anchor]) if anchor != i else hi[i]
            lu = lo[anchor] + (dist[i] - dist[anchor]) if anchor != i else lo[i]
            if hu + c < hj - rel_tol * hj or (lu + c < lj - rel_tol * lj and hu < hj):
                in_bush[a] = True
                added += 1
                grown = _graft_branch(
                    i, anchor, tail, pred, dist, in_bush, mark, lo, hi, nodes, grown
                )
    return grown, added


@njit
def _grow_bush(
    r, origin, node_start, node_count, nodes, lend, link_start, link_count, links, flows,
    indptr, head, tail, rev_indptr, rev_edge, cost, no_through, dest_nodes, demand_row,
    is_target, dist, pred, position, lo, hi, lo_pred, mark, in_bush, bush_flow, out_nodes,
    rel_tol,
):  # fmt: skip
    """Update stored bush ``r`` for the current ``cost`` into dense scratch (``in_bush``,
    ``bush_flow``, its nodes in ``out_nodes``); returns ``(node count, links added)``.
    The nodes are in topological order if no link was added (else sort them: the new
    links may lead to earlier nodes).

    ``dist``/``pred``/``position`` hold a shortest-path search from the origin under
    ``cost`` (``position == SETTLED`` for settled nodes). Unused links are dropped
    (keeping the bush's shortest-path tree), nodes that no longer lead to a destination
    leave the bush, and links into bush nodes are added when they are shortcuts under the
    potential ``hi`` (longest bush path cost): ``hi_i + c < hi_j``, or ``lo_i + c < lo_j``
    with ``hi_i < hi_j``. A shortcut whose tail is outside the bush is grafted together
    with its shortest-path-tree branch from the bush, along which the potential grows
    with the shortest distance; since the potential never decreases along bush links
    and strictly increases along new ones, the bush stays acyclic.

    The stored bush is read in two passes over its links (potentials forwards, what stays
    backwards); the network's in-links are scanned once per bush node, for shortcuts.
    """
    s = node_start[r]
    ls = link_start[r]
    count = node_count[r]
    _push_labels(origin, nodes, s, count, ls, lend, links, flows, head, tail, cost, lo, hi, lo_pred)
    _mark_demand_targets(dest_nodes, demand_row, is_target)
    count = _scatter_live(
        nodes, s, count, ls, lend, links, flows, head, lo_pred, is_target, in_bush, bush_flow,
        mark, out_nodes,
    )  # fmt: skip
    _unmark_targets(dest_nodes, is_target)
    grown, added = _add_shortcuts(
        origin, out_nodes, count, tail, rev_indptr, rev_edge, in_bush, cost, no_through, dist,
        pred, position, lo, hi, mark, rel_tol,
    )  # fmt: skip
    for k in range(grown):
        mark[out_nodes[k]] = False
    return grown, added


@njit
def _gather(nodes, count, indptr, in_bush, bush_flow, out_lend, out_links, out_flows):
    """The sparse form of the dense bush on ``nodes[:count]`` (topological order) into
    ``out_lend``/``out_links``/``out_flows``; clears ``in_bush`` and ``bush_flow``
    (every bush link leaves a bush node, and only bush links carry bush flow).
    Returns the number of links."""
    p = 0
    for k in range(count):
        u = nodes[k]
        for a in range(indptr[u], indptr[u + 1]):
            if in_bush[a]:
                out_links[p] = a
                out_flows[p] = bush_flow[a]
                in_bush[a] = False
                bush_flow[a] = 0.0
                p += 1
        out_lend[k] = p
    return p


@njit
def _store(r, count, n_links, new_nodes, new_lend, new_links, new_flows, node_start, node_count,
           nodes, lend, link_start, link_count, links, flows):  # fmt: skip
    """Write a gathered bush into origin ``r``'s region of the pool (which must fit it)."""
    s = node_start[r]
    for k in range(count):
        nodes[s + k] = new_nodes[k]
        lend[s + k] = new_lend[k]
    ls = link_start[r]
    for p in range(n_links):
        links[ls + p] = new_links[p]
        flows[ls + p] = new_flows[p]
    node_count[r] = count
    link_count[r] = n_links


@njit_parallel
def init_bushes(
    indptr, head, tail, cost, no_through, origin_nodes, dest_nodes, demand, start, stop,
    out_nodes, out_lend, out_links, out_flows, out_sizes,
):  # fmt: skip
    """Bushes of origins ``start:stop`` = their shortest paths under ``cost`` to their
    destinations, carrying their demand.

    Bush ``start + i`` goes to row ``i`` of ``out_nodes``/``out_lend`` ((rows, n) int32)
    and ``out_links``/``out_flows`` ((rows, m)) in the pool's form, its node and link
    counts to ``out_sizes[i]``.
    """
    n = indptr.size - 1
    m = head.size
    n_todo = stop - start
    n_blocks = chunk_count(n_todo)
    for b in prange(n_blocks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        is_target = np.zeros(n, dtype=np.bool_)
        node_flow = np.zeros(n)
        n_child = np.zeros(n, dtype=np.int64)
        stack = np.empty(n, dtype=np.int64)
        in_bush = np.zeros(m, dtype=np.bool_)
        row_flow = np.zeros(m)
        for i in range(b * n_todo // n_blocks, (b + 1) * n_todo // n_blocks):
            r = start + i
            source = origin_nodes[r]
            row = demand[r]
            search_to_demand(
                indptr, head, cost, no_through, source, dest_nodes, row, False, is_target,
                dist, pred, heap_key, heap_node, position,
            )  # fmt: skip
            for j in range(dest_nodes.size):
                t = dest_nodes[j]
                if row[j] > 0.0 and dist[t] < np.inf:
                    node_flow[t] += row[j]
            load_tree(n, tail, pred, position, node_flow, n_child, stack, row_flow)
            nodes = out_nodes[i]
            nodes[0] = source
            count = 1
            for v in range(n):
                e = pred[v]
                if position[v] == SETTLED and e >= 0 and row_flow[e] > 0.0:
                    in_bush[e] = True
                    nodes[count] = v
                    count += 1
            out_sizes[i, 0] = count
            out_sizes[i, 1] = _sort_and_gather(
                source, nodes, count, indptr, head, in_bush, row_flow, n_child, out_lend[i],
                out_links[i], out_flows[i],
            )  # fmt: skip
            reset_search(dist, pred, position)
            node_flow[:] = 0.0
            n_child[:] = 0


@njit_parallel
def gap_and_grow(
    indptr, head, tail, rev_indptr, rev_edge, cost, no_through, origin_nodes, dest_nodes, demand,
    node_start, node_cap, node_count, nodes, lend, link_start, link_cap, link_count, links, flows,
    todo, grow_above, rel_tol, need, excess,
):  # fmt: skip
    """One shortest-path search per origin in ``todo`` (parallel): the SPTT for the gap,
    each origin's excess cost and updates of the bushes whose excess is large.

    ``excess[r]`` (veh·s/h) gets origin ``r``'s excess cost: its bush's total travel
    time less its shortest-path total (its share of the gap's numerator, >= 0 up to
    rounding). Bush ``r`` is updated when ``excess[r] >= grow_above`` (Dial 2006, §4:
    updating only the bushes far from equilibrium; ``-inf``: all of them, ``inf``: none).
    A grown bush that does not fit its region of the pool is left as it was and its
    node and link counts go to ``need[r]`` (else ``need[r]`` is ``(0, 0)``): update it
    again once its region is large enough. Returns ``(sptt, links added)``.
    """
    n = indptr.size - 1
    m = head.size
    n_todo = todo.size
    n_blocks = chunk_count(n_todo)
    grow = grow_above < np.inf
    sptt_part = np.zeros(n_blocks)
    added = np.zeros(n_blocks, dtype=np.int64)
    for b in prange(n_blocks):
        dist, pred, heap_key, heap_node, position = search_scratch(n)
        is_target = np.zeros(n, dtype=np.bool_)
        lo = np.empty(n)
        hi = np.empty(n)
        lo_pred = np.empty(n, dtype=np.int64)
        mark = np.zeros(n, dtype=np.bool_)
        indegree = np.zeros(n, dtype=np.int64)
        in_bush = np.zeros(m if grow else 0, dtype=np.bool_)
        bush_flow = np.zeros(m if grow else 0)
        sub = np.empty(n if grow else 0, dtype=np.int32)
        new_lend = np.empty(n if grow else 0, dtype=np.int32)
        new_links = np.empty(m if grow else 0, dtype=np.int32)
        new_flows = np.empty(m if grow else 0)
        for i in range(b * n_todo // n_blocks, (b + 1) * n_todo // n_blocks):
            r = todo[i]
            row = demand[r]
            search_to_demand(
                indptr, head, cost, no_through, origin_nodes[r], dest_nodes, row, False,
                is_target, dist, pred, heap_key, heap_node, position,
            )  # fmt: skip
            shortest = 0.0
            for j in range(dest_nodes.size):
                if row[j] > 0.0:
                    shortest += row[j] * dist[dest_nodes[j]]
            sptt_part[b] += shortest
            total = 0.0
            for p in range(link_start[r], link_start[r] + link_count[r]):
                total += flows[p] * cost[links[p]]
            excess[r] = total - shortest
            need[r, 0] = 0
            need[r, 1] = 0
            if excess[r] >= grow_above:
                count, got = _grow_bush(
                    r, origin_nodes[r], node_start, node_count, nodes, lend, link_start,
                    link_count, links, flows, indptr, head, tail, rev_indptr, rev_edge, cost,
                    no_through, dest_nodes, row, is_target, dist, pred, position, lo, hi,
                    lo_pred, mark, in_bush, bush_flow, sub, rel_tol,
                )  # fmt: skip
                if got:
                    n_links = _sort_and_gather(
                        origin_nodes[r], sub, count, indptr, head, in_bush, bush_flow, indegree,
                        new_lend, new_links, new_flows,
                    )  # fmt: skip
                else:
                    n_links = _gather(
                        sub, count, indptr, in_bush, bush_flow, new_lend, new_links, new_flows
                    )
                if count <= node_cap[r] and n_links <= link_cap[r]:
                    _store(
                        r, count, n_links, sub, new_lend, new_links, new_flows, node_start,
                        node_count, nodes, lend, link_start, link_count, links, flows,
                    )  # fmt: skip
                    added[b] += got
                else:
                    need[r, 0] = count
                    need[r, 1] = n_links
            reset_search(dist, pred, position)
    sptt = 0.0
    for b in range(n_blocks):
        sptt += sptt_part[b]
    return sptt, added.sum()


@njit_parallel
def sweep(
    indptr, head, tail, origin_nodes, origin_demand, node_start, node_cap, node_count, nodes, lend,
    link_start, link_cap, link_count, links, flows, flow, cost, deriv, member_ptr, member, preload,
    fixed, t0, cap, alpha, beta, kind, bushes, rel_tol, skip_share, worst, lanes, batch,
):  # fmt: skip
    """One equilibration pass over the bushes ``bushes`` (origin rows), in ``lanes`` lanes.

    The bushes are taken in rounds of ``lanes * batch``; in a round, lane ``l`` passes
    over the ``l``-th run of ``batch`` of them, in order (Gauss-Seidel: each sees the
    shifts of the bushes before it in its lane), on its own copy of ``flow``, ``cost``
    and ``deriv`` as they were at the round's start (Jacobi between lanes: it does not
    see the other lanes' shifts of that round). The lanes run in parallel; after the
    round their flow changes are added up, lane by lane, and the costs of the changed
    links recomputed. With one lane this is a plain Gauss-Seidel pass; the result
    depends on ``lanes`` and ``batch``, never on the number of threads.

    ``origin_demand[r]`` (veh/h) scales the rounding threshold. ``worst[r]`` holds the
    largest cost difference (s) between a longest used and a shortest path of bush ``r``
    at its last pass: nodes whose difference is below ``skip_share`` times that are left
    as they are; the pass writes its own largest difference there.
    """
    n = indptr.size - 1
    m = flow.size
    lo = np.empty((lanes, n))
    hi = np.empty((lanes, n))
    lo_pred = np.empty((lanes, n), dtype=np.int64)
    hi_pred = np.empty((lanes, n), dtype=np.int64)
    # a bush's walks read the positions of its own nodes only, set before its pass: left
    # as they are after it
    position = np.empty((lanes, n), dtype=np.int64)
    lane_flow = np.empty((lanes, m))
    lane_cost = np.empty((lanes, m))
    lane_deriv = np.empty((lanes, m))
    for lane in range(lanes):
        for a in range(m):
            lane_flow[lane, a] = flow[a]
            lane_cost[lane, a] = cost[a]
            lane_deriv[lane, a] = deriv[a]
    touched = np.zeros((lanes, m), dtype=np.bool_)
    touched_list = np.empty((lanes, m), dtype=np.int64)
    n_touched = np.zeros(lanes, dtype=np.int64)
    changed = np.zeros(m, dtype=np.bool_)
    changed_list = np.empty(m, dtype=np.int64)
    step = lanes * batch
    for start in range(0, bushes.size, step):
        for lane in prange(lanes):
            first = start + lane * batch
            last = min(first + batch, bushes.size)
            pos = position[lane]
            count_touched = np.int64(0)
            for i in range(first, last):
                r = bushes[i]
                s = node_start[r]
                count = node_count[r]
                for k in range(count):
                    pos[nodes[s + k]] = k
                worst[r], count_touched = _equilibrate(
                    origin_nodes[r], nodes, s, count, link_start[r], lend, links, flows, pos,
                    head, tail, lane_flow[lane], lane_cost[lane], lane_deriv[lane], member_ptr,
                    member, preload, fixed, t0, cap, alpha, beta, kind, lo[lane], hi[lane],
                    lo_pred[lane], hi_pred[lane], rel_tol, ZERO_REL * origin_demand[r],
                    skip_share * worst[r], touched[lane], touched_list[lane], count_touched,
                )  # fmt: skip
            n_touched[lane] = count_touched
        if lanes == 1:  # the lane's arrays are the only ones
            for q in range(n_touched[0]):
                a = touched_list[0, q]
                touched[0, a] = False
                flow[a] = lane_flow[0, a]
                cost[a] = lane_cost[0, a]
                deriv[a] = lane_deriv[0, a]
            continue
        # add up the lanes' changes (lane order: deterministic), recompute changed costs
        n_changed = 0
        for lane in range(lanes):
            for q in range(n_touched[lane]):
                a = touched_list[lane, q]
                touched[lane, a] = False
                if not changed[a]:
                    changed[a] = True
                    changed_list[n_changed] = a
                    n_changed += 1
                    deriv[a] = flow[a]  # the round's starting flow, kept while summing
                flow[a] += lane_flow[lane, a] - deriv[a]
        for q in range(n_changed):
            a = changed_list[q]
            changed[a] = False
            if flow[a] < 0.0:  # rounding: a sum of bush flows is not negative
                flow[a] = 0.0
            _update_link(
                a, flow, cost, deriv, member_ptr, member, preload, fixed, t0, cap, alpha, beta,
                kind,
            )  # fmt: skip
            for lane in range(lanes):
                lane_flow[lane, a] = flow[a]
                lane_cost[lane, a] = cost[a]
                lane_deriv[lane, a] = deriv[a]


@njit
def excess_from_skim(skim, demand, link_start, link_count, links, flows, cost, excess):
    """Each origin's excess cost into ``excess`` (veh·s/h, as in :func:`gap_and_grow`) from
    its shortest-path costs ``skim`` ((origins, destinations), s) instead of a search of
    its own; returns the SPTT (veh·s/h), summed in origin order."""
    sptt = 0.0
    for r in range(link_start.size):
        shortest = 0.0
        for j in range(demand.shape[1]):
            if demand[r, j] > 0.0:
                shortest += demand[r, j] * skim[r, j]
        sptt += shortest
        total = 0.0
        for p in range(link_start[r], link_start[r] + link_count[r]):
            total += flows[p] * cost[links[p]]
        excess[r] = total - shortest
    return sptt


@njit
def sum_bush_flows(link_start, link_count, links, flows, out):
    """``out[a] += sum_r`` (origin ``r``'s flow on link ``a``), in origin order (deterministic)."""
    for r in range(link_start.size):
        ls = link_start[r]
        for p in range(ls, ls + link_count[r]):
            out[links[p]] += flows[p]


@njit
def repack_bushes(
    node_start, node_count, nodes, lend, link_start, link_count, links, flows, node_cap, link_cap
):
    """A new pool with regions of ``node_cap``/``link_cap`` per origin (each at least
    the origin's count), holding the same bushes.

    Returns ``(node_start, nodes, lend, link_start, links, flows)`` of the new pool.
    """
    n_orig = node_start.size
    new_node_start = np.zeros(n_orig, dtype=np.int64)
    new_link_start = np.zeros(n_orig, dtype=np.int64)
    for r in range(1, n_orig):
        new_node_start[r] = new_node_start[r - 1] + node_cap[r - 1]
        new_link_start[r] = new_link_start[r - 1] + link_cap[r - 1]
    total_nodes = new_node_start[-1] + node_cap[-1] if n_orig else 0
    total_links = new_link_start[-1] + link_cap[-1] if n_orig else 0
    new_nodes = np.empty(total_nodes, dtype=np.int32)
    new_lend = np.empty(total_nodes, dtype=np.int32)
    new_links = np.empty(total_links, dtype=np.int32)
    new_flows = np.empty(total_links)
    for r in range(n_orig):
        if node_count[r] > node_cap[r] or link_count[r] > link_cap[r]:
            raise ValueError("a bush does not fit its new region")
        s = node_start[r]
        t = new_node_start[r]
        for k in range(node_count[r]):
            new_nodes[t + k] = nodes[s + k]
            new_lend[t + k] = lend[s + k]
        s = link_start[r]
        t = new_link_start[r]
        for p in range(link_count[r]):
            new_links[t + p] = links[s + p]
            new_flows[t + p] = flows[s + p]
    return new_node_start, new_nodes, new_lend, new_link_start, new_links, new_flows
