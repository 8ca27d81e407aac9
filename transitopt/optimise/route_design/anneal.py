"""Simulated annealing over route sets, with its budget, history and progress reports.

The temperature falls geometrically from one that accepts a typical worsening move with
probability 1/2 to a thousandth of it, following the share of the evaluation budget
used (or, without one, of the time budget). After many non-improving evaluations the
walk returns to the best route set found.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..._progress import ProgressCallback, wants_stop
from .limits import RouteDesignError
from .moves import RouteMoves
from .network import Routes
from .scoring import RouteSetScorer

#: non-improving evaluations (in units of 100 + 5 * n_routes) before returning to the best
_RESET_AFTER = 20

#: seconds between progress reports when nothing improves
_REPORT_EVERY_S = 1.0

#: candidate moves used to set the initial temperature
_TEMPERATURE_PROBES = 30


@dataclass(frozen=True)
class SearchClock:
    """What the budget counts (``now``: wall or CPU seconds) and when the search started."""

    now: Callable[[], float]
    started: float

    def elapsed(self) -> float:
        """Seconds since the search started."""
        return self.now() - self.started


@dataclass(frozen=True)
class Budget:
    """Limits of one annealing run: seconds and/or evaluations (``None``: no limit)."""

    seconds: float | None
    evaluations: int | None

    def stop_reason(self, done: int, elapsed: float) -> str:
        """``"max_evaluations"`` or ``"budget_s"`` when spent, else ``""``."""
        if self.evaluations is not None and done >= self.evaluations:
            return "max_evaluations"
        if self.seconds is not None and elapsed >= self.seconds:
            return "budget_s"
        return ""

    @property
    def spent(self) -> bool:
        """Whether nothing is left: no seconds, or no evaluations."""
        return bool(self.stop_reason(0, 0.0))

    def used(self, done: int, elapsed: float) -> float:
        """Share of the budget used: of the evaluations if limited, else of the time."""
        if self.evaluations is not None:
            return done / self.evaluations
        if self.seconds is None:
            raise RouteDesignError("an annealing run needs a time or an evaluation budget")
        return elapsed / self.seconds


class SearchLog:
    """The search's history of improvements, and the progress reports made from it.

    ``progress`` is called with ``evaluations`` (route sets evaluated so far),
    ``seconds`` (since the search started), ``best`` (objective of the best route set of
    the current run), ``att`` and ``trt`` (its ATT and TRT, minutes) at every new best
    and at least once a second; returning ``False`` stops the search.
    """

    def __init__(self, clock: SearchClock, progress: ProgressCallback | None) -> None:
        self.clock = clock
        self.progress = progress
        self.history: list[tuple[int, float, float, float, float]] = []
        self._last_report = time.perf_counter()

    def record(self, evaluations: int, best: float, att: float, trt: float) -> None:
        """Add a history row for a new best."""
        self.history.append((evaluations, self.clock.elapsed(), best, att, trt))

    def restart_reports(self) -> None:
        """Count the second between reports from now."""
        self._last_report = time.perf_counter()

    def report(self, evaluations: int) -> bool:
        """Report the latest history row; whether ``progress`` asked to stop."""
        if self.progress is None:
            return False
        self._last_report = time.perf_counter()
        _, _, best, att, trt = self.history[-1]
        state = {
            "evaluations": evaluations,
            "seconds": self.clock.elapsed(),
            "best": best,
            "att": att,
            "trt": trt,
        }
        return wants_stop(self.progress, state)

    def report_if_due(self, evaluations: int) -> bool:
        """Report when a second has passed since the last report; whether to stop."""
        if self.progress is None or time.perf_counter() - self._last_report < _REPORT_EVERY_S:
            return False
        return self.report(evaluations)


@dataclass
class _Walk:
    """State of one annealing run: the current and the best route set and their objectives."""

    current: Routes
    current_f: float
    best: Routes
    best_f: float
    since_best: int = 0


class Annealer:
    """Runs simulated annealing from a route set with the scorer's current weight."""

    def __init__(
        self, scorer: RouteSetScorer, moves: RouteMoves, rnd: random.Random, log: SearchLog
    ) -> None:
        self.scorer = scorer
        self.moves = moves
        self.rnd = rnd
        self.log = log
        self.reset_after = _RESET_AFTER * (100 + 5 * moves.limits.n_routes)

    def run(self, start: Routes, budget: Budget) -> tuple[Routes, str]:
        """Anneal from ``start``; the best route set and why it stopped.

        The stop reason is ``"max_evaluations"``, ``"budget_s"``, ``"cancelled"`` (the
        progress callback returned ``False``) or ``"interrupted"`` (KeyboardInterrupt).
        """
        t0 = self.log.clock.now()
        first_evaluation = self.scorer.evaluations
        walk = self._begin(start)
        temp0 = self._initial_temperature(walk.current, walk.current_f)
        temp1 = temp0 * 1e-3
        self.log.restart_reports()
        try:
            while True:
                done = self.scorer.evaluations - first_evaluation
                elapsed = self.log.clock.now() - t0
                stop = budget.stop_reason(done, elapsed)
                if stop:
                    return walk.best, stop
                temp = temp0 * (temp1 / temp0) ** min(budget.used(done, elapsed), 1.0)
                if not self._step(walk, temp):
                    return walk.best, "cancelled"
        except KeyboardInterrupt:
            return walk.best, "interrupted"

    def _begin(self, start: Routes) -> _Walk:
        """Evaluate the start (setting the objective's scales) and record it."""
        current = [list(r) for r in start]
        scored = self.scorer.evaluate(current)
        if scored is None:
            raise RouteDesignError("start solution is not connected/covering")
        current_f, att, trt = scored
        if self.scorer.blends:
            self.scorer.scale_to(att, trt)
            current_f = self.scorer.objective(att, trt) + self.scorer.last_extra
        self.log.record(self.scorer.evaluations, current_f, att, trt)
        return _Walk(current, current_f, current, current_f)

    def _initial_temperature(self, current: Routes, current_f: float) -> float:
        """Temperature that accepts a typical worsening move with probability 1/2."""
        deltas = []
        for _ in range(_TEMPERATURE_PROBES):
            candidate = self.moves.propose(current)
            if candidate is None:
                continue
            scored = self.scorer.evaluate(candidate)
            if scored is not None and scored[0] > current_f:
                deltas.append(scored[0] - current_f)
        if not deltas:
            return 1e-3 * max(abs(current_f), 1.0)
        return float(np.median(deltas)) / math.log(2.0)

    def _step(self, walk: _Walk, temp: float) -> bool:
        """One move, accepted or not; False when the progress callback asked to stop."""
        candidate = self.moves.propose(walk.current)
        if candidate is None:
            return True
        scored = self.scorer.evaluate(candidate)
        if scored is None:
            return True
        f, att, trt = scored
        delta = f - walk.current_f
        if delta <= 0 or self.rnd.random() < math.exp(-delta / temp):
            walk.current, walk.current_f = candidate, f
            if f < walk.best_f - 1e-12:
                walk.best, walk.best_f, walk.since_best = candidate, f, 0
                self.log.record(self.scorer.evaluations, f, att, trt)
                if self.log.report(self.scorer.evaluations):
                    return False
        walk.since_best += 1
        if walk.since_best > self.reset_after:  # wandered off: return to the best
            walk.current, walk.current_f, walk.since_best = walk.best, walk.best_f, 0
        return not self.log.report_if_due(self.scorer.evaluations)
