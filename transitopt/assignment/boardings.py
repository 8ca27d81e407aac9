"""Calibrating the transit constant so the multimodal model reproduces counted boardings.

>>> from transitopt.demand import read_boardings
>>> fit = BoardingsCalibration(read_boardings("counts.csv")).run(model)  # doctest: +SKIP
>>> fit.constants, fit.statistics(), fit.fit_table()  # doctest: +SKIP

The boardings of a line grow with the transit trips, and those with the transit
constant ``asc_transit`` of the logit. The constant is adjusted, each time with the whole
model (feedback loop, congestion, transit assignment by optimal strategies), until the
total of the modelled boardings of the counted lines and stops is within ``tolerance``
(relative; default 1 %) of the total counted:

    f(asc) = ln(sum_s modelled_s(asc)) - ln(sum_s counted_s) = 0,

first by the usual constant update ``asc <- asc - f`` (Train, *Discrete Choice Methods
with Simulation*, 2nd ed. 2009, section 2.8: exact when transit's share is small), then
by the secant method on ``f`` (monotone in ``asc``). The other constants keep their
values (the logit depends only on differences). One constant fixes one total: how the
boardings split between lines and stops is the model's (its route choice and its OD),
and the per-line and per-stop fit is reported with the link-count statistics (GEH, R²,
RMSE; :func:`~transitopt.metrics.counts.count_statistics`), not forced. Where the
observed boardings come from the same model with another constant, the constant and
every line's boardings are recovered (tests/test_boardings.py).

Boardings per line: :class:`TransitMatrixEstimation` adjusts the *transit OD matrix* so
that each counted line (and stop) is matched, by Spiess's gradient method (Spiess 1990,
"A gradient approach for the O-D matrix adjustment problem", CRT publication 693; the
method of :mod:`.odme` for traffic counts) applied to transit boardings. For fixed
optimal strategies (Spiess & Florian 1989; no line capacities) the boardings are linear
in the transit OD, ``v_s = sum_ij p_ij,s g_ij`` with ``p_ij,s`` the expected boardings
of observation ``s`` per trip from ``i`` to ``j``
(:func:`~transitopt.transit.assign.strategy_link_sums`), so the gradient steps act on the
exact boardings, not a linearisation. Each step multiplies every cell,
``g_ij <- g_ij (1 - lambda dZ/dg_ij)`` with ``Z = 1/2 sum_s (v_s - c_s)^2`` and the exact
line-search step capped so no cell turns negative: zeros stay zero, cells no counted line
serves keep their prior value, and the prior's structure is kept. The stopping rule is
the stated tolerance: every observation within ``tolerance`` (relative, default 2 %) of
its count. A model run on the new matrix changes the strategies only through the road
times of buses in traffic (and the mode shares), so the scenario calibration alternates
this with the constant's fit (:mod:`transitopt.scenario.calibration`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._progress import ProgressCallback
from ..demand.counts import Boardings, MatchedBoardings
from ..metrics.counts import count_statistics, geh
from ..transit.assign import strategy_link_sums
from ..transit.defaults import WAIT_FACTOR
from .calibration import CalibrationError
from .mode_choice import model_modes
from .multimodal import MultimodalModel, MultimodalResult
from .odme import od_change_table

#: the default tolerance on the total of the counted boardings (relative: 1 %)
BOARDINGS_TOLERANCE = 0.01
#: the largest change of the constant in one step (utils)
MAX_STEP_UTILS = 5.0
#: the default tolerance per counted line or stop of :class:`TransitMatrixEstimation`
#: (relative: every observation within 2 % of its count)
LINE_TOLERANCE = 0.02
#: columns of :attr:`TransitODFit.history`
TRANSIT_ODME_HISTORY_COLUMNS = (
    "step", "objective", "percent_rmse", "max_relative_error", "share_geh_below_5",
    "step_length", "total_trips",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class BoardingsFit:
    """A finished boardings calibration.

    Attributes
    ----------
    model : MultimodalModel
        The model with the calibrated constants.
    constants : dict of str to float
        ``asc_<mode>`` (utils) of the last run.
    result : MultimodalResult
        The last model run.
    observations : MatchedBoardings
        The counts matched to the model's transit graph (``unmatched`` rows listed there).
    modelled_before, modelled : (k,) float64
        Boardings per observation at the starting and at the calibrated constants.
    history : DataFrame
        One row per model run: ``run``, ``asc_transit``, ``counted`` and ``modelled``
        (totals, boardings per period), ``ratio`` (modelled / counted), ``percent_rmse``,
        ``share_geh_below_5``.
    converged : bool
    tolerance : float
    """

    model: MultimodalModel = field(repr=False)
    constants: dict[str, float]
    result: MultimodalResult = field(repr=False)
    observations: MatchedBoardings = field(repr=False)
    modelled_before: np.ndarray = field(repr=False)
    modelled: np.ndarray = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    converged: bool
    tolerance: float

    def statistics(self) -> pd.DataFrame:
        """Fit statistics before and after (:func:`count_statistics`, in boardings)."""
        counted = self.observations.observed
        return pd.DataFrame(
            {
                "before": count_statistics(self.modelled_before, counted),
                "after": count_statistics(self.modelled, counted),
            }
        )

    def fit_table(self) -> pd.DataFrame:
        """Per observation: ``label, count, modelled_before, modelled, geh_before, geh``."""
        counted = self.observations.observed
        return pd.DataFrame(
            {
                "label": self.observations.labels,
                "count": counted,
                "modelled_before": self.modelled_before,
                "modelled": self.modelled,
                "geh_before": geh(self.modelled_before, counted),
                "geh": geh(self.modelled, counted),
            }
        )


@dataclass(frozen=True)
class BoardingsCalibration:
    """Fit ``asc_transit`` of a model to counted boardings (see the module docstring).

    Parameters
    ----------
    boardings
        The counts (:func:`~transitopt.demand.counts.read_boardings`).
    tolerance
        Stop when ``|modelled total / counted total - 1|`` is at most this (relative).
    max_iter
        Model runs before giving up with :class:`CalibrationError`.
    """

    boardings: Boardings
    tolerance: float = BOARDINGS_TOLERANCE
    max_iter: int = 15

    def run(self, model: MultimodalModel, progress: ProgressCallback | None = None) -> BoardingsFit:
        """Run the model, update ``asc_transit``, repeat until the total fits.

        Raises
        ------
        CalibrationError
            Transit not in the choice set or not modelled, no counted line or stop in the
            model, no boardings at all on them, or no fit within ``max_iter`` runs.
        """
        if not 0.0 < self.tolerance < 1.0:
            raise CalibrationError(f"tolerance must be in (0, 1), got {self.tolerance}")
        if self.max_iter < 1:
            raise CalibrationError(f"max_iter must be at least 1, got {self.max_iter}")
        if "transit" not in model.parameters.mode_choice.modes:
            raise CalibrationError("boardings need transit in the choice set (mode_choice.modes)")
        mc = model.parameters.mode_choice
        constants = {m: mc.asc(m) for m in model_modes(mc)}
        rows: list[dict[str, float]] = []
        tried: list[tuple[float, float]] = []  # (asc, f)
        observations: MatchedBoardings | None = None
        first: np.ndarray | None = None
        for k in range(1, self.max_iter + 1):
            current = model.with_constants(**{f"asc_{m}": v for m, v in constants.items()})
            result = current.run(progress)
            if result.transit is None:
                raise CalibrationError("the model has no transit assignment (no transit lines)")
            if observations is None:
                observations = self.boardings.match(result.transit.graph)
                if observations.n_observations == 0:
                    reasons = "; ".join(
                        f"row {r}: {why}"
                        for r, why in observations.unmatched.head(3).itertuples(index=False)
                    )
                    raise CalibrationError(f"no counted line or stop is in the model ({reasons})")
            modelled = observations.modelled(result.transit.link_volume)
            if first is None:
                first = modelled
            counted_total = float(observations.observed.sum())
            modelled_total = float(modelled.sum())
            resid = modelled - observations.observed
            rmse = float(np.sqrt(np.mean(resid**2)))
            rows.append(
                {
                    "run": k,
                    "asc_transit": constants["transit"],
                    "counted": counted_total,
                    "modelled": modelled_total,
                    "ratio": modelled_total / counted_total if counted_total > 0 else np.nan,
                    "percent_rmse": 100.0 * rmse / max(float(observations.observed.mean()), 1e-300),
                    "share_geh_below_5": float(np.mean(geh(modelled, observations.observed) < 5.0)),
                }
            )
            if result.stop_reason == "cancelled":
                return self._fit(
                    current, constants, result, observations, first, modelled, rows, False
                )
            if counted_total <= 0.0:
                raise CalibrationError("the counted boardings sum to 0; no constant fits them")
            if modelled_total <= 0.0:
                raise CalibrationError(
                    "the model has no boardings on the counted lines and stops at "
                    f"asc_transit {constants['transit']:.4g}"
                )
            if abs(modelled_total / counted_total - 1.0) <= self.tolerance:
                return self._fit(
                    current, constants, result, observations, first, modelled, rows, True
                )
            f = math.log(modelled_total / counted_total)
            tried.append((constants["transit"], f))
            step = -f
            if len(tried) >= 2:
                (x0, f0), (x1, f1) = tried[-2], tried[-1]
                slope = (f1 - f0) / (x1 - x0) if x1 != x0 else 0.0
                if slope > 0.0 and math.isfinite(slope):
                    step = -f1 / slope
            constants["transit"] += float(np.clip(step, -MAX_STEP_UTILS, MAX_STEP_UTILS))
        last = rows[-1]
        raise CalibrationError(
            f"the boardings did not fit within {self.max_iter} model runs: modelled "
            f"{last['modelled']:,.1f} against {last['counted']:,.1f} counted at asc_transit "
            f"{last['asc_transit']:.4g} (the counts may ask for more transit trips than the "
            "trips with a transit path can give)"
        )

    def _fit(self, model, constants, result, observations, first, modelled, rows, converged):
        return BoardingsFit(
            model=model,
            constants={f"asc_{m}": v for m, v in constants.items()},
            result=result,
            observations=observations,
            modelled_before=first,
            modelled=modelled,
            history=pd.DataFrame(rows),
            converged=converged,
            tolerance=self.tolerance,
        )


def calibrate_to_boardings(
    model: MultimodalModel, boardings: Boardings, **options: float
) -> BoardingsFit:
    """Fit ``asc_transit`` of ``model`` to ``boardings``; see :class:`BoardingsCalibration`."""
    return BoardingsCalibration(boardings, **options).run(model)  # type: ignore[arg-type]


# ------------------------------------------------------------------ transit OD from line counts
@dataclass(frozen=True, eq=False)
class TransitODFit:
    """A transit OD matrix estimated from counted boardings (:class:`TransitMatrixEstimation`).

    Attributes
    ----------
    zones : (z,) array
        Zone ids of the matrices (the transit graph's ``zone_ids``).
    prior, estimate : (z, z) float64
        Transit trips per period before and after.
    observations : MatchedBoardings
    modelled_prior, modelled : (k,) float64
        Boardings per observation for the prior and the estimate (same strategies).
    history : DataFrame
        One row per gradient step (:data:`TRANSIT_ODME_HISTORY_COLUMNS`; step 0: prior).
    converged : bool
    stop_reason : str
        ``"fit"`` (every observation within ``tolerance``), ``"stalled"`` or ``"max_iter"``.
    tolerance : float
    cpu_s : float
        Process CPU seconds (strategies and steps).
    """

    zones: np.ndarray = field(repr=False)
    prior: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    observations: MatchedBoardings = field(repr=False)
    modelled_prior: np.ndarray = field(repr=False)
    modelled: np.ndarray = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    converged: bool
    stop_reason: str
    tolerance: float
    cpu_s: float

    def statistics(self) -> pd.DataFrame:
        """Fit statistics before and after (:func:`count_statistics`, in boardings)."""
        counted = self.observations.observed
        return pd.DataFrame(
            {
                "prior": count_statistics(self.modelled_prior, counted),
                "estimate": count_statistics(self.modelled, counted),
            }
        )

    def fit_table(self) -> pd.DataFrame:
        """Per observation: ``label, count, modelled_prior, modelled, geh_prior, geh``."""
        counted = self.observations.observed
        return pd.DataFrame(
            {
                "label": self.observations.labels,
                "count": counted,
                "modelled_prior": self.modelled_prior,
                "modelled": self.modelled,
                "geh_prior": geh(self.modelled_prior, counted),
                "geh": geh(self.modelled, counted),
            }
        )

    def factors(self) -> np.ndarray:
        """(z, z) estimate / prior per cell (1 where the prior has no trips)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.prior > 0, self.estimate / self.prior, 1.0)

    def od_change(self) -> pd.DataFrame:
        """Per non-empty prior cell: ``origin, destination, prior, estimate, change, ratio``."""
        return od_change_table(self.zones, self.prior, self.estimate)


