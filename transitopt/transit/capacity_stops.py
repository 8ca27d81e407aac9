"""Node-level splits for the capacity-constrained transit assignment (``step_rule =
"stops"`` of :func:`~transitopt.transit.capacity.assign_transit_capacity`).

Method: the method of successive averages of Cepeda, Cominetti & Florian (2006), kept on
each destination's own link flows, and after each averaging step ``stops_passes``
*node shifts* (:func:`~transitopt.kernels.transit.node_shift`): every destination's split
at every node is its own variable. Under the current effective frequencies and crowded
costs, each node's expected cost to the destination under the flows' own splits is
compared with its best local choice among the links the destination already uses (the
cheapest no-wait link, or at a stop the optimal common-lines split of its lines, Spiess &
Florian 1989), a share ``stops_gain x`` (relative excess) of the node's outflow moves to
that choice, and each destination's demand is loaded again along the new splits, so the
flows stay conserved. Averaging whole strategies cannot re-split at a stop: its flows keep
the splits of the frequencies at which each response was found, and on crowded networks
most of its remaining gap is there (``docs/model.md``). The full search still supplies
new links (the averaging step), and the relative gap in the history is always the full
search's (Cepeda et al.'s gap function of the flows as they are).

Memory: each destination's flows on every link, two arrays of destinations x links
float64 (136 MB for Transjakarta's 143 zones x 59,261 links).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..kernels import transit as kernels
from .graph import TransitGraph


class NodeShifts:
    """The links leaving each node of ``graph`` (CSR), for :func:`shift_nodes`."""

    def __init__(self, graph: TransitGraph) -> None:
        self.graph = graph
        self.out_links = np.argsort(graph.tail, kind="stable").astype(np.int64)
        self.out_indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(graph.tail, minlength=graph.n_nodes), out=self.out_indptr[1:])


def shift_nodes(
    shifts: NodeShifts,
    matrix: np.ndarray,
    costs_and_freqs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    flows: np.ndarray,
    *,
    wait_factor: float,
    gain: float,
    passes: int,
) -> tuple[np.ndarray, float, int]:
    """``passes`` node shifts (module docstring), each at the effective frequencies and
    crowded costs of the flows before it. ``flows`` (d, m), each destination's flow on
    every link, is updated in place. Returns the new link volumes, the local gap
    measured before the last pass (s: sum over destinations and nodes of the outflow
    times the excess of the current split's cost over the best local choice's) and the
    destinations left as they were because their flows have a cycle."""
    g = shifts.graph
    volume = flows.sum(axis=0)
    local_gap = np.zeros(0)
    reloaded = np.ones(0, dtype=bool)
    for _ in range(passes):
        freq, cost = costs_and_freqs(volume)
        volume, reloaded, local_gap = kernels.node_shift(
            g.head, cost, freq, shifts.out_indptr, shifts.out_links, g.origin_node,
            g.destination_node, matrix, flows, float(wait_factor), float(gain),
        )  # fmt: skip
    return volume, float(local_gap.sum()), int((~reloaded).sum())
