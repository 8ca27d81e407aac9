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

Several vehicle classes (:class:`~transitopt.assignment.classes.VehicleClass`): the
matrices of all classes are estimated together under the multi-class equilibrium (PCU
on shared links). The unknowns are the cells of every class's prior, stacked; a count
of class ``c`` (vehicles) sees only class ``c``'s trips, a count of class ``"pcu"``
sees every class's trips times its PCE (``p_ij,s = pce_c`` per counted link on the
path), and each class's proportions come from its shortest paths at its own
generalised equilibrium costs on its permitted links. The gradient step is the same on
the stacked vector, so each class keeps its own prior's structure.

Stopping rules: ``%RMSE`` of the observations at equilibrium below ``target_percent_rmse``
(``"fit"``); relative improvement of ``Z`` between outer iterations below
``min_improvement`` (``"stalled"``); ``max_outer`` outer iterations (``"max_outer"``).
The history has one row per step.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConvergenceWarning, DemandError
from ..demand.counts import LinkCounts
from ..demand.od import ODMatrix
from ..metrics.counts import count_statistics, geh
from ..network.compiled import Network
from ..paths import shortest_paths
from .classes import VehicleClass
from .equilibrium import UserEquilibrium
from .multimodal import MultimodalModel, MultimodalResult, vehicle_demand
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
        The matrix given and the one estimated (same zones, trips per period); with
        several vehicle classes, the sum of the classes' vehicles.
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
    class_priors, class_estimates : dict of str to ODMatrix
        Per vehicle class (vehicles per period), when estimated with several classes;
        empty for one class.
    prior_class_flow : dict of str to (m,) float64
        Per vehicle class, its link flows at the equilibrium of the priors (veh per
        period; empty for one class). ``prior_flow`` is the PCU total.
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
    class_priors: dict[str, ODMatrix] = field(default_factory=dict, repr=False)
    class_estimates: dict[str, ODMatrix] = field(default_factory=dict, repr=False)
    prior_class_flow: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def statistics(self) -> pd.DataFrame:
        """Fit statistics (:func:`~transitopt.metrics.counts.count_statistics`) before and after."""
        return pd.DataFrame(
            {
                "prior": count_statistics(self.modelled_prior, self.counts.observed),
                "estimate": count_statistics(self.modelled, self.counts.observed),
            }
        )

    def fit_table(self) -> pd.DataFrame:
        """Per observation: ``label, vehicle_class, count, modelled_prior, modelled,
        geh_prior, geh``."""
        return pd.DataFrame(
            {
                "label": self.counts.labels,
                "vehicle_class": self.counts.vehicle_class,
                "count": self.counts.observed,
                "modelled_prior": self.modelled_prior,
                "modelled": self.modelled,
                "geh_prior": geh(self.modelled_prior, self.counts.observed),
                "geh": geh(self.modelled, self.counts.observed),
            }
        )

    def od_change(self) -> pd.DataFrame:
        """Per non-empty prior OD cell: ``origin, destination, prior, estimate, change,
        ratio`` (trips per period; ratio = estimate / prior); with several vehicle
        classes, one row per class and cell, ``vehicle_class`` first."""
        if not self.class_priors:
            return od_change_table(self.prior.zones, self.prior.matrix, self.estimate.matrix)
        parts = [
            od_change_table(prior.zones, prior.matrix, self.class_estimates[name].matrix).assign(
                vehicle_class=name
            )
            for name, prior in self.class_priors.items()
        ]
        table = pd.concat(parts, ignore_index=True)
        return table[["vehicle_class", *table.columns[:-1]]]

    def class_statistics(self) -> pd.DataFrame:
        """Fit before and after per counted class (``vehicle_class``, ``n``, GEH<5 share,
        %RMSE, R² before and after) and the trips of each estimated class."""
        rows = []
        for name in dict.fromkeys(self.counts.vehicle_class.tolist()):
            keep = self.counts.vehicle_class == name
            before = count_statistics(self.modelled_prior[keep], self.counts.observed[keep])
            after = count_statistics(self.modelled[keep], self.counts.observed[keep])
            rows.append(
                {
                    "vehicle_class": name,
                    "n": int(keep.sum()),
                    "share_geh_below_5_prior": before["share_geh_below_5"],
                    "share_geh_below_5": after["share_geh_below_5"],
                    "percent_rmse_prior": before["percent_rmse"],
                    "percent_rmse": after["percent_rmse"],
                    "r2_prior": before["r2"],
                    "r2": after["r2"],
                    "trips_prior": _class_total(self.class_priors, self.prior, name),
                    "trips": _class_total(self.class_estimates, self.estimate, name),
                }
            )
        return pd.DataFrame(rows)

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


