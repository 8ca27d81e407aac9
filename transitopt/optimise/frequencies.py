"""Frequency setting under a fleet budget on a scenario's transit lines.

>>> result = optimise_frequencies("scenarios/helsinki_base.toml", fleet=60)  # doctest: +SKIP
>>> write_scenario(result, "scenarios/helsinki_optimised.toml")  # doctest: +SKIP

The decision variable is one headway per *route* (``route_key``: all directions and
variants of a route share it), taken from a set of clock-face values within bounds.
The fleet of a route is :func:`transitopt.metrics.operator.fleet_size` of the sum of its
lines' ``cycle_s / headway``, with ``cycle_s`` from
:func:`transitopt.metrics.operator.line_operations`: the same function and rounding as
the scenario evaluation's ``routes`` table and ``transit_fleet`` metric.

The objective (scenario currency per hour) is the transit riders' generalised cost
(expected in-vehicle, walk, weighted wait, penalties and fares, from optimal strategies)
times the value of time, plus ``operator_weight_per_veh_h`` times the vehicle-hours per
hour. Each candidate is one transit assignment (skims off) of the baseline's final
transit demand on the model's transit graph at the baseline's final link times, with the
candidate headways (:meth:`~transitopt.assignment.multimodal.MultimodalModel.transit_graph`):
demand, mode split and bus running times are held fixed in the search.

Search: greedy marginal analysis from every route at its longest allowed headway, each
shortened as far as its vehicles there allow when vehicles cost nothing (the
move with the best objective reduction per extra vehicle while the fleet allows; half
the evaluation budget when there is a second start), then, from the better of the two,
passes of single moves and pairwise swaps (one route one step shorter, another one step
longer) until none improves or ``max_evaluations`` is spent. The second start is the
scenario's own headways when they are on the grid and within the fleet, else those
headways times the least common factor that fits the fleet, each rounded up to the grid
(found by bisection on the fleet alone; one assignment). Without it, a fleet below the
scenario's left the greedy alone, which on the Helsinki example (49 routes, fleet 49
against the scenario's 57) does not finish in 500 assignments.

Full-model check: the chosen alternative is then evaluated by the full scenario model
(demand, mode split and running times respond, so cycle times change). While its fleet
exceeds the budget, the search takes that evaluation's cycle times and lengthens the
headways of the least valuable routes (least objective lost per vehicle saved), and the
full model evaluates again. The reported fleet is the full model's for the written
scenario.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._errors import TransitoptError
from .._io import write_text
from .._progress import ProgressCallback, wants_stop
from ..metrics.operator import fleet_size
from ..transit.capacity import CapacityParameters

if TYPE_CHECKING:
    from ..scenario.evaluate import FinalState
    from ..scenario.result import ScenarioResult

CLOCK_FACE_MIN = (3.0, 4.0, 5.0, 6.0, 7.5, 10.0, 12.0, 15.0, 20.0, 30.0)


class FrequencyError(TransitoptError, ValueError):
    """A frequency-setting problem that cannot be solved (fleet too small, no headway allowed)."""


@dataclass(frozen=True)
class FrequencyResult:
    """Result of :func:`optimise_frequencies`.

    Attributes
    ----------
    scenario_path : Path
        The input scenario (the baseline of the written alternative).
    routes : DataFrame
        Per route: ``route_key``, ``lines`` (tuple of line ids), ``names`` (the lines by
        name, with the operator), ``cycle_s`` (s, summed
        over its lines), ``baseline_headway_min``, ``headway_min`` (chosen),
        ``baseline_fleet``, ``fleet`` (vehicles).
    fleet_budget, fleet_used, baseline_fleet : int
        Vehicles.
    objective_before, objective_after : float
        Objective at the scenario's headways and at the chosen ones (currency/h).
    passenger_cost_before, passenger_cost_after, operator_cost_before, operator_cost_after : float
        Its two parts (currency/h).
    history : DataFrame
        One row per accepted move: ``evaluations``, ``move``, ``route_key``,
        ``headway_min``, ``fleet``, ``objective``.
    evaluations : int
        Transit assignments run.
    stop_reason : str
        ``"converged"``, ``"max_evaluations"``, ``"cancelled"`` or ``"interrupted"``.
    currency : str
    seconds : float
    notes : list of str
    full_evaluations : int
        Full-model evaluations of the chosen alternative (1 unless a repair was needed).
    line_time_change : float
        Largest relative change of a line's cycle time in the full evaluation of the
        written alternative against the baseline's (the search holds them fixed).
    riders_over_capacity_before, riders_over_capacity_after : float
        Sum over lines of the riders above the places offered at the busiest segment
        (trips per period, :func:`line_overload`) at the scenario's and the chosen
        headways, demand held fixed. The search minimises this first: above 0 after,
        no headways within the fleet carry the demand and the least-crowded set found
        is returned (a note says so).
    max_load_factor_before, max_load_factor_after : float
        Largest peak load / places over the lines, at the same two points.
    """

    scenario_path: Path
    routes: pd.DataFrame
    fleet_budget: int
    fleet_used: int
    baseline_fleet: int
    objective_before: float
    objective_after: float
    passenger_cost_before: float
    passenger_cost_after: float
    operator_cost_before: float
    operator_cost_after: float
    history: pd.DataFrame
    evaluations: int
    stop_reason: str
    currency: str = "EUR"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    full_evaluations: int = 0
    line_time_change: float = 0.0
    riders_over_capacity_before: float = 0.0
    riders_over_capacity_after: float = 0.0
    max_load_factor_before: float = 0.0
    max_load_factor_after: float = 0.0

    @property
    def headways_min(self) -> dict[str, float]:
        """Chosen headway (min) per route key."""
        return dict(zip(self.routes["route_key"], self.routes["headway_min"], strict=True))


class _Problem:
    """The baseline's final transit state in the model; evaluates headway vectors per route."""

    def __init__(self, state: FinalState, lines: pd.DataFrame, *, weight: float) -> None:
        model = state.model
        self.model = model
        self.link_time_s = state.link_time_s
        self.demand = np.asarray(state.transit_demand, float)
        self.wait_factor = float(model.wait_factor)
        self.vot_per_s = model.parameters.value_of_time_per_h / 3600.0
        self.weight = float(weight)
        self.capacity = model.parameters.transit_capacity  # None: no capacity restraint
        self.period_h = (self.capacity or CapacityParameters()).period_h
        keys = list(dict.fromkeys(lines["route_key"]))
        self.keys = keys
        self.group_lines = [tuple(lines.loc[lines["route_key"] == k, "line"]) for k in keys]
        self.baseline_headway_s = np.array(
            [lines.loc[lines["route_key"] == k, "headway_s"].mean() for k in keys]
        )
        self.route_table = pd.DataFrame(
            {
                "route_key": keys,
                "names": [_route_names(lines, k) for k in keys],
                "baseline_headway_min": self.baseline_headway_s / 60.0,
            }
        )
        self.set_cycles(lines)
        self.evaluations = 0
        self._memo: dict[tuple, tuple] = {}

    def set_cycles(self, lines: pd.DataFrame) -> None:
        """Take each line's ``cycle_s`` (s, from
        :func:`~transitopt.metrics.operator.line_operations`) from a result's lines table."""
        cycle = lines.set_index("line")["cycle_s"].astype(float)
        self.line_cycle_s = [cycle.loc[list(ids)].to_numpy() for ids in self.group_lines]
        self.cycle_s = np.array([c.sum() for c in self.line_cycle_s], float)
        self._memo = {}  # the operator cost depends on the cycle times

    def fleet(self, headway_s: np.ndarray) -> np.ndarray:
        """Vehicles per route at these headways (s): the scenario evaluation's rule,
        :func:`~transitopt.metrics.operator.fleet_size` of the sum of the lines'
        ``cycle_s / headway_s``."""
        vehicles = [np.sum(c / h) for c, h in zip(self.line_cycle_s, headway_s, strict=True)]
        return fleet_size(np.array(vehicles, float))

    def cost(self, headway_s: np.ndarray) -> tuple[float, float]:
        """(passenger cost, operator cost), currency/h."""
        return self._evaluate(headway_s)[:2]

    def crowding(self, headway_s: np.ndarray) -> tuple[float, float, np.ndarray]:
        """(riders over capacity, largest load factor, each route's largest load factor)
        at these headways (s): :func:`line_overload` of the candidate's loading."""
        return self._evaluate(headway_s)[2:]

    def penalised(self, headway_s: np.ndarray) -> float:
        """The search's objective (currency/h): passenger plus operator cost plus
        ``OVERLOAD_PENALTY_H`` hours of value of time per rider over capacity."""
        passenger, operator, over, _, _ = self._evaluate(headway_s)
        return passenger + operator + over * OVERLOAD_PENALTY_H * 3600.0 * self.vot_per_s

    def _evaluate(self, headway_s: np.ndarray) -> tuple:
        key = tuple(np.round(headway_s, 6))
        if key in self._memo:
            return self._memo[key]
        from ..transit import assign_transit, assign_transit_capacity

        per_line = {
            line_id: headway_s[g] for g, ids in enumerate(self.group_lines) for line_id in ids
        }
        graph = self.model.transit_graph(self.link_time_s, headway_s=per_line)
        if graph is None:
            raise FrequencyError("the scenario's model has no transit to set frequencies for")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.capacity is not None:  # effective frequencies and crowding
                capped = assign_transit_capacity(
                    graph, self.demand, params=self.capacity, wait_factor=self.wait_factor,
                    skims=False,
                )  # fmt: skip
                volume = capped.link_volume
                passenger_s = float(capped.info["strategy_cost_s"])
            else:
                result = assign_transit(
                    graph, self.demand, wait_factor=self.wait_factor, skims=False
                )
                volume = result.link_volume
                passenger_s = passenger_cost_s(graph, volume, wait_factor=self.wait_factor)
        self.evaluations += 1
        over, line_factor = line_overload(graph, volume, period_h=self.period_h)
        position = {line_id: k for k, line_id in enumerate(graph.line_ids)}
        route_factor = np.array(
            [max(line_factor[position[i]] for i in ids) for ids in self.group_lines], float
        )
        out = (
            passenger_s * self.vot_per_s,
            self.weight * float(np.sum(self.cycle_s / headway_s)),
            over,
            float(line_factor.max()) if line_factor.size else 0.0,
            route_factor,
        )
        self._memo[key] = out
        return out


