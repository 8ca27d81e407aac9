"""A baseline's ``[calibration]``: its constants fitted once, reused by every alternative.

A baseline with ``calibration.targets`` is evaluated by
:class:`~transitopt.assignment.calibration.ModeShareCalibration`: the model is run and its
mode constants updated until the shares meet the targets; the last run is the baseline's
result, and the constants are written into it (``summary["calibration"]``, the
``calibration`` table of the iterations, the ``parameters`` and a note). An alternative
never calibrates: it takes the constants from its root baseline's result (evaluated, or
read from the result cache, when this process has not calibrated it yet), so that its
shares respond to its edits. ``calibration.mean_trip_length_km`` fits the distance decay
of ``[demand.synthesis]`` when the baseline's inputs are loaded
(:func:`transitopt.demand.fit_decay`); alternatives share those inputs and so the decay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from .._progress import ProgressCallback
from ..assignment.calibration import CalibrationError, ModeShareCalibration
from ..assignment.multimodal import MODES, MultimodalModel, MultimodalResult
from .files import Scenario, load_scenario
from .inputs import BaseData
from .schema import ScenarioError

#: fitted calibrations (``summary["calibration"]`` of a baseline) by the baseline's digest,
#: least recently used first; at most ``CALIBRATIONS_KEPT``
_CALIBRATIONS: dict[str, dict[str, Any]] = {}
CALIBRATIONS_KEPT = 16


@dataclass(frozen=True, eq=False)
class Calibrated:
    """What a run with ``[calibration]`` adds to a scenario's result.

    Attributes
    ----------
    summary : dict
        JSON-able, written as ``summary["calibration"]``: ``source`` (``"calibrated"`` for
        the baseline, ``"baseline"`` for an alternative), ``baseline_file``, ``targets``,
        ``baseline_shares``, ``constants`` (``asc_<mode>``), ``iterations``, ``tolerance``,
        ``max_error`` and ``mean_trip_length`` (target, modelled, decay) or ``None``.
    table : DataFrame or None
        The baseline's calibration log, one row per model run (``None`` for alternatives).
    note : str
        One line for the result's notes.
    """

    summary: dict[str, Any]
    table: pd.DataFrame | None
    note: str

    @property
    def constants(self) -> dict[str, float] | None:
        """``asc_<mode>`` used in the run (``None`` when only the decay was fitted)."""
        return self.summary.get("constants")


def run_with_calibration(
    scenario: Scenario,
    model: MultimodalModel,
    base: BaseData,
    *,
    progress: ProgressCallback | None = None,
) -> tuple[MultimodalResult, Calibrated | None]:
    """Run the model of ``scenario``: calibrated (a baseline with targets), with its
    baseline's constants (an alternative), or as it is (no ``[calibration]``).

    Raises
    ------
    ScenarioError
        Targets that no constants can reach or a calibration that did not converge
        (located at ``calibration.targets`` of the baseline file), or a baseline whose
        calibration was cancelled.
    """
    spec = scenario.baseline.calibration
    if spec is None:
        return model.run(progress), None
    trip_length = _trip_length(base)
    summary: dict[str, Any]
    if spec.targets is None:
        summary = {
            "source": "calibrated" if scenario.is_baseline else "baseline",
            "baseline_file": str(scenario.baseline_path),
            "targets": None,
            "constants": None,
            "mean_trip_length": trip_length,
        }
        return model.run(progress), Calibrated(summary, None, "")
    if not scenario.is_baseline:
        fitted = baseline_calibration(scenario, progress=progress)
        constants = dict(fitted["constants"])
        summary = {**fitted, "source": "baseline", "mean_trip_length": trip_length}
        note = (
            f"mode constants from the calibrated baseline {scenario.baseline_path.name} "
            f"({_constants_text(constants)}; not recalibrated, so the shares respond to the edits)"
        )
        return model.with_constants(**constants).run(progress), Calibrated(summary, None, note)

    fit_spec = ModeShareCalibration(
        {str(m): share for m, share in spec.targets.items()},
        tolerance=spec.tolerance,
        max_iter=spec.max_iter,
    )
    try:
        fit = fit_spec.run(model, _naming(progress, scenario))
    except CalibrationError as exc:
        raise scenario.error(("calibration", "targets"), str(exc)) from None
    table = pd.DataFrame(list(fit.history))
    summary = {
        "source": "calibrated",
        "baseline_file": str(scenario.baseline_path),
        "targets": dict(fit.targets),
        "baseline_shares": {m: fit.shares[m] for m in fit.targets},
        "constants": dict(fit.constants),
        "iterations": len(fit.history),
        "tolerance": fit.tolerance,
        "max_error": fit.max_error,
        "converged": fit.converged,
        "mean_trip_length": trip_length,
    }
    shares = ", ".join(
        f"{m} {100 * fit.shares[m]:.1f} % (target {100 * fit.targets[m]:.1f} %)"
        for m in fit.targets
    )
    note = (
        f"mode constants calibrated to the target shares in {len(fit.history)} model runs: "
        f"{shares}; {_constants_text(fit.constants)}"
    )
    result = fit.result
    if fit.converged:
        _remember(scenario.digest(), summary)
    else:  # cancelled: never cached or reused as a calibrated baseline
        result = replace(result, converged=False, stop_reason="cancelled")
        note = "calibration cancelled: the constants are not calibrated"
    return result, Calibrated(summary, table, note)


def baseline_calibration(
    scenario: Scenario, *, progress: ProgressCallback | None = None
) -> dict[str, Any]:
    """The calibration of the root baseline of ``scenario`` (``summary["calibration"]``):
    remembered in this process, else from the baseline's result (evaluated, or read from
    the result cache, by :func:`~transitopt.scenario.evaluate.evaluate_file`)."""
    from .evaluate import evaluate_file

    key = load_scenario(scenario.baseline_path).digest()
    if key in _CALIBRATIONS:
        _CALIBRATIONS[key] = _CALIBRATIONS.pop(key)  # most recently used last
        return _CALIBRATIONS[key]
    result = evaluate_file(scenario.baseline_path, progress=progress)
    fitted = result.summary.get("calibration")
    if not fitted or not fitted.get("constants") or not fitted.get("converged", False):
        raise ScenarioError(
            f"{scenario.path}: the calibration of its baseline {scenario.baseline_path} did not "
            "finish (cancelled); evaluate the baseline again"
        )
    _remember(key, dict(fitted))
    return _CALIBRATIONS[key]


def remember_calibration(baseline: Scenario, summary: Mapping[str, Any]) -> None:
    """Remember the calibration in a baseline's result ``summary`` (e.g. one read back from
    disk) for its alternatives in this process; a summary without a finished calibration
    is ignored."""
    fitted = summary.get("calibration")
    if baseline.is_baseline and fitted and fitted.get("constants") and fitted.get("converged"):
        _remember(baseline.digest(), dict(fitted))


def add_to_result(
    calibrated: Calibrated, summary: dict[str, Any], tables: dict[str, pd.DataFrame]
) -> None:
    """Write ``calibrated`` into a result's ``summary`` and ``tables`` (in place): the
    ``calibration`` entry and table, the constants used in ``parameters`` and the note."""
    summary["calibration"] = calibrated.summary
    constants = calibrated.constants
    if constants:
        parameters = dict(summary.get("parameters") or {})
        choice = dict(parameters.get("mode_choice") or {})
        choice.update(constants)
        parameters["mode_choice"] = choice
        summary["parameters"] = parameters
    if calibrated.note:
        summary["notes"] = [*summary.get("notes", []), calibrated.note]
    if calibrated.table is not None:
        tables["calibration"] = calibrated.table


def clear_calibrations() -> None:
    """Forget the calibrations remembered in this process (results on disk keep theirs)."""
    _CALIBRATIONS.clear()


def _naming(progress: ProgressCallback | None, scenario: Scenario) -> ProgressCallback | None:
    """``progress`` with ``calibrating`` (the baseline file) added to every row."""
    if progress is None:
        return None
    report = progress

    def named(row: dict[str, Any]) -> object:
        return report({**row, "calibrating": str(scenario.path)})

    return named


def _trip_length(base: BaseData) -> dict[str, float] | None:
    fit = base.decay_fit
    return None if fit is None else dict(fit)


def _constants_text(constants: dict[str, float]) -> str:
    return ", ".join(f"asc_{m} {constants[f'asc_{m}']:.4g}" for m in MODES)


def _remember(key: str, summary: dict[str, Any]) -> None:
    _CALIBRATIONS.pop(key, None)
    _CALIBRATIONS[key] = summary
    while len(_CALIBRATIONS) > CALIBRATIONS_KEPT:
        _CALIBRATIONS.pop(next(iter(_CALIBRATIONS)))
