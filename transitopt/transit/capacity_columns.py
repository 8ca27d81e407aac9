"""Strategy columns for the capacity-constrained transit assignment (``step_rule =
"columns"`` of :func:`~transitopt.transit.capacity.assign_transit_capacity`).

Method: a disaggregated simplicial decomposition (Larsson & Patriksson 1992,
"Simplicial decomposition with disaggregated representation for the traffic assignment
problem", Transportation Science 26(1) 4-17) over optimal strategies. For each
destination the run keeps the strategies (*columns*: the attractive links, in the order
they became attractive) that the full optimal-strategies searches have found, and the
destination's flow is a weighted mix of them. Between two full searches, the *restricted
master problem* re-balances each destination's weights without searching: at the
effective frequencies and crowded costs of the current flows, each column's expected
cost is recomputed by the optimal-strategies recurrence over its own links, weight
moves from the dearer columns to the cheapest (a column ``c`` gives ``w_c * min(1,
shift * (C_c - C_min) / C_min)``), and the demand is loaded again on every column,
splitting at each stop in proportion to the *current* effective frequencies. That last
point is what averaging cannot do: MSA's averaged flows keep the splits of the
frequencies at which each all-or-nothing response was found, and on crowded networks
most of their remaining gap is lines carrying flow out of proportion to their effective
frequencies (``docs/model.md``). The restricted passes stop when the *restricted gap*
(``sum_d sum_c w_c (C_c - C_min)`` over the least column costs) is a small share of the
last full gap; the next full search adds one column per destination (none where it
found a strategy already kept). Columns whose weight falls below
:data:`DROP_WEIGHT` are dropped, and at most ``columns_max`` are kept per destination
(the lightest go first).

The relative gap in the history is always the exact one (Cepeda, Cominetti & Florian
2006), of the flows as they are, from the full search.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..kernels import transit as kernels

#: a column whose weight falls below this is dropped (its weight goes to the cheapest)
DROP_WEIGHT = 1e-4


class StrategyColumns:
    """The kept strategies of each destination and their weights.

    Parameters
    ----------
    n_destinations : int
    max_columns : int
        Most columns kept per destination.
    """

    def __init__(self, n_destinations: int, max_columns: int) -> None:
        self.links: list[list[np.ndarray]] = [[] for _ in range(n_destinations)]
        self.weights: list[list[float]] = [[] for _ in range(n_destinations)]
        self.max_columns = max_columns
        self.added = 0

    @property
    def count(self) -> int:
        """Columns kept, all destinations."""
        return sum(len(c) for c in self.links)

    def add(self, orders: np.ndarray, counts: np.ndarray) -> None:
        """Add each destination's new strategy ``orders[q, :counts[q]]`` (weight 0, or 1
        for a destination's first), unless it is one already kept."""
        self.added = 0
        for q, count in enumerate(counts):
            if count == 0:
                continue
            new = orders[q, :count].astype(np.int64)
            kept = self.links[q]
            if any(old.size == new.size and _same_set(old, new) for old in kept):
                continue
            kept.append(new)
            self.weights[q].append(0.0 if self.weights[q] else 1.0)
            self.added += 1
            if len(kept) > self.max_columns:
                lightest = int(np.argmin(self.weights[q][:-1]))
                self._drop(q, lightest)

    def _drop(self, q: int, c: int) -> None:
        weight = self.weights[q].pop(c)
        del self.links[q][c]
        if weight > 0 and self.weights[q]:
            self.weights[q][int(np.argmax(self.weights[q]))] += weight

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(dest_columns, column_indptr, column_links, weight)`` for
        :func:`~transitopt.kernels.transit.column_pass`."""
        sizes = [len(c) for c in self.links]
        dest_columns = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=dest_columns[1:])
        every = [a for c in self.links for a in c]
        column_indptr = np.zeros(len(every) + 1, dtype=np.int64)
        np.cumsum([a.size for a in every], out=column_indptr[1:])
        column_links = np.concatenate(every) if every else np.zeros(0, dtype=np.int64)
        weight = np.array([w for ws in self.weights for w in ws], dtype=np.float64)
        return dest_columns, column_indptr, column_links, weight

    def set_weights(self, weight: np.ndarray) -> None:
        """Take the weights back from the flat array and drop the columns left lighter
        than :data:`DROP_WEIGHT`."""
        p = 0
        for q, ws in enumerate(self.weights):
            n = len(ws)
            self.weights[q] = [float(w) for w in weight[p : p + n]]
            p += n
            for c in range(n - 1, -1, -1):
                if self.weights[q][c] < DROP_WEIGHT and len(self.weights[q]) > 1:
                    self._drop(q, c)


def _same_set(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(np.sort(a), np.sort(b)))


def rebalance(
    columns: StrategyColumns,
    graph: Any,
    matrix: np.ndarray,
    costs_and_freqs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    volume: np.ndarray,
    averaged: np.ndarray,
    wait_links: np.ndarray,
    wait_index: np.ndarray,
    *,
    wait_factor: float,
    shift: float,
    target: float,
    max_passes: int,
) -> tuple[np.ndarray, int, float]:
    """Restricted master passes (module docstring) until the restricted relative gap is
    at most ``target`` or after ``max_passes``.

    The restricted gap of flows ``v`` is the gap function with the least column cost in
    place of the optimal strategies' cost: ``sum_a c_a v_a + alpha sum_d sum_i max_a
    v_a^d / f_a - sum_d min_c C_c``, at the effective frequencies and crowded costs of
    ``v``; at most the true gap, since no column is cheaper than the optimal strategy
    (Larsson & Patriksson's restricted problem bound). Each pass moves the flows a step
    ``s`` from the last accepted flows towards their re-weighted columns' loading (``s =
    1``; halved each time the restricted gap rose, doubled when it fell). ``averaged``
    (d, w), each destination's flow on the waiting links, is updated with the flows.
    Returns the accepted flows (those of the least restricted gap met, evaluated), the
    passes made and their restricted relative gap.
    """
    dest_columns, column_indptr, column_links, weight = columns.flat()
    mixture = np.empty_like(averaged)
    # the last flows evaluated and not worse than those before them, with the weights'
    # update and the columns' loading at their state: (volume, averaged, weight, gap,
    # (loaded volume, loaded averaged, updated weight))
    accepted: tuple | None = None
    step = 1.0
    passes = 0
    for passes in range(1, max_passes + 1):
        freq, cost = costs_and_freqs(volume)
        wait = kernels.wait_totals(graph.tail, freq, wait_links, averaged, graph.n_nodes)
        experienced = float(np.dot(cost, volume) + wait_factor * wait.sum())
        new_weight = weight.copy()
        loaded, _, _, least = kernels.column_pass(
            graph.tail, graph.head, cost, freq, float(wait_factor), graph.n_nodes,
            graph.origin_node, graph.destination_node, matrix, dest_columns, column_indptr,
            column_links, new_weight, float(shift), wait_index, mixture,
        )  # fmt: skip
        total = float(least.sum())
        gap = (experienced - total) / total if total > 0 else 0.0
        if accepted is None or gap <= accepted[3]:
            accepted = (volume, averaged.copy(), weight, gap, (loaded, mixture.copy(), new_weight))
            if gap <= target:
                break
            step = min(1.0, 2.0 * step)
        else:
            step *= 0.5  # worse than the last accepted flows: a shorter step from them
        if passes == max_passes:
            break
        v0, a0, w0, _, (v1, a1, w1) = accepted
        volume = v0 + step * (v1 - v0)
        averaged[:] = a0 + step * (a1 - a0)
        weight = w0 + step * (w1 - w0)
    assert accepted is not None
    volume, averaged[:], weight, restricted = accepted[0], accepted[1], accepted[2], accepted[3]
    columns.set_weights(weight)
    return volume, passes, restricted
