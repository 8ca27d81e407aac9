"""Block Gauss-Seidel sweeps over destinations for the capacity-constrained transit
assignment (``step_rule = "sweeps"`` of
:func:`~transitopt.transit.capacity.assign_transit_capacity`).

The other step rules move all destinations at once (Jacobi): each destination's step
assumes the others stay put. A *sweep* visits the destinations in blocks of
``sweeps_block``: the block's optimal strategies are searched (in parallel) at the
current effective frequencies and crowded costs, then each destination of the block in
turn moves its own flows towards its strategy by its *equal-cost step* (the step at
which its strategy and its current flows cost the same, the effective frequencies and
crowding responding to its own shift; :mod:`transitopt.kernels.transit_sweeps`), at
most ``1 / sqrt(k + 1)`` in sweep ``k``, and the volumes, effective frequencies and
crowded costs are updated before the next destination, which so sees the shifts of
those before it. The block visits cost about one full search (1.1 on Transjakarta). Then
come ``sweeps_focus x`` (destinations with demand) *focus visits*, each the same search
and step for the destination whose gap was largest when last measured, its step at most
``1 / sqrt(n + 2)`` at its ``n``-th focus visit: on crowded networks most of the gap
belongs to a few destinations that alone fill a line (``docs/model.md``), and a visit
costs a search for one destination only. Last, ``sweeps_shift_passes`` node-shift
passes (:mod:`.capacity_stops`, gain ``stops_gain``) re-split each destination's flows at
every node.

Convergence: each destination's gap at its latest search in the sweep (its block visit
or its last focus visit; the gap function of Cepeda, Cominetti & Florian 2006
restricted to its flows, at the state it saw), summed and divided by the sum of their
optimal costs, is only an *estimate* of the relative gap (``sweep_gap_estimate`` in the
history), since the state moves during the sweep. When it falls to ``sweeps_confirm x
tolerance`` (it is mostly above the gap the sweep leaves, its destinations' gaps being
measured before their steps), and after the last sweep, one full search at the state
the sweep left gives the relative gap; the run stops only on that one, as the other
step rules do (the history's ``relative_gap`` is NaN on the other sweeps).

A run that does not converge stops when it *stalls*: when the lowest gap estimate of
the last ``sweeps_stall`` sweeps is not 10 % below the lowest before them (after a
confirming search, with the usual warning). On nearly-full networks the gap levels out
well above 1 % (Bogor's angkots: 3-8 %, ``docs/model.md``), and sweeps up to
``max_iter`` would buy little for their time.

Start: the unconstrained strategies, or an earlier run's per-destination flows (the
``start`` of :func:`~transitopt.transit.capacity.assign_transit_capacity`; the scenario
model's feedback loop passes each iteration's to the next), each destination's loaded
again with the new demand along their splits at every node (``kernels.transit.node_shift``
with no shift), where that delivers the demand the unconstrained strategies deliver.

Memory: each destination's flows on every link, one destinations x links float64
array (68 MB for Transjakarta's 143 zones x 59,261 links), and while a start is loaded
a copy of ``WARM_CHUNK`` destinations' flows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..kernels import transit as kernels
from ..kernels import transit_sweeps as sweep_kernels
from ..kernels._config import sized
from .capacity_stops import NodeShifts, shift_nodes
from .graph import TransitGraph

if TYPE_CHECKING:
    from .capacity import CapacityParameters, _State


#: destinations loaded again at a time in a warm start (a copy of their flows each)
WARM_CHUNK = 32

#: the gap estimate must fall by this share over ``sweeps_stall`` sweeps, else the run
#: has stalled
STALL_DROP = 0.1


@dataclass(frozen=True, eq=False)
class SweepsState:
    """Where a run by sweeps ended, the start of a later one: each destination's flows on
    every link (d, m), the sweeps run so far (those of the run's own start included)
    and each destination's focus visits so far (d,); the later run's step caps go on
    from these counts."""

    flows: np.ndarray
    sweeps: int
    focus_visits: np.ndarray


@dataclass(frozen=True, eq=False)
class SweepsOutcome:
    """What :func:`solve_by_sweeps` leaves: link volumes (m,), the demand that reached
    each destination (d,), the state a later run may start from, the history
    rows (``HISTORY_COLUMNS`` of :mod:`.capacity`), whether the confirmed relative gap
    reached ``params.tolerance``, the last confirmed optimal and experienced total costs
    (s), whether the run stopped because it stalled, and how many destinations with
    demand started from ``start``."""

    volume: np.ndarray
    arrived: np.ndarray
    state: SweepsState
    rows: list[dict]
    converged: bool
    best: float
    experienced: float
    stalled: bool
    warm_destinations: int


def solve_by_sweeps(
    graph: TransitGraph,
    matrix: np.ndarray,
    state: _State,
    params: CapacityParameters,
    costs_and_freqs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    describe: Callable[[np.ndarray], dict[str, float]],
    *,
    wait_factor: float,
    clock: float,
    start: SweepsState | None = None,
) -> SweepsOutcome:
    """Sweeps (module docstring) from the unconstrained assignment, or from ``start``
    (an earlier run's :attr:`SweepsOutcome.state` on the same graph, its flows loaded
    again with ``matrix``), at most ``params.max_iter``.
    ``describe(volume)`` gives the history's columns of the state."""
    p = params
    g = graph
    m = g.n_links
    n_dest = g.destination_node.shape[0]
    alpha = float(wait_factor)
    # each destination's flows on every link, from the unconstrained assignment (the
    # kernel reads a row's old flows, all zero, before writing its response there)
    flows = np.zeros((n_dest, m))
    every_link = np.arange(m, dtype=np.int64)
    no_orders = np.zeros((0, 0), dtype=np.int32)
    no_counts = np.zeros(n_dest, dtype=np.int64)
    volume, arrived, _, _ = kernels.capacity_response(
        g.tail, g.head, g.cost_s, g.freq_hz, g.in_indptr, g.in_links, alpha, g.origin_node,
        g.destination_node, matrix, every_link, every_link, flows, flows, no_orders, no_counts,
    )  # fmt: skip
    shifts = NodeShifts(g)  # the node shifts' and a warm start's out-link lists
    warm = 0
    if start is not None:
        volume, warm = _warm_start(shifts, matrix, flows, start.flows, arrived, alpha)

    link_places = np.zeros(m)
    link_places[state.board] = state.board_places
    link_dwell = np.full(m, -1, dtype=np.int64)
    link_dwell[state.board] = state.board_dwell
    link_seats = np.full(m, -1.0)
    if p.crowding:
        link_seats[state.in_vehicle] = state.iv_seats
    curve = np.array(
        [
            p.seated_free_load,
            p.seated_full_multiplier,
            p.seated_over_multiplier,
            p.standing_multiplier,
        ]
    )
    base_cost = np.ascontiguousarray(g.cost_s, dtype=np.float64)
    in_vehicle_s = np.ascontiguousarray(g.in_vehicle_s, dtype=np.float64)
    nominal_freq = np.ascontiguousarray(g.freq_hz, dtype=np.float64)
    _, _, _, _, dem_indptr, dem_origin, dem_value = kernels._assign_setup(
        g.n_nodes, 0, g.origin_node, n_dest, matrix, False
    )
    order = np.flatnonzero(np.diff(dem_indptr) > 0).astype(np.int64)
    size = max(1, int(p.sweeps_block))
    blocks = [order[s : s + size] for s in range(0, order.size, size)]
    response = np.zeros((size, m))
    steps = np.zeros(size)
    own_gap = np.zeros(size)
    best_q = np.zeros(size)
    kernel = sized(sweep_kernels.sweep_block, order.size * m)
    pool = sweep_kernels.sweep_pool(g.n_nodes, m, size)

    # the full search that confirms a gap, on the waiting links only
    wait_links = np.flatnonzero(np.isfinite(g.freq_hz)).astype(np.int64)
    wait_index = np.full(m, -1, dtype=np.int64)
    wait_index[wait_links] = np.arange(wait_links.size)
    confirm_response = np.zeros((n_dest, wait_links.size))

    def confirm(
        volume: np.ndarray, freq: np.ndarray, cost: np.ndarray
    ) -> tuple[float, float, float, float]:
        # optimal, experienced (the gap function's terms), waiting-gap and flow-gap terms
        averaged = np.ascontiguousarray(flows[:, wait_links])
        response_volume, _, strategy_cost, averaged_wait = kernels.capacity_response(
            g.tail, g.head, cost, freq, g.in_indptr, g.in_links, alpha, g.origin_node,
            g.destination_node, matrix, wait_links, wait_index, averaged, confirm_response,
            no_orders, no_counts,
        )  # fmt: skip
        best = float(strategy_cost.sum())
        experienced = float((cost * volume).sum() + averaged_wait.sum())
        wait_gap = float(averaged_wait.sum() - (best - (cost * response_volume).sum()))
        line = state.line_links
        total = volume[line].sum()
        flow_gap = (
            float(np.abs(response_volume[line] - volume[line]).sum() / total) if total > 0 else 0.0
        )
        return best, experienced, wait_gap, flow_gap

    def visit(
        block: np.ndarray,
        caps: np.ndarray,
        volume: np.ndarray,
        cost: np.ndarray,
        freq: np.ndarray,
    ) -> None:
        # search ``block``'s strategies and take their steps (at most ``caps``), updating
        # the flows and the state in place; results into steps, own_gap, best_q
        kernel(
            g.tail, g.head, g.in_indptr, g.in_links, base_cost, in_vehicle_s, nominal_freq,
            link_places, link_dwell, link_seats, curve, float(p.beta),
            float(p.min_frequency_share), alpha, g.origin_node, g.destination_node,
            dem_indptr, dem_origin, dem_value, block, flows, volume, cost, freq, response,
            caps, steps, own_gap, best_q, pool,
        )  # fmt: skip

    # focus visits (module docstring): per sweep, each destination's gap last measured
    # and how often it was visited so (its steps shrink with that count)
    n_focus = int(round(p.sweeps_focus * order.size))
    last_gap = np.zeros(n_dest)
    last_best = np.zeros(n_dest)
    focus_visits = np.zeros(n_dest) if start is None else start.focus_visits.copy()
    done = 0 if start is None else start.sweeps  # the step caps go on from the start's
    one = np.zeros(1, dtype=np.int64)
    focus_cap = np.zeros(1)
    rows: list[dict] = []
    estimates: list[float] = []
    converged = stalled = False
    best = experienced = math.nan
    for k in range(1, p.max_iter + 1):
        freq, cost = costs_and_freqs(volume)
        freq = np.array(freq, dtype=np.float64)  # updated in place by the kernel
        cost = np.array(cost, dtype=np.float64)
        caps = np.full(size, 1.0 / math.sqrt(done + k + 1.0))
        step_sum = 0.0
        for block in blocks:
            b = block.size
            visit(block, caps, volume, cost, freq)
            step_sum += float(steps[:b].sum())
            last_gap[block] = own_gap[:b]
            last_best[block] = best_q[:b]
        # focus visits: the destination with the largest gap last measured, again
        for _ in range(n_focus):
            q = int(np.argmax(last_gap))
            if not last_gap[q] > 0.0:
                break
            focus_visits[q] += 1
            one[0] = q
            focus_cap[0] = 1.0 / math.sqrt(focus_visits[q] + 2.0)
            visit(one, focus_cap, volume, cost, freq)
            last_gap[q] = own_gap[0]
            last_best[q] = best_q[0]
        volume = flows.sum(axis=0)  # the incremental updates summed again (rounding)
        local_gap = math.nan
        if p.sweeps_shift_passes > 0:
            volume, local_gap, _ = shift_nodes(
                shifts, matrix, costs_and_freqs, flows, wait_factor=alpha, gain=p.stops_gain,
                passes=p.sweeps_shift_passes,
            )  # fmt: skip
        sweep_best = float(last_best.sum())
        estimate = float(last_gap.sum()) / sweep_best if sweep_best > 0 else 0.0
        row = {
            "iteration": k,
            "relative_gap": math.nan,
            "gap_s": math.nan,
            "wait_gap_s": math.nan,
            "flow_gap": math.nan,
            "step": step_sum / max(order.size, 1),
            **describe(volume),
            "cpu_s": math.nan,
            "restricted_passes": 0,
            "restricted_gap": math.nan,
            "columns": 0,
            "local_gap_s": local_gap,
            "sweep_gap_estimate": estimate,
        }
        estimates.append(estimate)
        stalled = _stalled(estimates, p.sweeps_stall)
        if estimate <= p.sweeps_confirm * p.tolerance or k == p.max_iter or stalled:
            # the relative gap of the state the sweep left: one full search
            freq, cost = costs_and_freqs(volume)
            best, experienced, wait_gap, flow_gap = confirm(volume, freq, cost)
            gap_s = experienced - best
            relative_gap = gap_s / best if best > 0 else 0.0
            row.update(
                relative_gap=relative_gap, gap_s=gap_s, wait_gap_s=wait_gap, flow_gap=flow_gap
            )
            converged = relative_gap <= p.tolerance or best == 0
        row["cpu_s"] = time.process_time() - clock
        rows.append(row)
        if converged or stalled:
            break
    ended = SweepsState(flows, done + len(rows), focus_visits)
    return SweepsOutcome(volume, arrived, ended, rows, converged, best, experienced, stalled, warm)


def _stalled(estimates: list[float], window: int) -> bool:
    """Whether the lowest gap estimate of the last ``window`` sweeps is not
    ``STALL_DROP`` below the lowest before them (never with ``window`` 0)."""
    if window <= 0 or len(estimates) <= window:
        return False
    before = min(estimates[:-window])
    return min(estimates[-window:]) > (1.0 - STALL_DROP) * before


def _warm_start(
    shifts: NodeShifts,
    matrix: np.ndarray,
    flows: np.ndarray,
    start_flows: np.ndarray,
    arrived: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, int]:
    """Replace, in place, each destination's unconstrained flows ``flows`` by its
    ``start_flows`` loaded again with ``matrix`` along their splits at every node, where
    that delivers the demand the unconstrained strategies deliver (``arrived``): not
    where the new demand has an origin the start's flows do not leave from, nor where
    the start's flows have a cycle. Returns the link volumes and how many destinations
    with demand start warm."""
    g = shifts.graph
    same = np.zeros(flows.shape[0], dtype=np.bool_)
    for first in range(0, flows.shape[0], WARM_CHUNK):  # a chunk's copy at a time (memory)
        chunk = slice(first, first + WARM_CHUNK)
        reload = np.array(start_flows[chunk], dtype=np.float64)  # loaded again in place
        destinations = g.destination_node[chunk]
        _, acyclic, _ = kernels.node_shift(
            g.head, g.cost_s, g.freq_hz, shifts.out_indptr, shifts.out_links, g.origin_node,
            destinations, np.ascontiguousarray(matrix[:, chunk]), reload, alpha, 0.0,
        )  # fmt: skip
        delivered = np.array(
            [
                reload[q, g.in_links[g.in_indptr[node] : g.in_indptr[node + 1]]].sum()
                for q, node in enumerate(destinations)
            ]
        )
        ok = acyclic & np.isclose(delivered, arrived[chunk], rtol=1e-9, atol=1e-9)
        flows[chunk][ok] = reload[ok]
        same[chunk] = ok
    return flows.sum(axis=0), int((same & (matrix.sum(axis=0) > 0)).sum())
