"""Node elimination for the all-or-nothing core graph (see :mod:`.assignment`).

Nodes of a directed graph are eliminated one after the other, the one whose removal adds
the fewest edges first, while one adds at most ``max_added`` more edges than it removes.
Each path ``i -> v -> o`` through an eliminated node ``v`` becomes a derived edge
``i -> o``; where ``i -> o`` exists already, a second derived edge takes the cheaper of
the two. The order of operations is that of the reference implementation in
``tests/test_kernels_elimination.py`` (out-edges kept in insertion order, in-neighbours
visited in increasing order, ties in the heap broken by node index), so the result is
the same, array for array.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.typed import Dict, List

from ._config import njit

_INT = types.int64


@njit
def _less(key, node, a, b):
    """Entry ``a`` before entry ``b``: smaller gain, then smaller node."""
    return key[a] < key[b] or (key[a] == key[b] and node[a] < node[b])


@njit
def _push(key, node, size, g, v):
    """Push ``(g, v)`` onto the binary heap of ``size`` entries (arrays grown by the
    caller); returns the new size."""
    i = size
    key[i] = g
    node[i] = v
    while i > 0:
        p = (i - 1) // 2
        if not _less(key, node, i, p):
            break
        key[i], key[p] = key[p], key[i]
        node[i], node[p] = node[p], node[i]
        i = p
    return size + 1


@njit
def _pop(key, node, size):
    """Remove the smallest ``(gain, node)``; returns ``(gain, node, new size)``."""
    g = key[0]
    v = node[0]
    size -= 1
    key[0] = key[size]
    node[0] = node[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _less(key, node, c + 1, c):
            c += 1
        if not _less(key, node, c, i):
            break
        key[i], key[c] = key[c], key[i]
        node[i], node[c] = node[c], node[i]
        i = c
    return g, v, size


@njit
def _gain(v, out, inn):
    """Edges added minus edges removed by eliminating ``v``."""
    new = 0
    for i in inn[v]:
        oi = out[i]
        for o in out[v]:
            if o != i and o not in oi:
                new += 1
    return new - len(inn[v]) - len(out[v])


@njit
def _add(i, o, e, out, inn, ops_kind, ops_a, ops_b, n_ops, m):
    """Edge ``e`` from ``i`` to ``o`` (a min with the existing one if there is one);
    returns the new number of operations (ops arrays grown by the caller)."""
    if o in out[i]:
        old = out[i][o]
        ops_kind[n_ops] = 0
        ops_a[n_ops] = old
        ops_b[n_ops] = e
        out[i][o] = m + n_ops
        return n_ops + 1
    out[i][o] = e
    inn[o][i] = True
    return n_ops


@njit
def _grow(a, need):
    """``a`` with room for at least ``need`` entries."""
    if need <= a.size:
        return a
    b = np.empty(max(need, 2 * a.size), dtype=a.dtype)
    b[: a.size] = a
    return b


@njit
def _adjacency(n, tail, head, cap):
    """Out- and in-adjacency of ``tail -> head`` (parallel edges merged into derived
    "min" edges, self-loops dropped): ``(out, inn, ops_kind, ops_a, ops_b, n_ops)``."""
    m = tail.size
    out = List()
    inn = List()
    for _ in range(n):
        out.append(Dict.empty(key_type=_INT, value_type=_INT))
        inn.append(Dict.empty(key_type=_INT, value_type=types.boolean))
    ops_kind = np.empty(cap, dtype=np.int64)  # 1: a sum, 0: a min
    ops_a = np.empty(cap, dtype=np.int64)
    ops_b = np.empty(cap, dtype=np.int64)
    n_ops = 0
    for e in range(m):
        a = tail[e]
        b = head[e]
        if a != b:
            ops_kind = _grow(ops_kind, n_ops + 1)
            ops_a = _grow(ops_a, n_ops + 1)
            ops_b = _grow(ops_b, n_ops + 1)
            n_ops = _add(a, b, e, out, inn, ops_kind, ops_a, ops_b, n_ops, m)
    return out, inn, ops_kind, ops_a, ops_b, n_ops


@njit
def eliminate_nodes(n, tail, head, protect, max_added):
    """Eliminate unprotected nodes of the graph ``tail -> head`` (see the module doc).

    Returns ``(op_sum, op_a, op_b, core_of, core_indptr, core_head, core_tail,
    core_edge)``: derived edge ``m + k`` (``m = tail.size``) is ``op_a[k] + op_b[k]``
    where ``op_sum[k]``, else the cheaper of the two; ``core_of[v]`` is the core index of
    node ``v`` (-1: eliminated) and the core CSR's edge ``e`` is edge ``core_edge[e]``.
    """
    m = tail.size
    cap = max(16, m)
    out, inn, ops_kind, ops_a, ops_b, n_ops = _adjacency(n, tail, head, cap)

    h_key = np.empty(max(16, 2 * n), dtype=np.int64)
    h_node = np.empty(max(16, 2 * n), dtype=np.int64)
    size = 0
    for v in range(n):
        if not protect[v]:
            size = _push(h_key, h_node, size, _gain(v, out, inn), v)
    dead = np.zeros(n, dtype=np.bool_)
    stamp = np.full(n, -1, dtype=np.int64)  # the node whose elimination last touched it
    while size > 0:
        g, v, size = _pop(h_key, h_node, size)
        if dead[v]:
            continue
        now = _gain(v, out, inn)
        if now != g:
            h_key = _grow(h_key, size + 1)
            h_node = _grow(h_node, size + 1)
            size = _push(h_key, h_node, size, now, v)
            continue
        if g > max_added:
            break
        dead[v] = True
        n_out = len(out[v])
        outs_o = np.empty(n_out, dtype=np.int64)
        outs_e = np.empty(n_out, dtype=np.int64)
        k = 0
        for o, e_out in out[v].items():
            outs_o[k] = o
            outs_e[k] = e_out
            k += 1
        ins = np.empty(len(inn[v]), dtype=np.int64)
        k = 0
        for i in inn[v]:
            ins[k] = i
            k += 1
        ins.sort()
        for i in ins:
            e_in = out[i].pop(v)
            need = n_ops + 2 * n_out
            ops_kind = _grow(ops_kind, need)
            ops_a = _grow(ops_a, need)
            ops_b = _grow(ops_b, need)
            for k in range(n_out):
                o = outs_o[k]
                if o != i:
                    ops_kind[n_ops] = 1
                    ops_a[n_ops] = e_in
                    ops_b[n_ops] = outs_e[k]
                    n_ops += 1
                    n_ops = _add(i, o, m + n_ops - 1, out, inn, ops_kind, ops_a, ops_b, n_ops, m)
        for o in outs_o:
            if v in inn[o]:
                inn[o].pop(v)
        # every touched neighbour once, with its new gain
        touched = np.concatenate((ins, outs_o))
        h_key = _grow(h_key, size + touched.size)
        h_node = _grow(h_node, size + touched.size)
        for x in touched:
            if not protect[x] and not dead[x] and stamp[x] != v:
                stamp[x] = v
                size = _push(h_key, h_node, size, _gain(x, out, inn), x)
        inn[v] = Dict.empty(key_type=_INT, value_type=types.boolean)
        out[v] = Dict.empty(key_type=_INT, value_type=_INT)

    core_of = np.full(n, -1, dtype=np.int64)
    n_alive = 0
    m_core = 0
    for v in range(n):
        if not dead[v]:
            core_of[v] = n_alive
            n_alive += 1
            m_core += len(out[v])
    indptr = np.zeros(n_alive + 1, dtype=np.int64)
    c_head = np.empty(m_core, dtype=np.int64)
    c_tail = np.empty(m_core, dtype=np.int64)
    c_edge = np.empty(m_core, dtype=np.int64)
    k = 0
    for v in range(n):
        if dead[v]:
            continue
        c = core_of[v]
        for o, e in out[v].items():
            c_head[k] = core_of[o]
            c_tail[k] = c
            c_edge[k] = e
            k += 1
        indptr[c + 1] = k
    return (
        ops_kind[:n_ops] == 1,
        ops_a[:n_ops].copy(),
        ops_b[:n_ops].copy(),
        core_of,
        indptr,
        c_head,
        c_tail,
        c_edge,
    )


@njit
def _record(arr, k, value):
    """``arr`` (grown if needed) with ``arr[k] = value``."""
    arr = _grow(arr, k + 1)
    arr[k] = value
    return arr


@njit
def _hopeless(n_ops, max_ops, n_done, n_total, m):
    """True where a contraction that has made ``n_ops`` derived edges after eliminating
    ``n_done`` of its ``n_total`` ordinary (not no-through) nodes will pass ``max_ops``.

    The count grows faster than linearly in the nodes eliminated (the last nodes have the
    most neighbours), so a contraction that ends under ``max_ops`` stays under
    ``max_ops · f² + m`` at every share ``f`` of them (``m``: the graph's edges); checked
    past ``max_ops / 16`` only. Largest share of that bound reached (core graphs of
    :func:`eliminate_nodes` at 32 added edges): Chicago-Sketch 0.34, Berlin-Center 0.21,
    Sydney 0.19; a 30,000-node street grid passes it at f = 0.075 (250,000 derived
    edges; it would reach 4 million at f = 0.5, 20 million at f = 0.7). Graphs without
    small separators (random graphs) fill up early and can be given up although they
    would have ended within ``max_ops``: a slower search then, the same answers.
    """
    if n_ops > max_ops:
        return True
    if 16 * n_ops <= max_ops:
        return False
    f = n_done / max(1, n_total)
    return n_ops > max_ops * f * f + m


@njit
def contract_all(n, tail, head, no_through, max_ops):
    """Eliminate every node of the graph ``tail -> head``: a contraction hierarchy.

    The ``no_through`` nodes (centroids) go first, in index order and without derived
    edges (no path passes through them); then the others, the one whose removal adds the
    fewest edges first, every path ``i -> v -> o`` through an eliminated ``v`` becoming a
    derived edge ``i -> o`` as in :func:`eliminate_nodes`. A node's *rank* is its place in
    that order. When ``v`` is eliminated, its edges to nodes still there are its *up* edges
    (``v -> o``, ``o`` ranked higher) and *down* edges (``i -> v``, ``i`` ranked higher).

    Returns ``(rank_of, op_sum, op_a, op_b, up_ptr, up_head, up_edge, down_ptr,
    down_tail, down_edge)``: derived edge ``m + k`` as in :func:`eliminate_nodes`; the up
    edges of the node of rank ``r`` are ``up_ptr[r]:up_ptr[r+1]``, to ranks ``up_head``,
    edge ids ``up_edge``; its down edges ``down_ptr[r]:down_ptr[r+1]`` come from ranks
    ``down_tail``, edge ids ``down_edge``. Every edge left is one up or one down edge.
    Gives up once more than ``max_ops`` derived edges are made (dense graphs, grids),
    or early, once the count so far shows it will (:func:`_hopeless`): ``rank_of`` is
    then empty.
    """
    m = tail.size
    cap = max(16, m)
    out, inn, ops_kind, ops_a, ops_b, n_ops = _adjacency(n, tail, head, cap)
    order = np.empty(n, dtype=np.int64)
    up_ptr = np.zeros(n + 1, dtype=np.int64)
    down_ptr = np.zeros(n + 1, dtype=np.int64)
    up_head = np.empty(cap, dtype=np.int64)
    up_edge = np.empty(cap, dtype=np.int64)
    down_tail = np.empty(cap, dtype=np.int64)
    down_edge = np.empty(cap, dtype=np.int64)
    n_up = 0
    n_down = 0
    dead = np.zeros(n, dtype=np.bool_)
    stamp = np.full(n, -1, dtype=np.int64)
    h_key = np.empty(max(16, 2 * n), dtype=np.int64)
    h_node = np.empty(max(16, 2 * n), dtype=np.int64)
    size = 0
    r = 0
    n_first = 0  # no-through nodes, eliminated first
    for v in range(n):
        if no_through[v]:
            n_first += 1
    phase = 0  # 0: the no-through nodes in index order, 1: the others by the heap
    v0 = 0
    while True:
        if phase == 0:
            while v0 < n and not no_through[v0]:
                v0 += 1
            if v0 == n:
                phase = 1
                for v in range(n):
                    if not no_through[v]:
                        size = _push(h_key, h_node, size, _gain(v, out, inn), v)
                continue
            v = v0
            v0 += 1
        else:
            if size == 0:
                break
            g, v, size = _pop(h_key, h_node, size)
            if dead[v]:
                continue
            now = _gain(v, out, inn)
            if now != g:
                h_key = _grow(h_key, size + 1)
                h_node = _grow(h_node, size + 1)
                size = _push(h_key, h_node, size, now, v)
                continue
        dead[v] = True
        order[r] = v
        n_out = len(out[v])
        outs_o = np.empty(n_out, dtype=np.int64)
        outs_e = np.empty(n_out, dtype=np.int64)
        k = 0
        for o, e_out in out[v].items():
            outs_o[k] = o
            outs_e[k] = e_out
            up_head = _record(up_head, n_up, o)
            up_edge = _record(up_edge, n_up, e_out)
            n_up += 1
            k += 1
        ins = np.empty(len(inn[v]), dtype=np.int64)
        k = 0
        for i in inn[v]:
            ins[k] = i
            k += 1
        ins.sort()
        for i in ins:
            e_in = out[i].pop(v)
            down_tail = _record(down_tail, n_down, i)
            down_edge = _record(down_edge, n_down, e_in)
            n_down += 1
            if phase == 0:
                continue
            need = n_ops + 2 * n_out
            ops_kind = _grow(ops_kind, need)
            ops_a = _grow(ops_a, need)
            ops_b = _grow(ops_b, need)
            for k in range(n_out):
                o = outs_o[k]
                if o != i:
                    ops_kind[n_ops] = 1
                    ops_a[n_ops] = e_in
                    ops_b[n_ops] = outs_e[k]
                    n_ops += 1
                    n_ops = _add(i, o, m + n_ops - 1, out, inn, ops_kind, ops_a, ops_b, n_ops, m)
        if _hopeless(n_ops, max_ops, r + 1 - n_first, n - n_first, m):
            empty = np.empty(0, dtype=np.int64)
            return (
                empty, ops_kind[:0] == 1, empty, empty, empty, empty, empty, empty, empty, empty,
            )  # fmt: skip
        for o in outs_o:
            if v in inn[o]:
                inn[o].pop(v)
        if phase == 1:
            touched = np.concatenate((ins, outs_o))
            h_key = _grow(h_key, size + touched.size)
            h_node = _grow(h_node, size + touched.size)
            for x in touched:
                if not dead[x] and stamp[x] != v:
                    stamp[x] = v
                    size = _push(h_key, h_node, size, _gain(x, out, inn), x)
        inn[v] = Dict.empty(key_type=_INT, value_type=types.boolean)
        out[v] = Dict.empty(key_type=_INT, value_type=_INT)
        r += 1
        up_ptr[r] = n_up
        down_ptr[r] = n_down
    rank_of = np.empty(n, dtype=np.int64)
    for k in range(n):
        rank_of[order[k]] = k
    for k in range(n_up):
        up_head[k] = rank_of[up_head[k]]
    for k in range(n_down):
        down_tail[k] = rank_of[down_tail[k]]
    return (
        rank_of,
        ops_kind[:n_ops] == 1,
        ops_a[:n_ops].copy(),
        ops_b[:n_ops].copy(),
        up_ptr,
        up_head[:n_up].copy(),
        up_edge[:n_up].copy(),
        down_ptr,
        down_tail[:n_down].copy(),
        down_edge[:n_down].copy(),
    )