def od_change_table(zones: np.ndarray, prior: np.ndarray, estimate: np.ndarray) -> pd.DataFrame:
    """Per non-empty cell of the (z, z) ``prior``: ``origin, destination, prior, estimate,
    change, ratio`` (zone ids from ``zones``)."""
    i, j = np.nonzero(prior)
    before = prior[i, j]
    after = estimate[i, j]
    return pd.DataFrame(
        {
            "origin": zones[i],
            "destination": zones[j],
            "prior": before,
            "estimate": after,
            "change": after - before,
            "ratio": after / before,
        }
    )


def _class_total(by_class: dict[str, ODMatrix], total: ODMatrix, name: str) -> float:
    """Trips of class ``name`` (the vehicles of all classes for ``"pcu"`` counts)."""
    return by_class[name].total() if name in by_class else total.total()


#: the vehicle class of a count that sees every class's trips times its PCE
PCU_CLASS = "pcu"


@dataclass(frozen=True)
class _Class:
    """One class of an estimation: its name, PCE, prior, zone nodes and the set-up class."""

    name: str
    pce: float
    prior: ODMatrix
    nodes: np.ndarray
    vehicle_class: VehicleClass | None


@dataclass(frozen=True, eq=False)
class MatrixEstimation:
    """A configured OD matrix estimation (see the module docstring); :meth:`run` solves it.

    Parameters
    ----------
    network
        The road network.
    prior
        The starting matrix (synthesised or given; its zeros stay zero), or the vehicle
        classes of a multi-class equilibrium whose ``demand`` are the priors (same zones).
    counts
        The observations (:func:`~transitopt.demand.counts.read_counts`). With one matrix,
        counts of class ``car`` or ``pcu``; with classes, counts of a class's name
        (vehicles) or ``pcu`` (all classes, PCU).
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
    prior: ODMatrix | Sequence[VehicleClass]
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
        known = {c.name for c in self._classes()} | {PCU_CLASS}
        unknown = sorted(set(self.counts.vehicle_class.tolist()) - known)
        if unknown:
            raise DemandError(
                f"counts of vehicle class {', '.join(map(repr, unknown))}, but the estimation "
                f"has the classes {sorted(known)} ('{PCU_CLASS}': all classes in PCU)"
            )

    @property
    def multiclass(self) -> bool:
        """Whether the priors are vehicle classes (a multi-class equilibrium)."""
        return not isinstance(self.prior, ODMatrix)

    def _classes(self) -> list[_Class]:
        if isinstance(self.prior, ODMatrix):
            return [_Class("car", 1.0, self.prior, np.zeros(0, np.int64), None)]
        if not self.prior:
            raise ValueError("classes is empty; give at least one VehicleClass")
        zones = self.prior[0].demand.zones
        out = []
        for c in self.prior:
            if not np.array_equal(c.demand.zones, zones):
                raise DemandError(
                    f"vehicle class {c.name!r}: its demand has other zones than class "
                    f"{self.prior[0].name!r}; estimate classes over the same zones"
                )
            if c.name == PCU_CLASS:
                raise ValueError(f"{PCU_CLASS!r} names the PCU counts; rename the vehicle class")
            out.append(_Class(c.name, float(c.pce), c.demand, np.zeros(0, np.int64), c))
        return out

    def _equilibrium(self, classes: list[_Class], matrices: list[np.ndarray]) -> AssignmentResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if not self.multiclass:
                demand = ODMatrix(classes[0].prior.zones, matrices[0])
                return UserEquilibrium(self.network, demand, **self.assignment).run()
            runs = [
                replace(c.vehicle_class, demand=ODMatrix(c.prior.zones, m))
                for c, m in zip(classes, matrices, strict=True)
                if c.vehicle_class is not None
            ]
            return UserEquilibrium(self.network, classes=runs, **self.assignment).run()

    def _class_observations(self, classes: list[_Class], obs_matrix) -> list:
        """Per class, the (k, m) sparse matrix of what its vehicle flow adds to each
        observation: its own counts one to one, ``pcu`` counts times its PCE on each link
        (per link where the class has a ``link_pce``, e.g. by road type)."""
        from scipy.sparse import diags

        vclass = self.counts.vehicle_class
        out = []
        for cls in classes:
            own = diags(np.where(vclass == cls.name, 1.0, 0.0)) @ obs_matrix
            link_pce = None if cls.vehicle_class is None else cls.vehicle_class.link_pce
            pcu_rows = diags(np.where(vclass == PCU_CLASS, 1.0, 0.0)) @ obs_matrix
            if link_pce is None:
                pcu = cls.pce * pcu_rows
            else:
                pcu = pcu_rows @ diags(np.asarray(link_pce, dtype=np.float64))
            out.append((own + pcu).tocsr())
        return out

    def _observed_flows(self, result: AssignmentResult, classes: list[_Class], observations):
        if not self.multiclass:
            return observations[0] @ result.flow
        return sum(observations[c] @ result.class_flow[cls.name] for c, cls in enumerate(classes))

    def run(self) -> ODMEResult:
        """Estimate; warns with :class:`ConvergenceWarning` when stopped at ``max_outer``."""
        start = time.process_time()
        net = self.network
        counts = self.counts
        observed = counts.observed
        obs_matrix = counts.observation_matrix(net.n_edges)
        classes = self._classes()
        observations = self._class_observations(classes, obs_matrix)
        cells = []
        for c, cls in enumerate(classes):
            try:
                nodes = net.node_index(cls.prior.zones)
            except KeyError as exc:
                raise DemandError(f"OD zone not in the network: {exc.args[0]}") from None
            classes[c] = replace(cls, nodes=nodes)
            i_cell, j_cell = np.nonzero(cls.prior.matrix)
            keep = nodes[i_cell] != nodes[j_cell]
            cells.append((i_cell[keep], j_cell[keep]))
        offsets = np.zeros(len(classes) + 1, dtype=np.int64)
        np.cumsum([i.size for i, _ in cells], out=offsets[1:])
        matrices = [np.array(c.prior.matrix, dtype=np.float64) for c in classes]
        rows: list[tuple] = []

        def total_trips() -> float:
            return float(sum(m.sum() for m in matrices))

        def record(outer, inner, assigned, v, step, gap):
            resid = v - observed
            rmse = float(np.sqrt(np.mean(resid**2)))
            rows.append(
                (outer, inner, assigned, 0.5 * float(resid @ resid), rmse,
                 100.0 * rmse / max(float(observed.mean()), 1e-300),
                 float(np.mean(geh(v, observed) < 5.0)), step, total_trips(), gap,
                 time.process_time() - start)
            )  # fmt: skip
            return 0.5 * float(resid @ resid)

        def stacked() -> np.ndarray:
            return np.concatenate([m[i, j] for m, (i, j) in zip(matrices, cells, strict=True)])

        def unstack(g: np.ndarray) -> None:
            for c, (i, j) in enumerate(cells):
                matrices[c][i, j] = g[offsets[c] : offsets[c + 1]]

        result = self._equilibrium(classes, matrices)
        v = self._observed_flows(result, classes, observations)
        modelled_prior = v.copy()
        prior_flow = np.array(result.flow, dtype=np.float64)
        prior_class_flow = {k: np.array(f, dtype=np.float64) for k, f in result.class_flow.items()}
        z = record(0, 0, True, v, np.nan, result.relative_gap)
        stop_reason = "max_outer"
        converged = False
        for outer in range(1, self.max_outer + 1):
            if rows[-1][5] <= self.target_percent_rmse:
                stop_reason, converged = "fit", True
                break
            proportions = self._proportions(result, classes, cells, observations)
            g = stacked()
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
                unstack(g)
                v = v_outer + proportions @ (g - g_outer)
                record(outer, inner, False, v, step, np.nan)
            result = self._equilibrium(classes, matrices)
            v = self._observed_flows(result, classes, observations)
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
        zones = classes[0].prior.zones
        estimates = {
            c.name: ODMatrix(c.prior.zones, m) for c, m in zip(classes, matrices, strict=True)
        }
        if self.multiclass:
            prior_total = ODMatrix(
                zones, np.sum([np.asarray(c.prior.matrix, float) for c in classes], axis=0)
            )
            estimate_total = ODMatrix(zones, np.sum(matrices, axis=0))
        else:
            prior_total, estimate_total = classes[0].prior, estimates["car"]
        return ODMEResult(
            prior=prior_total,
            estimate=estimate_total,
            counts=counts,
            modelled_prior=modelled_prior,
            modelled=v,
            prior_flow=prior_flow,
            assignment=result,
            history=pd.DataFrame(rows, columns=list(ODME_HISTORY_COLUMNS)),
            converged=converged,
            stop_reason=stop_reason,
            cpu_s=time.process_time() - start,
            class_priors={c.name: c.prior for c in classes} if self.multiclass else {},
            class_estimates=estimates if self.multiclass else {},
            prior_class_flow=prior_class_flow if self.multiclass else {},
        )

    def _proportions(self, result, classes, cells, observations):
        """(k, pairs of all classes) sparse: per observation and OD cell, the observation's
        edges on the cell's shortest path at its class's equilibrium costs (screenline links
        crossed twice count twice), weighted as the class's observations (PCE for ``pcu``)."""
        from scipy.sparse import csc_matrix, hstack

        blocks = []
        for c, (cls, (i_cell, j_cell)) in enumerate(zip(classes, cells, strict=True)):
            if self.multiclass:
                cost = np.asarray(result.class_cost_s[cls.name], dtype=np.float64)
            else:
                cost = np.where(result.closed, np.inf, np.asarray(result.cost_s, dtype=np.float64))
            paths = shortest_paths(
                self.network, cls.nodes[i_cell], cls.nodes[j_cell], weight=cost, by_index=True
            )
            lengths = np.fromiter((p.size for p in paths), dtype=np.int64, count=len(paths))
            indptr = np.zeros(len(paths) + 1, dtype=np.int64)
            np.cumsum(lengths, out=indptr[1:])
            edges = np.concatenate(paths) if len(paths) else np.zeros(0, np.int64)
            incidence = csc_matrix(
                (np.ones(edges.size), edges, indptr), shape=(self.network.n_edges, len(paths))
            )
            blocks.append(observations[c] @ incidence)
        return hstack(blocks).tocsr()