#: hours of value of time a rider over a line's capacity costs the search: fewer riders
#: over capacity beats any saving of generalised cost a frequency change can make
OVERLOAD_PENALTY_H = 100.0


def line_overload(graph, link_volume: np.ndarray, *, period_h: float) -> tuple[float, np.ndarray]:
    """Riders over capacity and each line's largest load factor.

    Returns ``(sum over lines of max(peak load - places, 0), peak load / places per
    line)`` with ``places = line_capacity x period_h x 3600 / line_headway_s`` (the
    places a line offers over the period the demand covers, trips per period).
    """
    from ..transit.graph import RIDE

    n_lines = len(graph.line_ids)
    ride = np.flatnonzero(graph.kind == RIDE)
    peak = np.zeros(n_lines)
    np.maximum.at(peak, graph.line[ride], np.asarray(link_volume, float)[ride])
    places = graph.line_capacity * period_h * 3600.0 / graph.line_headway_s
    return float(np.maximum(peak - places, 0.0).sum()), peak / places


def passenger_cost_s(graph, link_volume: np.ndarray, *, wait_factor: float) -> float:
    """Total generalised cost (s per period) of an optimal-strategies loading.

    ``sum(cost_s * volume)`` over links plus the waits ``wait_factor * V_i / F_i`` at
    every node ``i`` whose passengers board frequency links (``V_i`` their volume,
    ``F_i`` the combined frequency of the attractive links, those with volume).
    """
    volume = np.asarray(link_volume, float)
    total = float(np.sum(graph.cost_s * volume))
    used = np.isfinite(graph.freq_hz) & (volume > 0)
    if used.any():
        tail = graph.tail[used]
        v = np.bincount(tail, weights=volume[used], minlength=graph.n_nodes)
        f = np.bincount(tail, weights=graph.freq_hz[used], minlength=graph.n_nodes)
        nodes = f > 0
        total += float(wait_factor * np.sum(v[nodes] / f[nodes]))
    return total