@dataclass(frozen=True)
class TransitMatrixEstimation:
    """Adjust a transit OD matrix to counted boardings per line or stop (module docstring).

    Parameters
    ----------
    boardings
        The counts (:func:`~transitopt.demand.counts.read_boardings`).
    tolerance
        Stop when every observation is within this relative error of its count
        (``|modelled - counted| <= tolerance * max(counted, 1)``).
    max_iter
        Gradient steps at most.
    min_improvement
        Stop (``"stalled"``) when a step lowers ``Z`` by less than this fraction.
    max_step_fraction
        Cap of the step as a fraction of Spiess's ``lambda_max`` (< 1 keeps cells > 0).
    """

    boardings: Boardings
    tolerance: float = LINE_TOLERANCE
    max_iter: int = 500
    min_improvement: float = 1e-7
    max_step_fraction: float = 0.9

    def run(self, graph, prior: np.ndarray, *, wait_factor: float = WAIT_FACTOR) -> TransitODFit:
        """Estimate from ``prior`` ((z, z) transit trips per period in ``graph.zone_ids``
        order) on the optimal strategies of ``graph``
        (:class:`~transitopt.transit.graph.TransitGraph`).

        Raises
        ------
        CalibrationError
            No counted line or stop is in the graph, or ``prior`` has the wrong shape or
            negative or non-finite cells.
        """
        if not 0.0 < self.tolerance < 1.0:
            raise CalibrationError(f"tolerance must be in (0, 1), got {self.tolerance}")
        if self.max_iter < 1:
            raise CalibrationError(f"max_iter must be at least 1, got {self.max_iter}")
        if not 0.0 < self.max_step_fraction <= 1.0:
            raise CalibrationError(
                f"max_step_fraction must be in (0, 1], got {self.max_step_fraction}"
            )
        start = time.process_time()
        z = len(graph.zone_ids)
        matrix = np.array(prior, dtype=np.float64)
        if matrix.shape != (z, z):
            raise CalibrationError(
                f"the prior has shape {matrix.shape}; expected ({z}, {z}) (the graph's zones)"
            )
        if not np.isfinite(matrix).all() or (matrix < 0).any():
            raise CalibrationError("the prior has negative or non-finite trips")
        np.fill_diagonal(matrix, 0.0)
        observations = self.boardings.match(graph)
        if observations.n_observations == 0:
            reasons = "; ".join(
                f"row {r}: {why}"
                for r, why in observations.unmatched.head(3).itertuples(index=False)
            )
            raise CalibrationError(f"no counted line or stop is in the transit graph ({reasons})")
        k = observations.n_observations
        weights = np.zeros((graph.n_links, k))
        for s in range(k):
            weights[observations.links[observations.indptr[s] : observations.indptr[s + 1]], s] = (
                1.0
            )
        shares = strategy_link_sums(graph, weights, wait_factor=wait_factor)
        i_cell, j_cell = np.nonzero(matrix)
        from scipy.sparse import csr_matrix

        proportions = csr_matrix(shares[i_cell, j_cell, :].T)  # (k, cells)
        del shares
        counted = observations.observed
        g = matrix[i_cell, j_cell].copy()
        scale = np.maximum(counted, 1.0)
        rows: list[tuple] = []

        def record(step: int, v: np.ndarray, length: float) -> float:
            resid = v - counted
            objective = 0.5 * float(resid @ resid)
            rmse = float(np.sqrt(np.mean(resid**2)))
            rows.append(
                (step, objective, 100.0 * rmse / max(float(counted.mean()), 1e-300),
                 float(np.max(np.abs(resid) / scale)), float(np.mean(geh(v, counted) < 5.0)),
                 length, float(g.sum()))
            )  # fmt: skip
            return objective

        v = proportions @ g
        modelled_prior = v.copy()
        z_now = record(0, v, np.nan)
        stop_reason, converged = "max_iter", False
        for step in range(1, self.max_iter + 1):
            if rows[-1][3] <= self.tolerance:
                stop_reason, converged = "fit", True
                break
            resid = v - counted
            grad = proportions.T @ resid
            dv = proportions @ (-g * grad)
            denom = float(dv @ dv)
            if denom <= 0.0:
                stop_reason, converged = "stalled", True
                break
            length = -float(dv @ resid) / denom
            positive = grad > 0
            if positive.any():
                length = min(length, self.max_step_fraction / float(grad[positive].max()))
            if length <= 0.0:
                stop_reason, converged = "stalled", True
                break
            g = np.maximum(g * (1.0 - length * grad), 0.0)
            v = proportions @ g
            z_new = record(step, v, length)
            if rows[-1][3] <= self.tolerance:
                stop_reason, converged = "fit", True
                break
            if z_now - z_new < self.min_improvement * z_now:
                stop_reason, converged = "stalled", True
                break
            z_now = z_new
        estimate = matrix.copy()
        estimate[i_cell, j_cell] = g
        return TransitODFit(
            zones=np.asarray(graph.zone_ids),
            prior=matrix,
            estimate=estimate,
            observations=observations,
            modelled_prior=modelled_prior,
            modelled=v,
            history=pd.DataFrame(rows, columns=list(TRANSIT_ODME_HISTORY_COLUMNS)),
            converged=converged,
            stop_reason=stop_reason,
            tolerance=self.tolerance,
            cpu_s=time.process_time() - start,
        )


def estimate_transit_matrix(
    graph,
    prior: np.ndarray,
    boardings: Boardings,
    *,
    wait_factor: float = WAIT_FACTOR,
    **options: Any,
) -> TransitODFit:
    """Adjust ``prior`` to ``boardings``; see :class:`TransitMatrixEstimation`."""
    return TransitMatrixEstimation(boardings, **options).run(graph, prior, wait_factor=wait_factor)