def estimate_matrix(
    network: Network,
    prior: ODMatrix | Sequence[VehicleClass],
    counts: LinkCounts,
    **options: Any,
) -> ODMEResult:
    """Estimate an OD matrix (or one per vehicle class) from ``counts`` starting at
    ``prior``; see :class:`MatrixEstimation`."""
    return MatrixEstimation(network, prior, counts, **options).run()


def car_demand_factors(
    model: MultimodalModel,
    result: MultimodalResult,
    counts: LinkCounts,
    **options: Any,
) -> tuple[np.ndarray, ODMEResult]:
    """Estimate the car matrix of a multimodal model's result from counts; per zone pair,
    the factor by which to scale the model's total demand.

    The road modes' factors of :func:`road_mode_factors` combined into one per zone pair:
    with one class, the car factor (scaling the total demand by it scales the car trips
    by it while the mode shares hold; the caller reruns the model, where the shares
    respond to the new congestion). With motorcycle modes, the ratio of the persons the
    classes carry (vehicles times occupancy; one per ojek), estimate over prior;
    ``odme.class_statistics()`` has each class's own fit.

    Returns
    -------
    factors : (z, z) float64
        In the model's zone order.
    odme : ODMEResult
    """
    factors, odme = road_mode_factors(model, result, counts, **options)
    if len(factors) == 1:
        return factors["car"], odme
    persons = _road_persons(model, result)
    prior = sum(persons.values())
    estimate = sum(persons[m] * factors[m] for m in factors)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prior > 0, estimate / prior, 1.0), odme