class _Search:
    """Greedy marginal analysis, a restart from the scenario's headways, improvement passes.

    ``idx`` holds each route's position in the headway grid ``values`` (min); ``stop``
    stays ``"converged"`` until the budget, the progress callback or an interrupt ends
    the search.
    """

    def __init__(
        self,
        problem: _Problem,
        values: list[float],
        *,
        fleet: int,
        max_evaluations: int,
        progress: ProgressCallback | None,
    ) -> None:
        self.problem = problem
        self.values = values
        self.h = np.array(values) * 60.0
        self.budget = fleet
        self.max_evaluations = max_evaluations
        self.limit = max_evaluations  # of the current phase (the greedy may get a share)
        self.progress = progress
        self.n = len(problem.keys)
        self.idx = np.full(self.n, len(values) - 1)
        self.current = math.nan
        self.history: list[dict] = []
        self.stop = "converged"

    def total(self, ix: np.ndarray) -> float:
        return self.problem.penalised(self.h[ix])

    def fleet_of(self, ix: np.ndarray) -> int:
        return int(self.problem.fleet(self.h[ix]).sum())

    def spent(self) -> bool:
        return self.problem.evaluations >= self.limit

    def accept(self, move: str, g: int) -> bool:
        """Log the current solution after ``move`` on route ``g``; whether to go on."""
        row = {
            "evaluations": self.problem.evaluations,
            "move": move,
            "route_key": self.problem.keys[g],
            "headway_min": self.values[self.idx[g]],
            "fleet": self.fleet_of(self.idx),
            "objective": self.current,
        }
        self.history.append(row)
        return not wants_stop(self.progress, dict(row))

    def start(self) -> None:
        """Every route at its longest allowed headway; then, when vehicles cost nothing
        (operator weight 0), each at the shortest headway its vehicles there can run
        (rounding up leaves spare time in most cycles), if that is better."""
        self.current = self.total(self.idx)
        self.accept("start", 0)
        if self.problem.weight > 0:
            return
        longest = self.problem.fleet(np.full(self.n, self.h[-1]))
        free = self.idx.copy()
        for k in range(len(self.h) - 2, -1, -1):  # same vehicles, shorter headway
            same = self.problem.fleet(np.full(self.n, self.h[k])) == longest
            free = np.where(same & (free == k + 1), k, free)
        if (free == self.idx).all():
            return
        value = self.total(free)
        if value < self.current:
            self.idx, self.current = free, value
            self.accept("shorten at no extra vehicle", 0)

    # ------------------------------------------------------------------ greedy
    def greedy(self, limit: int | None = None) -> None:
        """Shorten the headway with the best objective reduction per extra vehicle while
        the fleet allows; stale scores of the other routes are upper estimates refreshed
        only when they come out on top. ``limit``: evaluations this phase may reach (the
        rest is left to the improvement passes)."""
        self.limit = self.max_evaluations if limit is None else min(limit, self.max_evaluations)
        scores: dict[int, tuple[float, float, int]] = {}  # route -> (score, objective, moves)
        moves_done = 0
        while self.stop == "converged":
            candidates = self._shortenable()
            if not candidates:
                break
            chosen = self._best(candidates, scores, self.fleet_of(self.idx), moves_done)
            if chosen < 0:
                if self.problem.evaluations >= self.max_evaluations:
                    self.stop = "max_evaluations"
                break
            self.idx[chosen] -= 1
            self.current = scores.pop(chosen)[1]
            moves_done += 1
            if not self.accept("shorten", chosen):
                self.stop = "cancelled"
        self.limit = self.max_evaluations

    def _shortenable(self) -> list[int]:
        out = []
        for g in range(self.n):
            trial = self.idx.copy()
            trial[g] -= 1
            if self.idx[g] > 0 and self.fleet_of(trial) <= self.budget:
                out.append(g)
        return out

    def _score(self, g: int, used: int, moves_done: int) -> tuple[float, float, int]:
        trial = self.idx.copy()
        trial[g] -= 1
        extra = self.fleet_of(trial) - used
        value = self.total(trial)
        gain = self.current - value
        if gain <= 1e-9 * max(1.0, abs(self.current)):
            return (-math.inf, value, moves_done)
        return (gain / extra if extra > 0 else 1e12 * gain, value, moves_done)

    def _best(self, candidates: list[int], scores: dict, used: int, moves_done: int) -> int:
        """The route to shorten next (-1: none improves, or the budget is spent)."""
        while not self.spent():
            for g in candidates:
                if g not in scores and not self.spent():
                    scores[g] = self._score(g, used, moves_done)
            ranked = sorted((g for g in candidates if g in scores), key=lambda g: -scores[g][0])
            if not ranked or scores[ranked[0]][0] == -math.inf:
                return -1
            top = ranked[0]
            if scores[top][2] != moves_done:
                scores[top] = self._score(top, used, moves_done)
                continue
            return top
        return -1

    # ------------------------------------------------------------------ restart and passes
    def grid_index(self, headway_s: np.ndarray) -> np.ndarray | None:
        """Grid positions of these headways (s); ``None`` if one is off the grid or the
        fleet exceeds the budget."""
        idx = np.array([int(np.argmin(np.abs(self.h - b))) for b in headway_s])
        if not np.allclose(self.h[idx], headway_s) or self.fleet_of(idx) > self.budget:
            return None
        return idx

    def scaled_index(self, headway_s: np.ndarray) -> np.ndarray | None:
        """Grid positions of the scenario's headways times the least common factor whose
        fleet fits the budget, each rounded up to the grid (no assignment run); ``None``
        when no factor fits or the result is every route at its longest headway."""

        def snapped(factor: float) -> np.ndarray:
            want = headway_s * factor
            return np.minimum(np.searchsorted(self.h, want - 1e-6), len(self.h) - 1)

        lo, hi = 1e-3, 1e3
        if self.fleet_of(snapped(hi)) > self.budget:
            return None
        for _ in range(60):  # bisection on the factor; the fleet falls as it grows
            mid = math.sqrt(lo * hi)
            if self.fleet_of(snapped(mid)) <= self.budget:
                hi = mid
            else:
                lo = mid
        idx = snapped(hi)
        return None if (idx == len(self.h) - 1).all() else idx

    def restart_from(
        self, base_idx: np.ndarray | None, objective: float, what: str = "the scenario's headways"
    ) -> None:
        """Continue from ``base_idx`` (grid positions) when given and better."""
        if base_idx is not None and objective < self.current:
            self.idx, self.current = base_idx, objective
            self.history.append(
                {
                    "evaluations": self.problem.evaluations,
                    "move": f"restart from {what}",
                    "route_key": None,
                    "headway_min": None,
                    "fleet": self.fleet_of(self.idx),
                    "objective": self.current,
                }
            )

    def improve(self) -> None:
        """Passes of single moves, then pairwise swaps, until none improves."""
        n = self.n
        improved = self.stop == "converged"
        while improved and self.stop == "converged":
            moves = [(g, d) for g in range(n) for d in (-1, 1)]
            moves += [(i, j) for i in range(n) for j in range(n) if i != j]
            improved = self._pass(moves)

    def _pass(self, moves: list[tuple[int, int]]) -> bool:
        """One pass over ``moves`` (the first ``2 n`` single); whether one improved."""
        improved = False
        for k, move in enumerate(moves):
            if self.spent():
                self.stop = "max_evaluations"
                break
            single = k < 2 * self.n
            trial = self.idx.copy()
            if single:
                trial[move[0]] += move[1]
            else:
                trial[move[0]] -= 1
                trial[move[1]] += 1
            if (
                trial.min() < 0
                or trial.max() >= len(self.values)
                or self.fleet_of(trial) > self.budget
            ):
                continue
            value = self.total(trial)
            if value < self.current - 1e-9 * max(1.0, abs(self.current)):
                self.idx, self.current = trial, value
                improved = True
                if single:
                    name = "shorten" if move[1] < 0 else "lengthen"
                else:
                    name = f"swap with {self.problem.keys[move[1]]}"
                if not self.accept(name, move[0]):
                    self.stop = "cancelled"
                    break
        return improved

    # ------------------------------------------------------------------ repair
    def repair(self) -> None:
        """Lengthen headways until the fleet (at the problem's current cycle times) fits:
        each step lengthens one route to its next longer headway that saves a vehicle,
        the route whose step costs the least objective per vehicle saved. Ignores the evaluation budget (a result over the
        fleet budget is not an answer)."""
        while self.fleet_of(self.idx) > self.budget:
            used = self.fleet_of(self.idx)
            self.current = self.total(self.idx)
            best: tuple[float, int, float, int] | None = None
            for g in range(self.n):
                trial = self.idx.copy()
                saved = 0
                while saved <= 0 and trial[g] < len(self.values) - 1:
                    trial[g] += 1  # the next longer headway that saves a vehicle
                    saved = used - self.fleet_of(trial)
                if saved <= 0:
                    continue
                value = self.total(trial)
                per_vehicle = (value - self.current) / saved
                if best is None or per_vehicle < best[0]:
                    best = (per_vehicle, g, value, int(trial[g]))
            if best is None:
                raise FrequencyError(
                    f"the fleet of {self.budget} vehicles cannot run every route at the longest "
                    f"allowed headway ({self.values[-1]:g} min) at the running times of the "
                    f"full model: that needs {used} vehicles"
                )
            _, g, self.current, _ = best
            self.idx[g] = best[3]
            self.accept("lengthen (repair)", g)


