"""The entry point of route design: arguments, the passenger run or the weight sweep, the result."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..._progress import ProgressCallback
from ..evaluation import TRANSFER_PENALTY_MIN, RouteSetEvaluation
from ..instances import TNDPInstance
from .anneal import Annealer, Budget, SearchClock, SearchLog
from .limits import RouteDesignError, RouteLimits
from .moves import RouteMoves
from .network import LinkNetwork, Routes
from .rules import FleetWait, RouteRules
from .scoring import RouteSetScorer
from .start import StartBuilder

Objective = Literal["passenger", "operator", "pareto"]

#: time budget (s) when neither a time nor an evaluation budget is given
DEFAULT_BUDGET_S = 60.0

#: weights of the passenger → operator sweep behind ``objective="operator"``
_OPERATOR_WEIGHTS = 4

#: stop reasons after which a sweep does not go on to the next weight
_STOPPED_BY_USER = ("interrupted", "cancelled")


@dataclass(frozen=True)
class RouteDesignResult:
    """Outcome of :func:`design_routes`.

    Attributes
    ----------
    routes
        Best route set for the objective, routes as lists of node ids (for ``"pareto"``:
        the front's solution with the least ATT).
    evaluation
        Its ATT, d0..dun and TRT.
    objective
        ``"passenger"``, ``"operator"`` or ``"pareto"``.
    front
        Non-dominated (ATT, TRT) route sets found (columns ``att``, ``trt``, ``routes``),
        sorted by TRT; for single objectives, the non-dominated sets seen on the way.
    history
        One row per improvement: ``evaluations``, ``seconds``, ``objective`` (minutes for
        passenger/operator), ``att``, ``trt``.
    n_evaluations
        Route sets evaluated.
    seconds
        Wall time of the search.
    seed
        The seed used.
    stopped_by
        ``"budget_s"``, ``"max_evaluations"``, ``"cancelled"`` (the progress callback
        returned ``False``) or ``"interrupted"`` (KeyboardInterrupt); after the last two
        the best solution so far is kept.
    """

    routes: list[list[int]]
    evaluation: RouteSetEvaluation
    objective: str
    front: pd.DataFrame
    history: pd.DataFrame
    n_evaluations: int
    seconds: float
    seed: int
    stopped_by: str
    settings: dict = field(default_factory=dict)


def design_routes(
    instance: TNDPInstance,
    *,
    n_routes: int,
    min_nodes: int,
    max_nodes: int,
    objective: Objective = "passenger",
    budget_s: float | None = None,
    max_evaluations: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    initial_routes: Sequence[Sequence[int]] | None = None,
    transfer_penalty_min: float = TRANSFER_PENALTY_MIN,
    pareto_weights: int = 7,
    clock: Literal["wall", "cpu"] = "wall",
    rules: RouteRules | None = None,
    fleet_wait: FleetWait | None = None,
) -> RouteDesignResult:
    """Design a route set for an instance by simulated annealing.

    Parameters
    ----------
    instance
        Network (travel times in minutes) and demand (trips).
    n_routes
        Number of routes.
    min_nodes, max_nodes
        Bounds on the nodes (stops) per route, inclusive.
    objective
        ``"passenger"`` (minimise ATT, minutes), ``"operator"`` (minimise TRT, minutes, ties
        broken by ATT: a 4-weight sweep from passenger to operator, returning the least TRT
        found) or ``"pareto"`` (weighted-sum sweep over ``pareto_weights`` weights; the
        budget is split evenly; returns the front's least ATT).
    budget_s
        Time budget in seconds (see ``clock``). ``None`` (default): no time limit when
        ``max_evaluations`` is given, else 60 s. A time budget is **not reproducible**:
        how many route sets fit in it depends on the machine and its load, so the same
        seed can give different route sets.
    max_evaluations
        Evaluation budget (route sets evaluated, start construction included). With it
        and no ``budget_s`` the search is deterministic: the same seed gives the same
        route sets on any machine, from the API and from ``transitopt optimise routes
        --evaluations N --seed S`` alike (the annealing schedule follows the evaluation
        count; progress reports never change the search).
    seed
        Seed of ``numpy.random.default_rng``.
    progress
        Called at each new best and at least once a second with a dict:
        ``evaluations``, ``seconds``, ``best`` (objective value), ``att``, ``trt``
        (minutes); returning ``False`` stops the search (``stopped_by="cancelled"``).
    initial_routes
        A feasible route set (node ids) to start from instead of the greedy start.
    transfer_penalty_min
        Minutes per transfer in the passenger model.
    pareto_weights
        Number of weights in the ``"pareto"`` sweep.
    clock
        What ``budget_s`` counts: ``"wall"`` seconds or ``"cpu"`` seconds of this process
        (fairer on a shared machine); ``seconds`` in the result and history use it too.
    rules
        Route length (minutes, km), terminals and no U-turns (:class:`RouteRules`), kept
        by a penalty in the search; the result keeps every rule or this raises.
    fleet_wait
        Adds the waiting at one fleet-feasible common headway to the ATT objective
        (:class:`FleetWait`); ``"passenger"`` only.

    Returns
    -------
    RouteDesignResult

    Raises
    ------
    RouteDesignError
        If the constraints cannot be met (the message names the constraint).
    """
    if budget_s is None and max_evaluations is None:
        budget_s = DEFAULT_BUDGET_S
    _check_arguments(objective, budget_s, max_evaluations)
    limits = RouteLimits(n_routes, min_nodes, max_nodes)
    limits.check(instance)
    if clock not in ("wall", "cpu"):
        raise RouteDesignError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    now = time.perf_counter if clock == "wall" else time.process_time
    log = SearchLog(SearchClock(now, started=now()), progress)  # the budget includes the start
    if fleet_wait is not None and objective != "passenger":
        raise RouteDesignError("fleet_wait applies to objective='passenger' only")
    search = _RouteSearch(instance, limits, seed, transfer_penalty_min, log, rules, fleet_wait)
    start = search.start(initial_routes)
    budget = Budget(budget_s, max_evaluations)
    if objective == "passenger":
        best, stopped_by = search.passenger(start, budget)
    else:
        n_weights = max(2, pareto_weights) if objective == "pareto" else _OPERATOR_WEIGHTS
        stopped_by = search.sweep(start, np.linspace(1.0, 0.0, n_weights), budget)
        front = search.front()
        if not len(front):
            raise RouteDesignError(
                "no route set found that keeps the route rules: "
                + search.scorer.rules.describe(instance.travel_time, start)  # type: ignore[union-attr]
            )
        pick = 0 if objective == "operator" else int(np.argmin(front["att"].to_numpy()))
        best = [list(map(int, instance.index_of(r))) for r in front.iloc[pick]["routes"]]
    if search.scorer.rules is not None:
        problem = search.scorer.rules.describe(instance.travel_time, best)
        if problem:
            raise RouteDesignError(
                f"the best route set found still breaks a route rule ({problem}); "
                "loosen the rules or give more evaluations"
            )
    settings = {
        "n_routes": n_routes,
        "min_nodes": min_nodes,
        "max_nodes": max_nodes,
        "budget_s": budget_s,
        "max_evaluations": max_evaluations,
        "transfer_penalty_min": transfer_penalty_min,
        "clock": clock,
    }
    return search.result(best, objective, seed, stopped_by, settings)


def _check_arguments(objective: str, budget_s: float | None, max_evaluations: int | None) -> None:
    """Raise :class:`RouteDesignError` for an unknown objective or an impossible budget."""
    if objective not in ("passenger", "operator", "pareto"):
        raise RouteDesignError(
            f"objective must be 'passenger', 'operator' or 'pareto', got {objective!r}"
        )
    if budget_s is None and max_evaluations is None:
        raise RouteDesignError("give budget_s or max_evaluations (or both)")
    if budget_s is not None and budget_s <= 0:
        raise RouteDesignError(f"budget_s must be > 0, got {budget_s}")
    if max_evaluations is not None and max_evaluations < 1:
        raise RouteDesignError(f"max_evaluations must be >= 1, got {max_evaluations}")


class _RouteSearch:
    """The parts of one search wired together, and the runs made of them."""

    def __init__(
        self,
        instance: TNDPInstance,
        limits: RouteLimits,
        seed: int,
        penalty_min: float,
        log: SearchLog,
        rules: RouteRules | None = None,
        fleet_wait: FleetWait | None = None,
    ) -> None:
        self.instance = instance
        self.limits = limits
        rng = np.random.default_rng(seed)
        rnd = random.Random(int(rng.integers(2**63)))  # scalar draws of the moves
        self.network = LinkNetwork(instance)
        self.builder = StartBuilder(self.network, limits, rng)
        self.scorer = RouteSetScorer(self.network, penalty_min, rules=rules, fleet_wait=fleet_wait)
        self.log = log
        self.annealer = Annealer(self.scorer, RouteMoves(self.network, limits, rnd), rnd, log)

    def start(self, initial_routes: Sequence[Sequence[int]] | None) -> Routes:
        """The given route set as node indices (checked), or a built one."""
        if initial_routes is None:
            return self.builder.build()
        start = [list(map(int, self.instance.index_of(r))) for r in initial_routes]
        problem = self.limits.violation(self.network, start)
        if problem:
            raise RouteDesignError(f"initial_routes: {problem}")
        return start

    def passenger(self, start: Routes, budget: Budget) -> tuple[Routes, str]:
        """One run minimising ATT with what is left of the budget."""
        self.scorer.weight = 1.0
        seconds = budget.seconds
        if seconds is not None:
            seconds = max(seconds - self.log.clock.elapsed(), 1e-3)
        return self.annealer.run(start, Budget(seconds, budget.evaluations))

    def sweep(self, start: Routes, weights: np.ndarray, budget: Budget) -> str:
        """Runs from passenger to operator weight, each from the last one's best; stop reason.

        Each weight gets an even share of what is left of the budget.
        """
        stopped_by = "max_evaluations"
        current = start
        for k, weight in enumerate(weights):
            share = self._share(budget, 1.0 / (len(weights) - k))
            if share.spent:
                break
            self.scorer.weight = float(weight)
            current, stopped_by = self.annealer.run(current, share)
            if stopped_by in _STOPPED_BY_USER:
                break
        return stopped_by

    def _share(self, budget: Budget, share: float) -> Budget:
        """``share`` of what is left of ``budget``."""
        seconds = budget.seconds
        if seconds is not None:
            seconds = (seconds - self.log.clock.elapsed()) * share
        evaluations = budget.evaluations
        if evaluations is not None:
            evaluations = int((evaluations - self.scorer.evaluations) * share)
        return Budget(seconds, evaluations)

    def front(self) -> pd.DataFrame:
        """The non-dominated route sets found (node ids), by TRT."""
        return self.scorer.archive.table(self.instance.node_id)

    def result(
        self, best: Routes, objective: str, seed: int, stopped_by: str, settings: dict
    ) -> RouteDesignResult:
        """The result for the chosen route set ``best`` (node indices)."""
        return RouteDesignResult(
            routes=[[int(self.instance.node_id[s]) for s in r] for r in best],
            evaluation=RouteSetEvaluation.from_raw(self.scorer.raw(best), len(best)),
            objective=objective,
            front=self.front(),
            history=pd.DataFrame(
                self.log.history, columns=["evaluations", "seconds", "objective", "att", "trt"]
            ),
            n_evaluations=self.scorer.evaluations,
            seconds=self.log.clock.elapsed(),
            seed=seed,
            stopped_by=stopped_by,
            settings=settings,
        )
