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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._progress import ProgressCallback
from ..demand.counts import Boardings, MatchedBoardings
from ..metrics.counts import count_statistics, geh
from .calibration import CalibrationError
from .mode_choice import model_modes
from .multimodal import MultimodalModel, MultimodalResult

#: the default tolerance on the total of the counted boardings (relative: 1 %)
BOARDINGS_TOLERANCE = 0.01
#: the largest change of the constant in one step (utils)
MAX_STEP_UTILS = 5.0


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
