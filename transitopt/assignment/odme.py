"""OD matrix estimation from traffic counts (ODME) by Spiess's gradient method.

Method (Spiess 1990, "A gradient approach for the O-D matrix adjustment problem",
EMME/2 / CRT publication 693, Université de Montréal; the method of Emme's and
AequilibraE's ODME). Minimise the squared distance of the modelled to the counted flows

    Z(g) = 1/2 * sum_s (v_s(g) - c_s)^2

over the OD matrix ``g``, where ``v_s(g)`` is observation ``s`` (a link or a screenline's
sum of links) at the road user equilibrium of ``g``. Each step moves ``g`` along its own
scaled negative gradient,

    g_ij <- g_ij * (1 - lambda * dZ/dg_ij),    dZ/dg_ij = sum_s p_ij,s (v_s - c_s),

where ``p_ij,s`` is the share of OD pair ``ij``'s trips that pass observation ``s``.
Multiplying keeps the prior's structure: a cell that is 0 stays 0, and cells no count
sees keep their prior value. The step length is the exact minimiser of ``Z`` along the
direction under fixed proportions, ``lambda* = -sum_s v'_s (v_s - c_s) / sum_s v'_s^2``
with ``v' = P (-g * grad Z)``, capped (Spiess's ``lambda_max``) so that no cell turns
negative: ``lambda <= max_step_fraction / max(dZ/dg_ij)``.

Proportions. The road equilibrium here is link based and keeps no path flows, so
``p_ij,s`` comes from the shortest path of each OD pair at the *equilibrium* link costs
(an all-or-nothing assignment on equilibrium costs: every used path of an OD pair at
equilibrium is a shortest path, so this is one of them; AequilibraE's ODME likewise
takes its proportions from its assignment's paths). Within one outer iteration the
proportions are held fixed and ``inner_iterations`` gradient steps are taken on the
linearised flows ``v + P (g - g_outer)``; then the equilibrium is solved again for the
new matrix (the outer loop) and the proportions renewed.

Stopping rules: ``%RMSE`` of the observations at equilibrium below ``target_percent_rmse``
(``"fit"``); relative improvement of ``Z`` between outer iterations below
``min_improvement`` (``"stalled"``); ``max_outer`` outer iterations (``"max_outer"``).
The history has one row per step.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConvergenceWarning, DemandError
from ..demand.counts import LinkCounts
from ..demand.od import ODMatrix
from ..metrics.counts import count_statistics, geh
from ..network.compiled import Network
from ..paths import shortest_paths
from .equilibrium import UserEquilibrium
from .multimodal import MultimodalModel, MultimodalResult
from .result import AssignmentResult

#: columns of :attr:`ODMEResult.history`
ODME_HISTORY_COLUMNS = (
    "outer", "inner", "assigned", "objective", "rmse", "percent_rmse", "share_geh_below_5",
    "step", "total_trips", "assignment_gap", "cpu_s",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class ODMEResult:
    """An estimated OD matrix, its equilibrium and how it got there.

    Attributes
    ----------
    prior, estimate : ODMatrix
        The matrix given and the one estimated (same zones, trips per period).
    counts : LinkCounts
    modelled_prior, modelled : (k,) float64
        Each observation at the equilibrium of the prior and of the estimate.
    prior_flow : (m,) float64
        Link flows at the equilibrium of the prior (veh per period).
    assignment : AssignmentResult
        The equilibrium of the estimate.
    history : DataFrame
        One row per step (:data:`ODME_HISTORY_COLUMNS`); ``assigned`` rows are measured
        at a solved equilibrium, the others on the linearised flows.
    converged : bool
    stop_reason : str
        ``"fit"``, ``"stalled"`` or ``"max_outer"``.
    cpu_s : float
        Process CPU seconds of the whole estimation.
    """

    prior: ODMatrix = field(repr=False)
    estimate: ODMatrix = field(repr=False)
    counts: LinkCounts = field(repr=False)
    modelled_prior: np.ndarray = field(repr=False)
    modelled: np.ndarray = field(repr=False)
    prior_flow: np.ndarray = field(repr=False)
    assignment: AssignmentResult = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    converged: bool
    stop_reason: str
    cpu_s: float

    def statistics(self) -> pd.DataFrame:
        """Fit statistics (:func:`~transitopt.metrics.counts.count_statistics`) before and after."""
        return pd.DataFrame(
            {
                "prior": count_statistics(self.modelled_prior, self.counts.observed),
                "estimate": count_statistics(self.modelled, self.counts.observed),
            }
        )

    def fit_table(self) -> pd.DataFrame:
        """Per observation: ``label, count, modelled_prior, modelled, geh_prior, geh``."""
        return pd.DataFrame(
            {
                "label": self.counts.labels,
                "count": self.counts.observed,
                "modelled_prior": self.modelled_prior,
                "modelled": self.modelled,
                "geh_prior": geh(self.modelled_prior, self.counts.observed),
                "geh": geh(self.modelled, self.counts.observed),
            }
        )

    def od_change(self) -> pd.DataFrame:
        """Per non-empty prior OD cell: ``origin, destination, prior, estimate, change,
        ratio`` (trips per period; ratio = estimate / prior)."""
        i, j = np.nonzero(self.prior.matrix)
        prior = self.prior.matrix[i, j]
        est = self.estimate.matrix[i, j]
        return pd.DataFrame(
            {
                "origin": self.prior.zones[i],
                "destination": self.prior.zones[j],
                "prior": prior,
                "estimate": est,
                "change": est - prior,
                "ratio": est / prior,
            }
        )

    def summary(self) -> str:
        """A few lines: fit before and after, how far the matrix moved, the stop."""
        before = count_statistics(self.modelled_prior, self.counts.observed)
        after = count_statistics(self.modelled, self.counts.observed)
        change = self.od_change()
        moved = np.abs(change["change"]).sum() / max(change["prior"].sum(), 1e-300)
        outer = int(self.history["outer"].max())
        state = "converged" if self.converged else "stopped"
        return (
            f"ODME (Spiess 1990): {state} ({self.stop_reason}) after {outer} outer iterations, "
            f"{self.cpu_s:.1f} CPU s\n"
            f"  {self.counts.n_observations} observations: GEH<5 {100 * before['share_geh_below_5']:.1f}% -> "
            f"{100 * after['share_geh_below_5']:.1f}%, %RMSE {before['percent_rmse']:.1f} -> "
            f"{after['percent_rmse']:.1f}, R2 {before['r2']:.3f} -> {after['r2']:.3f}\n"
            f"  trips {self.prior.total():,.1f} -> {self.estimate.total():,.1f}; cells moved by "
            f"{100 * moved:.1f}% of the prior in all (median ratio {change['ratio'].median():.3f}, "
            f"5-95% {change['ratio'].quantile(0.05):.3f}-{change['ratio'].quantile(0.95):.3f})"
        )


@dataclass(frozen=True, eq=False)
class MatrixEstimation:
    """A configured OD matrix estimation (see the module docstring); :meth:`run` solves it.

    Parameters
    ----------
    network
        The road network.
    prior
        The starting matrix (synthesised or given); its zeros stay zero.
    counts
        The observations (:func:`~transitopt.demand.counts.read_counts`).
    max_outer
        Equilibrium solutions (outer iterations) at most, after the prior's.
    inner_iterations
        Gradient steps per outer iteration on fixed proportions.
    target_percent_rmse
        Stop when the observations' %RMSE at equilibrium is below this (percent).
    min_improvement
        Stop when an outer iteration lowers ``Z`` by less than this fraction.
    max_step_fraction
        Cap of the step as a fraction of Spiess's ``lambda_max`` (< 1 keeps every cell > 0).
    assignment
        Options of :class:`UserEquilibrium` (``algorithm``, ``gap``, ``vdf``, ``preload``, ...).
    """

    network: Network
    prior: ODMatrix
    counts: LinkCounts
    max_outer: int = 10
    inner_iterations: int = 3
    target_percent_rmse: float = 1.0
    min_improvement: float = 1e-3
    max_step_fraction: float = 0.9
    assignment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_outer < 1 or self.inner_iterations < 1:
            raise ValueError("max_outer and inner_iterations must be >= 1")
        if not 0.0 < self.max_step_fraction <= 1.0:
            raise ValueError(f"max_step_fraction must be in (0, 1], got {self.max_step_fraction}")
        if self.counts.n_observations == 0:
            raise ValueError("no counts to estimate from")
        if self.counts.edges.size and self.counts.edges.max() >= self.network.n_edges:
            raise ValueError("the counts were matched to another network (edge index out of range)")

    def _equilibrium(self, matrix: np.ndarray) -> AssignmentResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return UserEquilibrium(
                self.network, ODMatrix(self.prior.zones, matrix), **self.assignment
            ).run()

    def run(self) -> ODMEResult:
        """Estimate; warns with :class:`ConvergenceWarning` when stopped at ``max_outer``."""
        start = time.process_time()
        net = self.network
        counts = self.counts
        observed = counts.observed
        obs_matrix = counts.observation_matrix(net.n_edges)
        try:
            nodes = net.node_index(self.prior.zones)
        except KeyError as exc:
            raise DemandError(f"OD zone not in the network: {exc.args[0]}") from None
        prior = np.array(self.prior.matrix, dtype=np.float64)
        i_cell, j_cell = np.nonzero(prior)
        keep = nodes[i_cell] != nodes[j_cell]
        i_cell, j_cell = i_cell[keep], j_cell[keep]
        matrix = prior.copy()
        rows: list[tuple] = []

        def record(outer, inner, assigned, v, step, gap):
            resid = v - observed
            rmse = float(np.sqrt(np.mean(resid**2)))
            rows.append(
                (outer, inner, assigned, 0.5 * float(resid @ resid), rmse,
                 100.0 * rmse / max(float(observed.mean()), 1e-300),
                 float(np.mean(geh(v, observed) < 5.0)), step, float(matrix.sum()), gap,
                 time.process_time() - start)
            )  # fmt: skip
            return 0.5 * float(resid @ resid)

        result = self._equilibrium(matrix)
        v = obs_matrix @ result.flow
        modelled_prior = v.copy()
        prior_flow = np.array(result.flow, dtype=np.float64)
        z = record(0, 0, True, v, np.nan, result.relative_gap)
        stop_reason = "max_outer"
        converged = False
        for outer in range(1, self.max_outer + 1):
            if rows[-1][5] <= self.target_percent_rmse:
                stop_reason, converged = "fit", True
                break
            proportions = self._proportions(result, nodes, i_cell, j_cell, obs_matrix)
            g = matrix[i_cell, j_cell]
            g_outer = g.copy()
            v_outer = v.copy()
            for inner in range(1, self.inner_iterations + 1):
                resid = v - observed
                grad = proportions.T @ resid
                direction = -g * grad
                dv = proportions @ direction
                denom = float(dv @ dv)
                if denom <= 0.0:
                    break
                step = -float(dv @ resid) / denom
                positive = grad > 0
                if positive.any():
                    step = min(step, self.max_step_fraction / float(grad[positive].max()))
                if step <= 0.0:
                    break
                g = g * (1.0 - step * grad)
                np.maximum(g, 0.0, out=g)
                matrix[i_cell, j_cell] = g
                v = v_outer + proportions @ (g - g_outer)
                record(outer, inner, False, v, step, np.nan)
            result = self._equilibrium(matrix)
            v = obs_matrix @ result.flow
            z_new = record(outer, self.inner_iterations + 1, True, v, np.nan, result.relative_gap)
            if rows[-1][5] <= self.target_percent_rmse:
                stop_reason, converged = "fit", True
                break
            if z - z_new < self.min_improvement * z:
                stop_reason, converged = "stalled", True
                break
            z = z_new
        if stop_reason == "max_outer":
            warnings.warn(
                f"ODME stopped after {self.max_outer} outer iterations at %RMSE {rows[-1][5]:.2f} "
                f"(target {self.target_percent_rmse:g})",
                ConvergenceWarning,
                stacklevel=2,
            )
        return ODMEResult(
            prior=self.prior,
            estimate=ODMatrix(self.prior.zones, matrix),
            counts=counts,
            modelled_prior=modelled_prior,
            modelled=v,
            prior_flow=prior_flow,
            assignment=result,
            history=pd.DataFrame(rows, columns=list(ODME_HISTORY_COLUMNS)),
            converged=converged,
            stop_reason=stop_reason,
            cpu_s=time.process_time() - start,
        )

    def _proportions(self, result, nodes, i_cell, j_cell, obs_matrix):
        """(k, pairs) sparse: edges of each observation on each pair's shortest path at the
        equilibrium costs (screenline links crossed twice count twice)."""
        from scipy.sparse import csc_matrix

        cost = np.where(result.closed, np.inf, np.asarray(result.cost_s, dtype=np.float64))
        paths = shortest_paths(
            self.network, nodes[i_cell], nodes[j_cell], weight=cost, by_index=True
        )
        lengths = np.fromiter((p.size for p in paths), dtype=np.int64, count=len(paths))
        indptr = np.zeros(len(paths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        edges = np.concatenate(paths) if len(paths) else np.zeros(0, np.int64)
        incidence = csc_matrix(
            (np.ones(edges.size), edges, indptr), shape=(self.network.n_edges, len(paths))
        )
        return (obs_matrix @ incidence).tocsr()


def estimate_matrix(
    network: Network, prior: ODMatrix, counts: LinkCounts, **options: Any
) -> ODMEResult:
    """Estimate an OD matrix from ``counts`` starting at ``prior``; see :class:`MatrixEstimation`."""
    return MatrixEstimation(network, prior, counts, **options).run()


def car_demand_factors(
    model: MultimodalModel,
    result: MultimodalResult,
    counts: LinkCounts,
    **options: Any,
) -> tuple[np.ndarray, ODMEResult]:
    """Estimate the car matrix of a multimodal model's result from counts; per zone pair,
    the factor by which to scale the model's total demand.

    The car vehicles of ``result`` (persons / ``car_occupancy``, by zone node, with the
    model's bus preload and closed links) are the prior of :class:`MatrixEstimation`
    (``options``; the equilibrium settings default to the model's road parameters). The
    factor of a zone pair is estimate / prior of its node pair (1 where the prior has no
    car trips), so scaling the total demand by it scales the car trips by it while the
    mode shares hold; the caller reruns the model, where the shares respond to the new
    congestion.

    Returns
    -------
    factors : (z, z) float64
        In the model's zone order.
    odme : ODMEResult
    """
    setup = model._setup
    drive = model.drive
    if drive is None or "car" not in result.demand:
        raise ValueError("the model has no drive network or no car demand to estimate")
    if setup.motorcycles:
        raise ValueError(
            "counts calibration estimates a single car matrix; with motorcycle or ojek in "
            "model.mode_choice.modes the counted vehicles are several classes, which it does "
            "not estimate yet: drop them from the choice set or calibrate to shares only"
        )
    params = model.parameters
    veh = result.demand["car"] / params.car_occupancy
    matrix = np.zeros((setup.nodes.size, setup.nodes.size))
    np.add.at(matrix, (setup.inv[:, None], setup.inv[None, :]), veh)
    np.fill_diagonal(matrix, 0.0)
    road = params.road
    assignment = {
        "algorithm": road.algorithm,
        "gap": road.gap,
        "max_iter": road.max_iter,
        "preload": setup.preload,
        "closed": setup.closed,
        **options.pop("assignment", {}),
    }
    prior = ODMatrix(zones=drive.node_id[setup.nodes], matrix=matrix)
    odme = MatrixEstimation(drive, prior, counts, assignment=assignment, **options).run()
    with np.errstate(divide="ignore", invalid="ignore"):
        node_factor = np.where(matrix > 0, odme.estimate.matrix / matrix, 1.0)
    return node_factor[setup.inv[:, None], setup.inv[None, :]], odme
