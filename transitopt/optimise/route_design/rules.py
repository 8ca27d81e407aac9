"""Optional rules on each route beyond its node count, and the fleet-aware waiting term.

:class:`RouteRules` holds the route-level constraints a city design adds to the
literature's (which has only a node count per route):

* ``max_time_min``: one-way route time (link minutes plus ``stop_time_min`` per
  intermediate stop) at most this;
* ``max_km``: route length along the streets (``link_km``) at most this;
* ``terminals``: the nodes a route may start or end at;
* no U-turns: a route may not leave a stop along the street it arrived by
  (``arrive_from[a, b]``: the street node before ``b`` on the way ``a`` → ``b``;
  ``leave_to[b, c]``: the street node after ``b`` on the way ``b`` → ``c``; a U-turn at
  ``b`` is ``leave_to[b, c] == arrive_from[a, b]``, checked in both directions).

The search treats them as a penalty (:meth:`RouteRules.excess`, in the units of each
rule: minutes over, km over, one per bad terminal and per U-turn, times
:data:`RULE_PENALTY`): a start that breaks them is driven to feasibility by the annealing
itself, the Pareto archive keeps only route sets that keep them all, and
:func:`~transitopt.optimise.design_routes` raises if the best route set still breaks one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: objective units (minutes of ATT) per unit of rule excess
RULE_PENALTY = 1000.0


@dataclass(frozen=True, eq=False)
class RouteRules:
    """Route-level constraints (module docstring); every field is optional."""

    max_time_min: float | None = None
    stop_time_min: float = 0.0
    link_km: np.ndarray | None = None
    max_km: float | None = None
    terminals: np.ndarray | None = None
    arrive_from: np.ndarray | None = None
    leave_to: np.ndarray | None = None

    @property
    def active(self) -> bool:
        """Whether any rule is set."""
        return (
            self.max_time_min is not None
            or self.max_km is not None
            or self.terminals is not None
            or self.arrive_from is not None
        )

    def route_time_min(self, travel_time: np.ndarray, route: Sequence[int]) -> float:
        """One-way minutes: links plus ``stop_time_min`` per intermediate stop."""
        links = sum(float(travel_time[a, b]) for a, b in zip(route[:-1], route[1:], strict=True))
        return links + self.stop_time_min * max(0, len(route) - 2)

    def route_km(self, route: Sequence[int]) -> float:
        """Length along the streets, km (0 without ``link_km``)."""
        if self.link_km is None:
            return 0.0
        return sum(float(self.link_km[a, b]) for a, b in zip(route[:-1], route[1:], strict=True))

    def u_turns(self, route: Sequence[int]) -> int:
        """U-turns at the route's intermediate stops, both directions counted."""
        before, after = self.arrive_from, self.leave_to
        if before is None or after is None:
            return 0
        count = 0
        for i in range(1, len(route) - 1):
            a, b, c = route[i - 1], route[i], route[i + 1]
            count += int(after[b, c] >= 0 and after[b, c] == before[a, b])
            count += int(after[b, a] >= 0 and after[b, a] == before[c, b])
        return count

    def excess(self, travel_time: np.ndarray, route: Sequence[int]) -> float:
        """How far one route breaks the rules (0 when it keeps them all)."""
        over = 0.0
        if self.max_time_min is not None:
            over += max(0.0, self.route_time_min(travel_time, route) - self.max_time_min)
        if self.max_km is not None:
            over += max(0.0, self.route_km(route) - self.max_km)
        if self.terminals is not None:
            over += float(not self.terminals[route[0]]) + float(not self.terminals[route[-1]])
        return over + self.u_turns(route)

    def total_excess(self, travel_time: np.ndarray, routes: Sequence[Sequence[int]]) -> float:
        """Sum of :meth:`excess` over a route set."""
        return float(sum(self.excess(travel_time, r) for r in routes))

    def describe(self, travel_time: np.ndarray, routes: Sequence[Sequence[int]]) -> str:
        """What the first route that breaks a rule breaks (``""`` when none does)."""
        for k, r in enumerate(routes):
            problems = []
            if self.max_time_min is not None:
                t = self.route_time_min(travel_time, r)
                if t > self.max_time_min + 1e-9:
                    problems.append(f"{t:.1f} min > max_time_min {self.max_time_min:g}")
            if self.max_km is not None:
                km = self.route_km(r)
                if km > self.max_km + 1e-9:
                    problems.append(f"{km:.2f} km > max_km {self.max_km:g}")
            if self.terminals is not None:
                bad = [v for v in (r[0], r[-1]) if not self.terminals[v]]
                if bad:
                    problems.append(f"ends at non-terminal node(s) {bad}")
            turns = self.u_turns(r)
            if turns:
                problems.append(f"{turns} U-turn(s)")
            if problems:
                return f"route {k + 1}: " + "; ".join(problems)
        return ""


