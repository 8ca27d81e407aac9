"""The node-elimination kernel against a slow, obviously-correct Python reference.

The reference is the pure-Python elimination the AON core graph used before the kernel
(out-edges in dicts, in-neighbours in sets, ``heapq`` of ``(gain, node)``); the kernel
must return the same arrays exactly.
"""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from transitopt.kernels.elimination import eliminate_nodes


def reference_eliminate(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    protect: np.ndarray,
    max_added: int,
) -> tuple[np.ndarray, ...]:
    """Eliminate unprotected nodes of the graph ``tail -> head``, cheapest first, while
    one adds at most ``max_added`` more edges than it removes.

    Returns ``(op_sum, op_a, op_b, core_of, core_indptr, core_head, core_tail,
    core_edge)``: derived edge ``m + k`` (``m = tail.size``) is ``op_a[k] + op_b[k]``
    where ``op_sum[k]``, else the cheaper of the two; ``core_of[v]`` is the core index
    of node ``v`` (-1: eliminated) and the core CSR's edge ``e`` is edge ``core_edge[e]``.
    """
    m = tail.size
    out: list[dict[int, int]] = [{} for _ in range(n)]
    inn: list[set[int]] = [set() for _ in range(n)]
    ops: list[tuple[bool, int, int]] = []

    def add(i: int, o: int, e: int) -> None:
        old = out[i].get(o)
        if old is None:
            out[i][o] = e
            inn[o].add(i)
        else:
            ops.append((False, old, e))
            out[i][o] = m + len(ops) - 1

    for e in range(m):
        a, b = int(tail[e]), int(head[e])
        if a != b:
            add(a, b, e)

    def gain(v: int) -> int:
        new = 0
        for i in inn[v]:
            oi = out[i]
            for o in out[v]:
                if o != i and o not in oi:
                    new += 1
        return new - len(inn[v]) - len(out[v])

    heap = [(gain(v), v) for v in range(n) if not protect[v]]
    heapq.heapify(heap)
    dead = np.zeros(n, dtype=bool)
    while heap:
        g, v = heapq.heappop(heap)
        if dead[v]:
            continue
        now = gain(v)
        if now != g:
            heapq.heappush(heap, (now, v))
            continue
        if g > max_added:
            break
        dead[v] = True
        outs = list(out[v].items())
        for i in sorted(inn[v]):
            e_in = out[i].pop(v)
            for o, e_out in outs:
                if o != i:
                    ops.append((True, e_in, e_out))
                    add(i, o, m + len(ops) - 1)
        for o, _ in outs:
            inn[o].discard(v)
        touched = inn[v] | set(out[v])
        inn[v] = set()
        out[v] = {}
        for x in touched:
            if not protect[x] and not dead[x]:
                heapq.heappush(heap, (gain(x), x))
    core_of = np.full(n, -1, dtype=np.int64)
    alive = np.flatnonzero(~dead)
    core_of[alive] = np.arange(alive.size)
    indptr = np.zeros(alive.size + 1, dtype=np.int64)
    c_head: list[int] = []
    c_edge: list[int] = []
    for k, node in enumerate(alive.tolist()):
        for o, e in out[node].items():
            c_head.append(int(core_of[o]))
            c_edge.append(e)
        indptr[k + 1] = len(c_head)
    core_tail = np.repeat(np.arange(alive.size, dtype=np.int64), np.diff(indptr))
    op_arr = np.array(ops, dtype=np.int64).reshape(-1, 3)
    return (
        np.ascontiguousarray(op_arr[:, 0].astype(np.bool_)),
        np.ascontiguousarray(op_arr[:, 1]),
        np.ascontiguousarray(op_arr[:, 2]),
        core_of,
        indptr,
        np.array(c_head, dtype=np.int64),
        core_tail,
        np.array(c_edge, dtype=np.int64),
    )


def _grid(side, rng):
    node = np.arange(side * side).reshape(side, side)
    a = np.r_[node[:, :-1].ravel(), node[:-1, :].ravel()]
    b = np.r_[node[:, 1:].ravel(), node[1:, :].ravel()]
    keep = rng.random(a.size) < 0.9
    one_way = rng.random(a.size) < 0.2
    tail = np.r_[a[keep], b[keep & ~one_way]]
    head = np.r_[b[keep], a[keep & ~one_way]]
    return side * side, tail, head


def _random(n, m, rng):
    tail = rng.integers(0, n, m)
    head = rng.integers(0, n, m)  # self-loops and parallel edges included
    return n, tail, head


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("max_added", [0, 4, 32, 10_000])
def test_kernel_equals_reference(seed, max_added):
    rng = np.random.default_rng(seed)
    n, tail, head = _grid(9 + seed, rng) if seed % 2 == 0 else _random(60, 240, rng)
    protect = rng.random(n) < 0.1
    want = reference_eliminate(n, tail, head, protect, max_added)
    got = eliminate_nodes(n, tail.astype(np.int64), head.astype(np.int64), protect, max_added)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_contraction_within_its_limit_is_never_given_up_early(seed):
    # contract_all stops early once its count of derived edges shows it will pass
    # max_ops (elimination._hopeless: street networks have small separators, so the
    # count grows faster than the share of nodes contracted); on street-like grids (one
    # way streets, missing links, some nodes no-through) a contraction that ends at
    # max_ops exactly must still finish, one limit below it must not
    from transitopt.kernels.elimination import contract_all

    rng = np.random.default_rng(seed)
    n, tail, head = _grid(20 + 6 * seed, rng)
    tail, head = tail.astype(np.int64), head.astype(np.int64)
    no_through = rng.random(n) < 0.05
    full = contract_all(n, tail, head, no_through, 10**12)
    assert full[0].size == n
    total = full[1].size  # derived edges of the whole contraction
    assert total > 4 * tail.size  # far past the rule's slack (the graph's edges)
    assert contract_all(n, tail, head, no_through, total)[0].size == n
    assert contract_all(n, tail, head, no_through, total - 1)[0].size == 0