def _road_persons(model: MultimodalModel, result: MultimodalResult) -> dict[str, np.ndarray]:
    """Person trips per road mode of ``result`` (model zone order, diagonal 0)."""
    out = {}
    for mode in vehicle_demand(result.demand, model.parameters):
        trips = np.array(result.demand[mode], dtype=np.float64)
        np.fill_diagonal(trips, 0.0)
        out[mode] = trips
    return out


def road_mode_factors(
    model: MultimodalModel,
    result: MultimodalResult,
    counts: LinkCounts,
    **options: Any,
) -> tuple[dict[str, np.ndarray], ODMEResult]:
    """Estimate the road modes' matrices of a multimodal model's result from counts; per
    road mode (``car``; ``motorcycle`` and ``ojek`` where the model has them) and zone
    pair, the factor by which the estimate scales that mode's trips.

    The car vehicles of ``result`` (persons / ``car_occupancy``, by zone node, with the
    model's bus preload and closed links) are the prior of :class:`MatrixEstimation`
    (``options``; the equilibrium settings default to the model's road parameters).
    With motorcycle modes in the choice set, the prior is the road step's vehicle classes
    (``car``; ``motorcycle`` and ``ojek`` at ``motorcycle_pcu``, or at their PCE by road
    type where the model has one, on the links open to motorcycles), estimated together:
    a count of class ``car``, ``motorcycle`` or ``ojek`` is that class's vehicles, ``pcu``
    all of them in PCU. A mode's factor of a zone pair is estimate / prior of its node
    pair (1 where the prior has none of that mode's vehicles).

    Returns
    -------
    factors : dict of str to (z, z) float64
        By road mode, in the model's zone order.
    odme : ODMEResult
    """
    setup = model._setup
    drive = model.drive
    if drive is None or "car" not in result.demand:
        raise ValueError("the model has no drive network or no car demand to estimate")
    params = model.parameters
    zones = drive.node_id[setup.nodes]

    def by_node(trips: np.ndarray) -> np.ndarray:
        matrix = np.zeros((setup.nodes.size, setup.nodes.size))
        np.add.at(matrix, (setup.inv[:, None], setup.inv[None, :]), trips)
        np.fill_diagonal(matrix, 0.0)
        return matrix

    def by_zone(prior: np.ndarray, estimate: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            node_factor = np.where(prior > 0, estimate / prior, 1.0)
        return node_factor[setup.inv[:, None], setup.inv[None, :]]

    road = params.road
    assignment = {
        "algorithm": road.algorithm,
        "gap": road.gap,
        "max_iter": road.max_iter,
        "preload": setup.preload,
        "closed": setup.closed,
        **options.pop("assignment", {}),
    }
    if not setup.motorcycles:
        matrix = by_node(result.demand["car"] / params.car_occupancy)
        prior = ODMatrix(zones=zones, matrix=matrix)
        odme = MatrixEstimation(drive, prior, counts, assignment=assignment, **options).run()
        return {"car": by_zone(matrix, odme.estimate.matrix)}, odme
    # motorcycle modes: the road step's vehicle classes (car; motorcycle and ojek at
    # motorcycle_pcu or their PCE by road type as in the model's road step, on the links
    # open to motorcycles), estimated together
    pce = {"car": 1.0, "motorcycle": params.motorcycle_pcu, "ojek": params.motorcycle_pcu}
    closed_to = {
        "car": setup.closed_car,
        "motorcycle": setup.closed_motorcycle,
        "ojek": setup.closed_motorcycle,
    }
    classes = [
        VehicleClass(
            name,
            ODMatrix(zones=zones, matrix=by_node(veh)),
            pce=pce[name],
            closed=closed_to[name],
            link_pce=None if name == "car" else setup.motorcycle_pce,
        )
        for name, veh in vehicle_demand(result.demand, params).items()
    ]
    odme = MatrixEstimation(drive, classes, counts, assignment=assignment, **options).run()
    factors = {
        c.name: by_zone(np.asarray(c.demand.matrix), odme.class_estimates[c.name].matrix)
        for c in classes
    }
    return factors, odme


def modelled_counts(counts: LinkCounts, road: AssignmentResult | None) -> np.ndarray:
    """Each observation of ``counts`` in a road equilibrium ``road`` (``None``: no road
    traffic, all 0): a count of class ``pcu`` sees the PCU flow of all classes, a count of
    a class that class's vehicles (one-class equilibria: ``car`` and ``pcu`` both see the
    flow).

    Raises
    ------
    DemandError
        A count of a vehicle class that the equilibrium does not have.
    """
    n_edges = int(counts.edges.max()) + 1 if counts.edges.size else 0
    if road is None:
        return counts.modelled(np.zeros(n_edges))
    out = np.zeros(counts.n_observations)
    for name in dict.fromkeys(counts.vehicle_class.tolist()):
        keep = counts.vehicle_class == name
        if name == PCU_CLASS or (not road.class_flow and name == "car"):
            flow = road.flow
        elif name in road.class_flow:
            flow = road.class_flow[name]
        else:
            known = sorted(road.class_flow) or ["car"]
            raise DemandError(
                f"counts of vehicle class {name!r}, but the model has the classes {known} "
                f"('{PCU_CLASS}': all classes in PCU)"
            )
        out[keep] = counts.modelled(flow)[keep]
    return out