@dataclass(frozen=True, eq=False)
class FleetWait:
    """The waiting (and, optionally, operating) cost of a route set run by ``fleet``
    vehicles at one common headway.

    With every route run both ways at headway ``h``, the fleet is about
    ``sum_r 2 T_r (1 + layover_share) / h + n_routes / 2`` (one-way times ``T_r`` with
    ``stop_time_min`` per intermediate stop; the last term: rounding up per route), so
    the shortest headway the fleet allows is
    ``h_fleet = 2 (1 + layover_share) sum_r T_r / (fleet - n_routes / 2)`` and each
    boarding waits ``h / 2`` minutes. The search minimises ``ATT + wait × boardings per
    trip``: long routes cost headway, so waiting enters the route design, not only the
    headways set afterwards.

    Operating cost (``operator_min_per_veh_h``, ``operator_min_per_veh_km``: the
    operator's cost of one vehicle-hour / vehicle-km in passenger minutes, i.e. currency
    divided by the value of time per minute) adds ``(c_h × veh_h + c_km × veh_km) /
    trips_per_h`` per trip, with ``veh_h = 2 (1 + layover_share) sum_r T_r / h`` and
    ``veh_km = 120 sum_r L_r / h`` per hour (``L_r`` from ``link_km``). Both parts fall
    with ``h`` as ``A / h``, the waiting rises as ``B h / 2`` (``B`` boardings per trip),
    so the headway is ``sqrt(2 A / B)`` clipped to ``[max(h_fleet, min_headway_min),
    max_headway_min]``: a high enough cost leaves vehicles of the fleet unused.
    """

    fleet: int
    layover_share: float = 0.10
    stop_time_min: float = 0.0
    min_headway_min: float = 3.0
    max_headway_min: float = 30.0
    operator_min_per_veh_h: float = 0.0
    operator_min_per_veh_km: float = 0.0
    trips_per_h: float = 1.0
    link_km: np.ndarray | None = None

    @property
    def prices_operation(self) -> bool:
        """Whether operating cost enters the objective."""
        return self.operator_min_per_veh_h > 0 or self.operator_min_per_veh_km > 0

    def _running_min(self, trt_min: float, n_stops: int, n_routes: int) -> float:
        return trt_min + self.stop_time_min * max(0, n_stops - 2 * n_routes)

    def _fleet_headway_min(self, running_min: float, n_routes: int) -> float:
        usable = max(self.fleet - 0.5 * n_routes, 0.5)
        return 2.0 * (1.0 + self.layover_share) * running_min / usable

    def wait_min(self, trt_min: float, n_stops: int, n_routes: int) -> float:
        """Mean wait per boarding (minutes) at the shortest headway the fleet allows, for
        a route set of total one-way time ``trt_min`` (links only) and ``n_stops`` stops."""
        running = self._running_min(trt_min, n_stops, n_routes)
        return max(self._fleet_headway_min(running, n_routes), self.min_headway_min) / 2.0

    def routes_km(self, routes: Sequence[Sequence[int]]) -> float:
        """Total one-way length of the routes, km (0 without ``link_km``)."""
        if self.link_km is None:
            return 0.0
        km = self.link_km
        return float(sum(km[a, b] for r in routes for a, b in zip(r[:-1], r[1:], strict=True)))

    def cost_min(
        self, trt_min: float, n_stops: int, n_routes: int, boardings: float, km: float = 0.0
    ) -> float:
        """``wait × boardings`` plus the operating cost per trip (minutes) at the best
        common headway (class docstring); ``km``: total one-way route length."""
        running = self._running_min(trt_min, n_stops, n_routes)
        lo = max(self._fleet_headway_min(running, n_routes), self.min_headway_min)
        if not self.prices_operation:
            return lo / 2.0 * boardings
        per_h = (
            self.operator_min_per_veh_h * 2.0 * (1.0 + self.layover_share) * running
            + self.operator_min_per_veh_km * 120.0 * km
        ) / max(self.trips_per_h, 1e-12)
        best = math.sqrt(2.0 * per_h / max(boardings, 1e-12))
        headway = min(max(best, lo), max(self.max_headway_min, lo))
        return headway / 2.0 * boardings + per_h / headway
