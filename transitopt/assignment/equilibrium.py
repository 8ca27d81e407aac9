"""Static user-equilibrium road assignment: a configured solver and a one-call function.

>>> from transitopt.network.tntp import load_tntp
>>> case = load_tntp("SiouxFalls")
>>> result = assign(case.network, case.demand, algorithm="bfw", gap=1e-5)  # doctest: +SKIP
>>> result.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import ConvergenceWarning
from .._progress import ProgressCallback
from ..demand.od import ODMatrix
from ..kernels.vdf import costs_into
from ..network.compiled import Network
from ._aon import KeptTrees
from ._hierarchy import aon_loader
from ._monitor import HISTORY_COLUMNS, Monitor
from ._problem import Problem, build_problem
from .bush import solve_algorithm_b, solve_algorithm_b_classes
from .classes import VehicleClass, build_class_problems
from .diagonalisation import solve_diagonalised
from .frank_wolfe import solve_link_based, solve_link_based_classes
from .result import AssignmentResult

#: algorithm names accepted by :class:`UserEquilibrium`
ALGORITHMS = ("msa", "fw", "cfw", "bfw", "algb")


@dataclass(frozen=True, eq=False)
class UserEquilibrium:
    """A configured user-equilibrium car assignment; :meth:`run` solves it.

    Parameters
    ----------
    network
        The road network (``free_flow_time_s``, ``capacity_vph``, ``alpha``, ``beta``).
    demand
        Car trips per analysis period (veh/h) between zone centroid node ids (one class
        of PCE 1); give either ``demand`` or ``classes``.
    algorithm
        ``"msa"``, ``"fw"`` (Frank-Wolfe), ``"cfw"`` (conjugate FW), ``"bfw"``
        (bi-conjugate FW, Mitradjieva & Lindberg 2013) or ``"algb"`` (Dial's 2006
        bush-based Algorithm B; reaches gaps of 1e-10 and below).
    gap
        Target relative gap ``(TSTT - SPTT) / TSTT``.
    max_iter
        Iteration limit.
    time_limit_s
        Wall-time limit (s) of the iterations; ``None`` for none.
    vdf
        ``"bpr"`` (per-link ``alpha``, ``beta``) or ``"conical"`` (Spiess 1990, per-link ``alpha``).
    preload
        Fixed flow per link in PCU/h (e.g. buses), added to the car flow in the
        volume-delay function.
    closed
        Links closed to cars (bool per link), in addition to links without
        ``MODE_CAR`` and links with zero capacity.
    toll_factor, distance_factor
        Generalised cost weights in seconds per toll unit and per metre; default: the
        TNTP network's own weights, else 0 (see :func:`fixed_cost_s`).
    classes
        Vehicle classes (:class:`VehicleClass`: demand, PCE, cost weights, closed links)
        for a multi-class equilibrium in PCU on shared links; ``result.class_flow``
        holds each class's vehicles/h (``algb``: one set of bushes per class). A class
        with a PCE per link (``link_pce``) makes the problem asymmetric: solved by
        diagonalisation (:mod:`.diagonalisation`).
    progress
        Called with each history row (a dict); returning ``False`` stops the run
        (:mod:`transitopt._progress`).
    keep_zone_costs
        Keep the zone-to-zone shortest costs of the last all-or-nothing search in
        ``result.zone_cost_s`` (one class, link-based algorithms; ``None`` otherwise):
        that search runs at the final flows, so they are a skim of ``result.cost_s``.
    keep_trees
        Keep that search's trees too, in ``result.kept_trees`` (one class, link-based
        algorithms, large problems: :data:`._aon.KEEP_TREES_WORK`; else ``None``).
    start_trees
        Trees kept by an earlier search (:class:`._aon.KeptTrees`: a skim, or another
        run's ``kept_trees``): a link-based run starts from the all-or-nothing loading of
        its demand on them instead of searching at zero flow, where they fit
        (:meth:`._aon.KeptTrees.start_flow`: same open links, no flow-independent costs,
        every pair with demand reached; else it starts as without them). At costs other
        than those at zero flow this is a warm start: the same equilibrium within the gap.
    """

    network: Network
    demand: ODMatrix | None = None
    algorithm: str = "bfw"
    gap: float = 1e-5
    max_iter: int = 10_000
    time_limit_s: float | None = None
    vdf: str = "bpr"
    preload: np.ndarray | None = None
    closed: np.ndarray | None = None
    toll_factor: float | None = None
    distance_factor: float | None = None
    progress: ProgressCallback | None = None
    classes: Sequence[VehicleClass] | None = None
    keep_zone_costs: bool = False
    keep_trees: bool = False
    start_trees: KeptTrees | None = None

    def __post_init__(self) -> None:
        if (self.demand is None) == (self.classes is None):
            raise ValueError("give either demand (one car class) or classes, not both or neither")

        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; expected one of {ALGORITHMS}")
        if not self.gap >= 0.0:
            raise ValueError(f"gap must be >= 0, got {self.gap!r}")
        if self.max_iter < 0:
            raise ValueError(f"max_iter must be >= 0, got {self.max_iter!r}")

    def run(self) -> AssignmentResult:
        """Solve; warns with :class:`ConvergenceWarning` when the gap target is not reached."""
        if self.classes is not None:
            return self._run_classes()
        assert self.demand is not None
        start = time.perf_counter()
        problem = build_problem(
            self.network,
            self.demand,
            vdf=self.vdf,
            preload=self.preload,
            closed=self.closed,
            toll_factor=self.toll_factor,
            distance_factor=self.distance_factor,
        )
        if len(problem.unassigned):
            warnings.warn(
                f"{problem.unassigned['trips'].sum():.6g} trips between {len(problem.unassigned)} OD pairs "
                "cannot be assigned (no car path); see result.unassigned",
                stacklevel=2,
            )
        setup_s = time.perf_counter() - start
        monitor = Monitor(
            problem,
            gap=self.gap,
            max_iter=self.max_iter,
            time_limit_s=self.time_limit_s,
            progress=self.progress,
        )
        zone_cost = None
        kept_trees = initial = None
        if self.algorithm == "algb":
            flow = solve_algorithm_b(problem, monitor)
        else:
            aon = aon_loader(problem)
            aon.keep_zone_costs = self.keep_zone_costs
            aon.keep_trees = self.keep_trees
            if self.start_trees is not None:
                initial = self.start_trees.start_flow(problem)
            flow = solve_link_based(problem, self.algorithm, monitor, aon=aon, initial=initial)
            if aon.zone_cost_s is not None:
                zone_cost = _zone_costs(problem, aon.zone_cost_s)
            kept_trees = aon.kept_trees
        flow = np.where(problem.closed, 0.0, flow)
        cost = np.empty_like(flow)
        costs_into(flow, *problem.vdf_args, cost)
        time_s = np.where(
            problem.closed, np.inf, cost - np.where(problem.closed, 0.0, problem.fixed)
        )
        history = pd.DataFrame(monitor.rows, columns=list(HISTORY_COLUMNS))
        result = AssignmentResult(
            network=self.network,
            flow=flow,
            preload=problem.preload.copy(),
            time_s=time_s,
            cost_s=cost,
            closed=problem.closed.copy(),
            history=history,
            algorithm=self.algorithm,
            target_gap=self.gap,
            converged=monitor.converged,
            stop_reason=monitor.stop_reason,
            unassigned=problem.unassigned,
            setup_s=setup_s,
            zone_cost_s=zone_cost,
            kept_trees=kept_trees,
            started_from_trees=initial is not None,
        )
        self._warn_unconverged(result)
        return result

    def _warn_unconverged(self, result: AssignmentResult) -> None:
        if not result.converged:
            warnings.warn(
                f"{self.algorithm} stopped ({result.stop_reason}) at relative gap {result.relative_gap:.3g} "
                f"after {result.iterations} iterations; target was {self.gap:g}",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _run_classes(self) -> AssignmentResult:
        """The multi-class run (see :mod:`.classes`)."""
        assert self.classes is not None
        start = time.perf_counter()
        problems = build_class_problems(
            self.network, self.classes, vdf=self.vdf, preload=self.preload, closed=self.closed
        )
        unassigned = pd.concat(
            [
                p.unassigned.assign(vehicle_class=name)
                for name, p in zip(problems.names, problems.classes, strict=True)
            ],
            ignore_index=True,
        )
        if len(unassigned):
            warnings.warn(
                f"{unassigned['trips'].sum():.6g} trips between {len(unassigned)} OD pairs and classes "
                "cannot be assigned (no permitted path); see result.unassigned",
                stacklevel=3,
            )
        setup_s = time.perf_counter() - start
        shared = problems.shared
        monitor = Monitor(
            shared,
            gap=self.gap,
            max_iter=self.max_iter,
            time_limit_s=self.time_limit_s,
            progress=self.progress,
            demand=problems.total_demand,
        )
        closed_to = np.array([p.closed for p in problems.classes])
        if problems.link_pce is not None:  # PCE by link: asymmetric, diagonalised
            vehicles = np.where(
                closed_to, 0.0, solve_diagonalised(problems, self.algorithm, monitor)
            )
            pcu = problems.link_pce * vehicles
        else:
            if self.algorithm == "algb":
                pcu = solve_algorithm_b_classes(problems, monitor)
            else:
                pcu = solve_link_based_classes(problems, self.algorithm, monitor)
            pcu = np.where(closed_to, 0.0, pcu)
            vehicles = pcu / problems.pce[:, None]
        flow = pcu.sum(axis=0)
        time_only = np.empty_like(flow)
        costs_into(flow, *shared.vdf_args, time_only)
        # diagonalisation adds the sub-problems' iterations so far per outer round
        extra = ["inner_iterations"] if problems.link_pce is not None else []
        history = pd.DataFrame(monitor.rows, columns=[*HISTORY_COLUMNS, *extra])
        result = AssignmentResult(
            network=self.network,
            flow=flow,
            preload=shared.preload.copy(),
            time_s=time_only,
            cost_s=time_only.copy(),
            closed=shared.closed.copy(),
            history=history,
            algorithm=self.algorithm,
            target_gap=self.gap,
            converged=monitor.converged,
            stop_reason=monitor.stop_reason,
            unassigned=unassigned,
            setup_s=setup_s,
            class_flow={name: vehicles[c] for c, name in enumerate(problems.names)},
            class_pce={
                name: (
                    problems.link_pce[c].copy()
                    if problems.link_pce is not None
                    else np.full(flow.size, problems.pce[c])
                )
                for c, name in enumerate(problems.names)
            },
            class_cost_s={
                name: time_only + p.fixed
                for name, p in zip(problems.names, problems.classes, strict=True)
            },
        )
        self._warn_unconverged(result)
        return result


def _zone_costs(problem: Problem, cost_s: np.ndarray) -> pd.DataFrame:
    """The loader's zone costs (origin rows x destination columns of ``problem``) by zone
    id, 0 where an origin and a destination share a node (the problem drops that demand,
    so the search leaves them NaN)."""
    cost = np.array(cost_s)
    cost[problem.origin_nodes[:, None] == problem.dest_nodes[None, :]] = 0.0
    return pd.DataFrame(cost, index=problem.origin_zones, columns=problem.dest_zones)


def assign(
    network: Network,
    demand: ODMatrix | None = None,
    *,
    algorithm: str = "bfw",
    gap: float = 1e-5,
    max_iter: int = 10_000,
    time_limit_s: float | None = None,
    **options,
) -> AssignmentResult:
    """Assign car ``demand`` (or ``classes=[...]``) to ``network`` at user equilibrium; see
    :class:`UserEquilibrium`.

    Returns
    -------
    AssignmentResult
    """
    return UserEquilibrium(
        network,
        demand,
        algorithm=algorithm,
        gap=gap,
        max_iter=max_iter,
        time_limit_s=time_limit_s,
        **options,
    ).run()