def optimise_frequencies(
    scenario_path: str | os.PathLike,
    *,
    fleet: int,
    headway_bounds_min: tuple[float, float] = (3.0, 30.0),
    clock_face: Sequence[float] | None = CLOCK_FACE_MIN,
    operator_weight_per_veh_h: float = 0.0,
    max_evaluations: int = 500,
    progress: ProgressCallback | None = None,
) -> FrequencyResult:
    """Choose route headways that minimise passenger plus operator cost within a fleet.

    Parameters
    ----------
    scenario_path
        A scenario file (baseline or alternative); it is evaluated first (or its
        cached result reused: the model's final state is rebuilt from it).
    fleet
        Vehicles available (all routes together).
    headway_bounds_min
        Shortest and longest allowed headway (min), for every route.
    clock_face
        Allowed headways (min); those within the bounds are used. ``None``: every whole
        minute within the bounds.
    operator_weight_per_veh_h
        Operator cost per vehicle-hour in the scenario's currency; 0 (default, neutral
        to the currency) minimises the passenger cost alone within the fleet.
    max_evaluations
        Budget of transit assignments.
    progress
        Called after each accepted move with a dict (``evaluations``, ``objective``,
        ``fleet``, ``move``); returning ``False`` stops with the best solution so far.

    Returns
    -------
    FrequencyResult

    Raises
    ------
    FrequencyError
        No allowed headway, no transit lines, or ``fleet`` smaller than the vehicles
        needed with every route at its longest allowed headway (the message names it).
    """
    started = time.perf_counter()
    values = _headway_grid(headway_bounds_min, clock_face)
    if fleet < 0:
        raise FrequencyError(f"fleet must be >= 0 vehicles, got {fleet!r}")
    path = Path(scenario_path)
    problem, lines, currency = _problem_of(path, operator_weight_per_veh_h)
    search = _Search(
        problem, values, fleet=fleet, max_evaluations=max_evaluations, progress=progress
    )
    needed = search.fleet_of(search.idx)
    if needed > fleet:
        raise FrequencyError(
            f"a fleet of {fleet} vehicles cannot run every route at the longest allowed headway "
            f"({values[-1]:g} min): that needs {needed} vehicles"
        )
    base_h = problem.baseline_headway_s
    pb, ob = problem.cost(base_h)
    base_fleet = problem.fleet(base_h)
    search.start()
    base_idx = search.grid_index(base_h)
    second, second_value, what = base_idx, problem.penalised(base_h), "the scenario's headways"
    if base_idx is None:  # off the grid or over the fleet: scale them to fit instead
        second = search.scaled_index(base_h)
        what = "the scenario's headways scaled to the fleet"
        second_value = search.total(second) if second is not None else math.inf
    try:
        # a second start: the greedy then gets half the budget
        search.greedy(max_evaluations // 2 if second is not None else None)
        search.restart_from(second, second_value, what)
        search.improve()
    except KeyboardInterrupt:
        search.stop = "interrupted"
    checks = _check_with_full_model(search, path, fleet, progress)
    pa, oa = problem.cost(search.h[search.idx])
    crowd_before = problem.crowding(base_h)
    crowd_after = problem.crowding(search.h[search.idx])
    notes = []
    if crowd_after[0] > 0:
        notes.append(
            f"no headways within the fleet of {fleet} keep every line within its capacity: "
            f"the least-crowded set found leaves {crowd_after[0]:.0f} riders over capacity "
            f"(largest load factor {crowd_after[1]:.2f})"
        )
    full_routes = checks[-1].tables["routes"].set_index("route_key")
    full_lines = checks[-1].tables["lines"]
    routes = pd.DataFrame(
        {
            "route_key": problem.keys,
            "lines": problem.group_lines,
            "names": problem.route_table["names"],
            "cycle_s": problem.cycle_s,
            "baseline_headway_min": base_h / 60.0,
            "headway_min": [values[i] for i in search.idx],
            "baseline_fleet": base_fleet,
            "fleet": full_routes.loc[problem.keys, "fleet"].to_numpy(np.int64),
            "peak_load_factor": crowd_after[2],
        }
    )
    full_fleet = int(checks[-1].tables["routes"]["fleet"].sum())
    return FrequencyResult(
        scenario_path=path,
        routes=routes,
        fleet_budget=int(fleet),
        fleet_used=full_fleet,
        baseline_fleet=int(base_fleet.sum()),
        objective_before=pb + ob,
        objective_after=pa + oa,
        passenger_cost_before=pb,
        passenger_cost_after=pa,
        operator_cost_before=ob,
        operator_cost_after=oa,
        history=pd.DataFrame(search.history),
        evaluations=problem.evaluations,
        stop_reason=search.stop,
        currency=currency,
        seconds=time.perf_counter() - started,
        notes=notes
        + [
            "transit demand, mode split and running times are held during the search "
            "(at the baseline's, then at the full model's after a repair)",
            f"the fleet is the full model's for the written scenario ({len(checks)} full "
            f"evaluation(s); {sum(r['move'] == 'lengthen (repair)' for r in search.history)} "
            "repair step(s))",
        ],
        full_evaluations=len(checks),
        line_time_change=_line_time_change(lines, full_lines),
        riders_over_capacity_before=crowd_before[0],
        riders_over_capacity_after=crowd_after[0],
        max_load_factor_before=crowd_before[1],
        max_load_factor_after=crowd_after[1],
    )


#: full-model evaluations of the chosen headways (each followed by a repair when over budget)
FULL_MODEL_CHECKS = 8


def _check_with_full_model(
    search: _Search, path: Path, fleet: int, progress: ProgressCallback | None
) -> list[ScenarioResult]:
    """Evaluate the alternative the search chose with the full model (demand, mode split
    and running times respond); while its fleet exceeds the budget, take the cycle times
    of that evaluation into the search problem, lengthen headways (:meth:`_Search.repair`)
    and evaluate again. Returns the full-model results, the last one within the budget.

    The alternative is evaluated from a scenario file with the same content (name and
    edits) as :func:`write_scenario` writes by default, so its result is in the scenario
    cache when ``transitopt compare`` evaluates the written file.
    """
    import tempfile

    from ..scenario import evaluate_file

    problem = search.problem
    checks: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="transitopt-frequencies-") as tmp:
        for k in range(FULL_MODEL_CHECKS):
            headways = {
                key: search.values[i] for key, i in zip(problem.keys, search.idx, strict=True)
            }
            target = Path(tmp) / f"check{k}.toml"
            target.write_text(
                _scenario_text(path, target, fleet, headways, problem, header=[]), encoding="utf-8"
            )
            result = evaluate_file(target)
            checks.append(result)
            used = int(result.tables["routes"]["fleet"].sum())
            search.history.append(
                {
                    "evaluations": problem.evaluations,
                    "move": "full model check",
                    "route_key": None,
                    "headway_min": None,
                    "fleet": used,
                    "objective": search.current,
                }
            )
            wants_stop(progress, dict(search.history[-1]))
            if used <= fleet:
                return checks
            problem.set_cycles(result.tables["lines"])  # the running times of this alternative
            search.current = search.total(search.idx)
            search.repair()
    raise FrequencyError(
        f"{path}: after {FULL_MODEL_CHECKS} full-model evaluations the fleet still exceeds "
        f"{fleet} vehicles (running times keep changing with the headways); "
        "give a smaller --fleet or a longer --max-headway"
    )


