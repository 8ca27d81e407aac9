"""Convergence bookkeeping shared by every equilibrium algorithm.

The relative gap of a car flow ``x`` is ``(TSTT - SPTT) / TSTT`` with
``TSTT = sum_a x_a c_a(x)`` and ``SPTT = sum_od demand_od * shortest cost_od(c(x))``
(generalised costs, seconds); the average excess cost is ``(TSTT - SPTT) / demand``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .._errors import NumericalError
from .._progress import ProgressCallback, wants_stop
from ..kernels.vdf import beckmann
from ._problem import Problem

#: columns of ``AssignmentResult.history``
#: a relative gap this far below zero is float rounding at convergence, not an error
ROUNDING_GAP = 1e-9

HISTORY_COLUMNS = (
    "iteration",
    "relative_gap",
    "average_excess_cost_s",
    "objective",
    "tstt",
    "sptt",
    "step",
    "direction",
    "time_s",
)


@dataclass
class Monitor:
    """Records one row per iteration and decides when to stop.

    ``progress(row)`` is called with each history row (a dict); returning ``False``
    stops the run (cancellation; :mod:`transitopt._progress`).
    """

    problem: Problem
    gap: float
    max_iter: int
    time_limit_s: float | None
    progress: ProgressCallback | None = None
    #: assignable demand (PCU/h over all classes); default ``problem.total_demand``
    demand: float | None = None
    rows: list = field(default_factory=list)
    start: float = field(default_factory=time.perf_counter)
    stop_reason: str = ""

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.start

    def record(
        self,
        iteration: int,
        flow: np.ndarray,
        cost: np.ndarray,
        sptt: float,
        *,
        step: float = np.nan,
        direction: str = "",
        tstt: float | None = None,
        objective: float | None = None,
    ) -> bool:
        """Record the state ``flow`` (with link costs ``cost`` and shortest-path total ``sptt``).

        Returns ``True`` when the run should stop: gap reached, iteration or time limit,
        or the progress callback asked to. ``tstt`` and ``objective``, when given, replace
        the single-class ``flow . cost`` and Beckmann objective (multi-class runs).
        """
        p = self.problem
        if tstt is None:
            used = flow > 0.0
            # not np.dot: OpenBLAS threads busy-wait after a call (Berlin-Center: 20-30 ms
            # CPU per iteration, on the cores the next all-or-nothing search needs)
            tstt = float((flow[used] * cost[used]).sum())
        if objective is None:
            objective = beckmann(flow, *p.vdf_args)
        demand = p.total_demand if self.demand is None else self.demand
        rel_gap = (tstt - sptt) / tstt if tstt > 0.0 else 0.0
        elapsed = self.elapsed()
        row = {
            "iteration": iteration,
            "relative_gap": rel_gap,
            "average_excess_cost_s": (tstt - sptt) / demand if demand > 0 else 0.0,
            "objective": objective,
            "tstt": tstt,
            "sptt": sptt,
            "step": step,
            "direction": direction,
            "time_s": elapsed,
        }
        if not math.isfinite(rel_gap) or rel_gap < -ROUNDING_GAP:
            raise NumericalError(
                f"road assignment iteration {iteration}: relative gap {rel_gap:.3g} (total "
                f"travel time {tstt:.6g} veh·s/h, shortest-path total {sptt:.6g}); a gap must be a "
                "finite number >= 0, so the demand or the link costs are out of range "
                "(check for huge trip numbers, zero capacities or extreme VDF parameters)"
            )
        self.rows.append(row)
        cancel = wants_stop(self.progress, dict(row))
        if rel_gap <= self.gap:
            self.stop_reason = "gap"
        elif iteration >= self.max_iter:
            self.stop_reason = "max_iter"
        elif self.time_limit_s is not None and elapsed >= self.time_limit_s:
            self.stop_reason = "time_limit"
        elif cancel:
            self.stop_reason = "cancelled"
        return bool(self.stop_reason)

    @property
    def converged(self) -> bool:
        """Whether the gap target was reached."""
        return self.stop_reason == "gap"
