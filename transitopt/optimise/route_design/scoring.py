"""Scoring route sets: the kernel evaluation, the weighted objective and the Pareto archive."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...kernels.tndp import evaluate_routes_fast, route_network_connected
from .network import LinkNetwork, Routes, flatten_routes
from .rules import RULE_PENALTY, FleetWait, RouteRules

#: minutes of TRT per minute of ATT in the operator objective: breaks TRT ties by ATT
_OPERATOR_ATT_WEIGHT = 0.01

#: a route set frozen for the archive
FrozenRoutes = tuple[tuple[int, ...], ...]


class ParetoArchive:
    """Non-dominated (ATT, TRT) route sets seen so far."""

    def __init__(self) -> None:
        self.entries: list[tuple[float, float, FrozenRoutes]] = []

    def add(self, att: float, trt: float, routes: Sequence[Sequence[int]]) -> None:
        """Keep the route set unless another dominates it; drop those it dominates."""
        for a, t, _ in self.entries:
            if a <= att and t <= trt:
                return
        self.entries = [(a, t, r) for a, t, r in self.entries if not (att <= a and trt <= t)]
        self.entries.append((att, trt, tuple(tuple(r) for r in routes)))

    def table(self, node_id: np.ndarray) -> pd.DataFrame:
        """Columns ``att``, ``trt`` (minutes) and ``routes`` (node ids), by TRT then ATT."""
        rows = sorted(self.entries, key=lambda x: (x[1], x[0]))
        return pd.DataFrame(
            {
                "att": [a for a, _, _ in rows],
                "trt": [t for _, t, _ in rows],
                "routes": [[[int(node_id[s]) for s in r] for r in rs] for _, _, rs in rows],
            }
        )


class RouteSetScorer:
    """Evaluates route sets, counts the evaluations and archives the non-dominated ones.

    The objective blends ATT and TRT by ``weight``: 1 is ATT alone (minutes), 0 is TRT
    with ATT as a tie-breaker, in between each is scaled by its value at the start of
    the current annealing run (see :meth:`scale_to`).

    With ``fleet_wait``, the ATT-only objective (weight 1) becomes ``ATT + wait ×
    boardings per trip`` plus, when priced, the operating cost per trip
    (:class:`~.rules.FleetWait`). With active ``rules``, each route
    set's rule excess times :data:`~.rules.RULE_PENALTY` is added to the objective and
    only route sets that keep every rule enter the archive.
    """

    def __init__(
        self,
        network: LinkNetwork,
        penalty_min: float,
        *,
        rules: RouteRules | None = None,
        fleet_wait: FleetWait | None = None,
    ) -> None:
        self.net = network
        self.penalty = float(penalty_min)
        self.rules = rules if rules is not None and rules.active else None
        self.fleet_wait = fleet_wait
        #: what the last :meth:`evaluate` added to :meth:`objective` (wait, rule penalty)
        self.last_extra = 0.0
        self.evaluations = 0
        self.archive = ParetoArchive()
        self.weight = 1.0
        self.att_scale = 1.0
        self.trt_scale = 1.0

    def raw(self, routes: Sequence[Sequence[int]]) -> np.ndarray:
        """The kernel's (8,) result for a route set (not counted as an evaluation)."""
        return self._kernel(*flatten_routes(routes))

    def _kernel(self, ptr: np.ndarray, stops: np.ndarray) -> np.ndarray:
        return evaluate_routes_fast(ptr, stops, self.net.travel_time, self.net.demand, self.penalty)

    def evaluate(self, routes: Routes) -> tuple[float, float, float] | None:
        """(objective, ATT, TRT), or None when the routes do not cover/connect every node."""
        ptr, stops = flatten_routes(routes)  # once for both kernels: this is the hot path
        if not route_network_connected(ptr, stops, self.net.n):
            return None
        raw = self._kernel(ptr, stops)
        self.evaluations += 1
        att = raw[0] / (raw[6] - raw[5])
        trt = raw[7]
        extra = 0.0
        if self.fleet_wait is not None and self.weight >= 1.0:
            fw = self.fleet_wait
            boardings = (raw[1] + 2.0 * raw[2] + 3.0 * raw[3] + 4.0 * raw[4]) / (raw[6] - raw[5])
            km = fw.routes_km(routes) if fw.operator_min_per_veh_km > 0 else 0.0
            extra += fw.cost_min(trt, int(stops.size), len(routes), boardings, km)
        excess = (
            0.0 if self.rules is None else self.rules.total_excess(self.net.travel_time, routes)
        )
        if excess == 0.0:
            self.archive.add(att, trt, routes)
        extra += RULE_PENALTY * excess
        self.last_extra = extra
        return self.objective(att, trt) + extra, att, trt

    def objective(self, att: float, trt: float) -> float:
        """The objective at the current weight."""
        if self.weight >= 1.0:
            return att
        if self.weight <= 0.0:
            return trt + _OPERATOR_ATT_WEIGHT * att
        return self.weight * att / self.att_scale + (1.0 - self.weight) * trt / self.trt_scale

    @property
    def blends(self) -> bool:
        """Whether the weight mixes ATT and TRT (so the scales matter)."""
        return self.weight not in (0.0, 1.0)

    def scale_to(self, att: float, trt: float) -> None:
        """Scale ATT and TRT by these values in a blended objective."""
        self.att_scale, self.trt_scale = max(att, 1e-9), max(trt, 1e-9)