def _line_time_change(before: pd.DataFrame, after: pd.DataFrame) -> float:
    """Largest relative change of a line's cycle time between two lines tables."""
    a = before.set_index("line")["cycle_s"].astype(float)
    b = after.set_index("line")["cycle_s"].astype(float).reindex(a.index)
    return float(np.nanmax(np.abs(b / a - 1.0))) if len(a) else 0.0


def _headway_grid(
    headway_bounds_min: tuple[float, float], clock_face: Sequence[float] | None
) -> list[float]:
    """The allowed headways (min), ascending."""
    lo, hi = map(float, headway_bounds_min)
    if not 0 < lo <= hi:
        raise FrequencyError(
            f"headway_bounds_min must be 0 < shortest <= longest, got {headway_bounds_min!r}"
        )
    values = sorted(
        {
            float(v)
            for v in (clock_face if clock_face is not None else range(1, 1441))
            if lo - 1e-9 <= float(v) <= hi + 1e-9
        }
    )
    if not values:
        raise FrequencyError(
            f"no clock-face headway {list(clock_face or [])} lies within {lo:g}-{hi:g} min"
        )
    return values


def _problem_of(path: Path, weight: float) -> tuple[_Problem, pd.DataFrame, str]:
    """The search problem of a scenario: its evaluated (or cached) result's lines and the
    model at the result's final state; and the scenario's currency."""
    from ..scenario import evaluate_file
    from ..scenario.evaluate import final_state

    result = evaluate_file(path)
    lines = result.tables["lines"]
    if not len(lines):
        raise FrequencyError(f"{path}: the scenario has no transit lines to set frequencies for")
    problem = _Problem(final_state(result), lines, weight=weight)
    return problem, lines, str(result.summary["parameters"]["currency"])


