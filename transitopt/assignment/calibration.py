"""Calibrating the mode constants so the multimodal model reproduces observed mode shares.

>>> from transitopt.assignment.calibration import ModeShareCalibration
>>> fit = ModeShareCalibration({"car": 0.45, "transit": 0.25, "walk": 0.30}).run(model)  # doctest: +SKIP
>>> fit.constants, fit.shares, fit.history  # doctest: +SKIP

The alternative-specific constants of the logit (``asc_car``, ``asc_transit``,
``asc_walk``) are adjusted by the usual iterative update

    ASC_m ← ASC_m + λ_m ln(target_m / modelled_m)

(Train, *Discrete Choice Methods with Simulation*, 2nd ed. 2009, section 2.8,
"recalibration of constants"; ``λ_m`` is the scale of the nest of ``m``, 1 outside
nests: within a nest a constant moves the shares ``1 / λ`` times as fast, and the
plain step overshoots and diverges at small scales, e.g. 0.4), each time with the whole model, feedback loop and congestion included, until every modelled share is within
``tolerance`` of its target. Shares count the trips the model serves, intrazonal trips
as walk (as the scenario results do). Trips that have only one mode available (and the
intrazonal walks) cannot move, so the update is applied to the shares of the trips
that have a choice: the target share of those is ``(target_m × N − fixed_m) / F`` with
``N`` the trips served, ``fixed_m`` the captive trips of ``m`` and ``F`` the trips with
a choice. The constant of the reference mode (car, when it is in the choice set) keeps
its starting value; the logit depends only on differences of constants.

Before iterating, the targets are checked against what the supply allows: for every
group of modes ``S`` the target share of ``S`` must lie strictly between the share of
trips that can use nothing but ``S`` and the share of trips that can use some mode of
``S`` (otherwise no finite constants reach it; e.g. a transit target above the share of
trips with a stop in reach). :class:`CalibrationError` names the mode and both numbers.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import TransitoptError
from .._progress import ProgressCallback
from ..defaults import section
from .mode_choice import MODES, model_modes
from .multimodal import MultimodalModel, MultimodalResult

_DEFAULTS = section("calibration")

#: the largest difference between a target and a modelled share that may be accepted
#: (0.5 percentage points, the bound a calibrated baseline must meet)
MAX_TOLERANCE = 0.005


class CalibrationError(TransitoptError, ValueError):
    """Targets that no constants can reach, or a calibration that did not reach them."""


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """A finished calibration.

    Attributes
    ----------
    model : MultimodalModel
        The model with the calibrated constants.
    constants : dict of str to float
        ``asc_<mode>`` of the model's modes (car, transit, walk and the motorcycle
        modes it chooses among; utils).
    targets, shares : dict of str to float
        Target and modelled share by mode (of the trips served).
    result : MultimodalResult
        The model run at the calibrated constants (the last iteration's).
    history : tuple of dict
        One row per model run: ``run``, ``asc_<mode>`` (the constants of the run),
        ``share_<mode>``, ``target_<mode>``, ``max_error`` (share), ``feedback_iterations``.
    converged : bool
        Every share within ``tolerance`` (``False`` only when cancelled).
    stop_reason : str
        ``"tolerance"`` or ``"cancelled"``.
    """

    model: MultimodalModel
    constants: dict[str, float]
    targets: dict[str, float]
    shares: dict[str, float]
    result: MultimodalResult
    history: tuple[dict[str, float], ...]
    converged: bool
    stop_reason: str = "tolerance"
    tolerance: float = field(default=_DEFAULTS["tolerance"])

    @property
    def max_error(self) -> float:
        """The largest ``|share - target|`` (share, not points)."""
        return max(abs(self.shares[m] - self.targets[m]) for m in self.targets)


@dataclass(frozen=True)
class ModeShareCalibration:
    """Fit the alternative-specific constants of a model to target mode shares.

    Parameters
    ----------
    targets : mapping of str to float
        Share of the served trips by mode, one for every mode of the model's choice set,
        each in (0, 1), summing to 1 (within 0.001).
    tolerance : float
        Stop when every ``|modelled - target|`` is at most this (share; 0.002 = 0.2
        points; at most :data:`MAX_TOLERANCE`).
    max_iter : int
        Model runs before giving up with :class:`CalibrationError`.
    """

    targets: Mapping[str, float]
    tolerance: float = _DEFAULTS["tolerance"]
    max_iter: int = _DEFAULTS["max_iter"]

    def run(
        self, model: MultimodalModel, progress: ProgressCallback | None = None
    ) -> CalibrationResult:
        """Run the model, update the constants, repeat until the shares meet the targets.

        Parameters
        ----------
        model
            The model to calibrate; its constants are the starting values.
        progress
            Called with each feedback iteration's row of the model (plus
            ``calibration_run``) and, after each model run, with the row of the
            calibration history plus ``"calibration": "run"``. Returning ``False``
            cancels (the result is then marked ``"cancelled"``).

        Raises
        ------
        CalibrationError
            Targets that do not fit the choice set or that the supply cannot reach, or
            no convergence within ``max_iter`` runs (naming the shares reached).
        """
        modes = tuple(m for m in MODES if m in model.parameters.mode_choice.modes)
        held = model_modes(model.parameters.mode_choice)  # the modes of the model's results
        targets = _checked_targets(self.targets, modes)
        if not 0 < self.tolerance <= MAX_TOLERANCE:
            raise CalibrationError(
                f"tolerance must be in (0, {MAX_TOLERANCE}] (a share), got {self.tolerance}"
            )
        if self.max_iter < 1:
            raise CalibrationError(f"max_iter must be at least 1, got {self.max_iter}")
        mc = model.parameters.mode_choice
        constants = {m: mc.asc(m) for m in held}
        reference = "car" if "car" in modes else modes[0]
        scales = {m: nest.scale for nest in mc.nests for m in nest.modes}
        history: list[dict[str, float]] = []
        captive: _Captive | None = None
        for k in range(1, self.max_iter + 1):
            current = model.with_constants(**{f"asc_{m}": constants[m] for m in held})
            result, caught = _run(current, _tagged(progress, k))
            if captive is None:
                captive = _Captive.of(current, result, modes)
                captive.check(targets)
            shares = _shares(result)
            error = max(abs(shares[m] - targets[m]) for m in modes)
            row: dict[str, float] = {
                "run": k,
                **{f"asc_{m}": constants[m] for m in held},
                **{f"share_{m}": shares[m] for m in held},
                **{f"target_{m}": targets.get(m, 0.0) for m in held},
                "max_error": error,
                "feedback_iterations": len(result.history),
            }
            history.append(row)
            done = error <= self.tolerance
            cancelled = result.stop_reason == "cancelled" or (
                progress is not None and progress({**row, "calibration": "run"}) is False
            )
            if done or cancelled:
                for w in caught:  # the warnings of the run that is kept
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                return CalibrationResult(
                    model=current,
                    constants={f"asc_{m}": constants[m] for m in held},
                    targets=dict(targets),
                    shares=shares,
                    result=result,
                    history=tuple(history),
                    converged=done and not cancelled,
                    stop_reason="cancelled" if cancelled and not done else "tolerance",
                    tolerance=self.tolerance,
                )
            step = captive.update(targets, shares)
            for m in modes:  # within a nest a constant moves shares 1 / scale times as fast
                step[m] *= scales.get(m, 1.0)
            shift = step[reference]
            for m in modes:
                constants[m] += step[m] - shift
        last = history[-1]
        reached = ", ".join(
            f"{m} {100 * last[f'share_{m}']:.1f} % (target {100 * targets[m]:.1f} %)" for m in modes
        )
        raise CalibrationError(
            f"the mode shares did not reach their targets within {100 * self.tolerance:g} points "
            f"after {self.max_iter} model runs: {reached}; raise calibration.max_iter, or check "
            "targets close to what the supply allows"
        )


def calibrate_constants(
    model: MultimodalModel,
    targets: Mapping[str, float],
    *,
    tolerance: float = _DEFAULTS["tolerance"],
    max_iter: int = _DEFAULTS["max_iter"],
    progress: ProgressCallback | None = None,
) -> CalibrationResult:
    """One call: :class:`ModeShareCalibration` with these settings, run on ``model``."""
    return ModeShareCalibration(targets, tolerance=tolerance, max_iter=max_iter).run(
        model, progress
    )


# ---------------------------------------------------------------------------- helpers
def _checked_targets(targets: Mapping[str, float], modes: tuple[str, ...]) -> dict[str, float]:
    """The targets as floats; raises when they do not fit the choice set or do not sum to 1."""
    given = set(targets)
    if given != set(modes):
        raise CalibrationError(
            f"targets name {', '.join(sorted(given)) or 'no mode'} but the choice set is "
            f"{', '.join(modes)}: give a target share for every mode of the choice set"
        )
    out = {m: float(targets[m]) for m in modes}
    bad = [m for m in modes if not 0.0 < out[m] < 1.0]
    if bad:
        raise CalibrationError(
            f"the target share of {bad[0]} is {out[bad[0]]!r}; each target must be above 0 and "
            "below 1 (drop a mode from the choice set instead of giving it 0)"
        )
    total = sum(out.values())
    if abs(total - 1.0) > 1e-3:
        raise CalibrationError(
            f"the target shares sum to {total:.4g}; they must sum to 1 (within 0.001)"
        )
    return {m: v / total for m, v in out.items()}


def _run(
    model: MultimodalModel, progress: ProgressCallback | None
) -> tuple[MultimodalResult, list[warnings.WarningMessage]]:
    """Run ``model``, holding back its warnings (only the kept run's are shown)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.run(progress)
    return result, list(caught)


def _tagged(progress: ProgressCallback | None, k: int) -> ProgressCallback | None:
    if progress is None:
        return None
    report = progress

    def tagged(row: dict[str, Any]) -> object:
        return report({**row, "calibration_run": k})

    return tagged


def _shares(result: MultimodalResult) -> dict[str, float]:
    """Share of the served trips by mode, intrazonal trips counted as walk."""
    trips = {m: float(result.demand[m].sum()) for m in result.modes}
    trips["walk"] += float(result.intrazonal.sum())
    served = sum(trips.values())
    if served <= 0:
        raise CalibrationError("the model serves no trips: there is nothing to calibrate")
    return {m: trips[m] / served for m in result.modes}


@dataclass(frozen=True)
class _Captive:
    """Trips by the set of modes available to them (``sets``: mode tuple → trips/h), the
    trips served ``served`` and the trips that can only use each mode ``fixed``."""

    sets: dict[tuple[str, ...], float]
    served: float
    fixed: dict[str, float]
    modes: tuple[str, ...]

    @classmethod
    def of(
        cls, model: MultimodalModel, result: MultimodalResult, modes: tuple[str, ...]
    ) -> _Captive:
        available = model.mode_availability(result.skims)
        total = sum(result.demand[m] for m in result.modes) + result.unserved
        np.fill_diagonal(total, 0.0)
        sets: dict[tuple[str, ...], float] = {}
        for size in range(1, len(modes) + 1):
            for combo in itertools.combinations(modes, size):
                mask = np.ones(total.shape, dtype=bool)
                for m in modes:
                    mask &= available[m] if m in combo else ~available[m]
                sets[combo] = float(total[mask].sum())
        intrazonal = float(result.intrazonal.sum())
        if intrazonal > 0:
            sets[("walk",)] = sets.get(("walk",), 0.0) + intrazonal
        served = sum(sets.values())
        fixed = {m: sets.get((m,), 0.0) for m in MODES}
        return cls(sets=sets, served=served, fixed=fixed, modes=modes)

    def check(self, targets: Mapping[str, float]) -> None:
        """Raise when some group of modes cannot reach its target share (see the module)."""
        n = self.served
        if n <= 0:
            raise CalibrationError("the model serves no trips: there is nothing to calibrate")
        for size in range(1, len(self.modes)):
            groups = list(itertools.combinations(self.modes, size))
            for group in groups:  # captive trips first: they explain most impossible targets
                only = sum(t for s, t in self.sets.items() if set(s) <= set(group)) / n
                target = sum(targets[m] for m in group)
                if target <= only:
                    name = " + ".join(group)
                    raise CalibrationError(
                        f"the target share of {name} ({100 * target:.1f} %) is not above the "
                        f"{100 * only:.1f} % of trips that can use nothing but {name}"
                        f"{_captive_why(group)}: no constants reach it"
                    )
            for group in groups:
                some = sum(t for s, t in self.sets.items() if set(s) & set(group)) / n
                target = sum(targets[m] for m in group)
                if target >= some:
                    name = " + ".join(group)
                    raise CalibrationError(
                        f"the target share of {name} ({100 * target:.1f} %) is not below the "
                        f"{100 * some:.1f} % of trips that {name} can serve at all"
                        f"{_why(group)}: no constants reach it"
                    )

    def update(self, targets: Mapping[str, float], shares: Mapping[str, float]) -> dict[str, float]:
        """``ln(target / modelled)`` on the shares of the trips that have a choice (the
        caller scales it by the nest's scale)."""
        n = self.served
        free = n - sum(self.fixed[m] for m in self.modes)
        step = {}
        for m in self.modes:
            want = (targets[m] * n - self.fixed[m]) / free
            have = (shares[m] * n - self.fixed[m]) / free
            step[m] = math.log(max(want, 1e-12) / max(have, 1e-12))
        return step


def _why(group: tuple[str, ...]) -> str:
    if group == ("transit",):
        return " (zone pairs with a stop within the access walk and a line between them)"
    if group == ("walk",):
        return " (zone pairs within the longest walk, model.mode_choice.max_walk_km)"
    return ""


def _captive_why(group: tuple[str, ...]) -> str:
    return " (intrazonal trips walk)" if "walk" in group else ""