def write_scenario(
    result: FrequencyResult, path: str | os.PathLike, *, name: str | None = None
) -> Path:
    """Write the chosen headways as an alternative scenario of the input scenario.

    One ``change_line`` edit per route whose headway changed, naming the route by its
    key (``"tram:3"``: mode and short name, stable when OSM relations are re-imported)
    under a comment with the lines' names. Written atomically; the file is accepted by
    :func:`transitopt.scenario.load_scenario` and ``transitopt compare``.
    """
    path = Path(path)
    header = [
        f"# Written by transitopt.optimise.optimise_frequencies: fleet {result.fleet_used} of "
        f"{result.fleet_budget} (baseline {result.baseline_fleet}) as the full model evaluates it;",
        f"# objective {result.objective_before:.6g} -> {result.objective_after:.6g} "
        f"{result.currency}/h with demand held fixed.",
    ]
    text = _scenario_text(
        result.scenario_path,
        path,
        result.fleet_budget,
        result.headways_min,
        result.routes,
        header=header,
        name=name,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return path


def _scenario_text(
    scenario_path: Path,
    path: Path,
    fleet: int,
    headways_min: dict[str, float],
    routes: pd.DataFrame | _Problem,
    *,
    header: list[str],
    name: str | None = None,
) -> str:
    """The alternative scenario file: one ``change_line`` edit per route whose headway
    differs from the baseline's. ``routes``: the result's routes table, or the search
    problem (its route names and baseline headways are taken from the lines)."""
    base = os.path.relpath(scenario_path.resolve(), path.resolve().parent)
    title = name or f"Optimised frequencies (fleet {fleet})"
    out = [
        *header,
        "",
        "[scenario]",
        f"name = {_toml_str(title)}",
        f"baseline = {_toml_str(Path(base).as_posix())}",
    ]
    if isinstance(routes, _Problem):
        table = routes.route_table
    else:
        table = routes[["route_key", "names", "baseline_headway_min"]]
    for row in table.itertuples():
        minutes = headways_min[row.route_key]
        if abs(minutes - row.baseline_headway_min) < 1e-9:
            continue
        out += [
            "",
            f"# {row.names}: {row.baseline_headway_min:g} -> {minutes:g} min",
            "[[edits]]",
            'type = "change_line"',
            f"line = [{_toml_str(row.route_key)}]",
            f"headway_min = {minutes:g}",
        ]
    return "\n".join(out) + "\n"


def _route_names(lines: pd.DataFrame, route_key: str) -> str:
    """A route's lines by name (their labels, then the operator): ``"tram 3 Kaivopuisto -
    Meilahti; tram 3 Meilahti - Kaivopuisto (HKL-Raitioliikenne)"``."""
    rows = lines[lines["route_key"] == route_key]
    labels = rows["label"] if "label" in rows.columns else rows["line"]
    text = "; ".join(dict.fromkeys(str(v) for v in labels))
    operators = rows["operator"].dropna().unique() if "operator" in rows.columns else []
    if len(operators):
        text += f" ({', '.join(map(str, operators))})"
    return " ".join(text.split())  # one line: it is written as a TOML comment


def _toml_str(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
