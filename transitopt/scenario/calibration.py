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

With ``calibration.counts`` the baseline's demand is adjusted to the counts: traffic
counts estimate the road classes' matrices (Spiess 1990), boardings per line and stop
the transit OD (``transit_od``). The adjustment is the ``od_adjustment`` table: per zone
pair a factor on the total demand and, where modes keep their own factors (several road
classes; traffic counts with ``transit_od``), zone-pair constants ``offset_<mode>``
(utils) added to the modes' utilities (:func:`_mode_step`). Alternatives apply the same
table and constants, never re-estimated (:func:`adjusted_demand`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DemandError, InputFileError
from .._progress import ProgressCallback
from ..assignment.boardings import (
    BOARDINGS_TOLERANCE,
    LINE_TOLERANCE,
    BoardingsCalibration,
    TransitMatrixEstimation,
)
from ..assignment.calibration import CalibrationError, ModeShareCalibration
from ..assignment.multimodal import MODES, MultimodalModel, MultimodalResult
from ..assignment.odme import modelled_counts, road_mode_factors
from ..demand.counts import Boardings, LinkCounts, counts_file_kinds, read_boardings, read_counts
from ..metrics.counts import count_statistics, geh
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
    tables : mapping of str to DataFrame
        Further tables of the result: ``counts_fit`` (per count: counted, modelled,
        GEH) and, for a baseline calibrated to counts, ``od_adjustment`` (origin,
        destination, factor on the total demand).
    """

    summary: dict[str, Any]
    table: pd.DataFrame | None
    note: str
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

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
    kinds = _counts_kinds(scenario)
    boardings = _boardings(scenario) if "boardings" in kinds else None
    if "links" not in kinds:
        if spec.transit_od and not scenario.is_baseline:
            model = adjusted_demand(model, baseline_adjustment(scenario, progress=progress))
        outcome, calibrated = _run_shares(scenario, model, base, progress, boardings)
        if calibrated is None or boardings is None or outcome.stop_reason == "cancelled":
            return outcome, calibrated
        if spec.transit_od and scenario.is_baseline:
            outcome, calibrated = _fit_transit_od(
                scenario, model, outcome, calibrated, progress, boardings
            )
        return outcome, _with_boardings_statistics(scenario, outcome, calibrated, boardings)
    if not scenario.is_baseline:
        model = adjusted_demand(model, baseline_adjustment(scenario, progress=progress))
    outcome, calibrated = _run_shares(scenario, model, base, progress, boardings)
    if calibrated is None or outcome.stop_reason == "cancelled":
        return outcome, calibrated
    if scenario.is_baseline and boardings is not None and spec.transit_od:
        outcome, calibrated = _fit_jointly(
            scenario, model, outcome, calibrated, progress, boardings
        )
    elif scenario.is_baseline:
        outcome, calibrated = _fit_counts(scenario, model, outcome, calibrated, progress, boardings)
    else:
        calibrated = _with_count_statistics(scenario, model, outcome, calibrated)
    if boardings is not None and outcome.stop_reason != "cancelled":
        calibrated = _with_boardings_statistics(scenario, outcome, calibrated, boardings)
    return outcome, calibrated


def _run_shares(
    scenario: Scenario,
    model: MultimodalModel,
    base: BaseData,
    progress: ProgressCallback | None,
    boardings: Boardings | None = None,
) -> tuple[MultimodalResult, Calibrated | None]:
    """The model run with the mode constants of ``[calibration]`` (fitted to the target
    shares or, without targets, to the counted boardings; or the baseline's)."""
    spec = scenario.baseline.calibration
    assert spec is not None
    trip_length = _trip_length(base)
    summary: dict[str, Any]
    if spec.targets is None and boardings is not None and scenario.is_baseline:
        return _fit_boardings(scenario, model, boardings, trip_length, progress)
    if spec.targets is None and boardings is None:
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

    assert spec.targets is not None
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
    tables.update(calibrated.tables)


def clear_calibrations() -> None:
    """Forget the calibrations remembered in this process (results on disk keep theirs)."""
    _CALIBRATIONS.clear()
    _ADJUSTMENTS.clear()


# ------------------------------------------------------------------ calibration to counts
#: at most this many rounds of (car matrix from counts, transit constant from boardings)
#: when a baseline fits both: each round estimates the matrix on the last run and fits the
#: constant again on the new demand, until the constant's refit keeps the counts' fit
COUNTS_BOARDINGS_ROUNDS = 4

#: at most this many rounds of the joint estimation (road modes' matrices from traffic
#: counts and the transit OD from boardings per line, on one model run each round) when a
#: baseline has both kinds of counts and ``transit_od``
JOINT_ROUNDS = 6

#: prefix of the ``od_adjustment`` columns holding zone-pair constants (utils) by mode
OFFSET_PREFIX = "offset_"

#: the OD adjustments (table ``od_adjustment``) of baselines calibrated to counts, by the
#: baseline's digest, least recently used first; at most ``CALIBRATIONS_KEPT``
_ADJUSTMENTS: dict[str, pd.DataFrame] = {}


def _counts(scenario: Scenario, model: MultimodalModel) -> LinkCounts:
    spec = scenario.baseline.calibration
    assert spec is not None and spec.counts is not None
    if model.drive is None:
        raise scenario.error(("calibration", "counts"), "counts need a street network")
    try:
        return read_counts(spec.counts, model.drive)
    except InputFileError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None


def adjusted_demand(model: MultimodalModel, adjustment: pd.DataFrame) -> MultimodalModel:
    """``model`` with its total demand multiplied by the factors of ``adjustment``
    (``origin, destination, factor`` by zone id; pairs not listed keep factor 1) and,
    where the table has ``offset_<mode>`` columns (utils), those zone-pair constants
    added to the modes' utilities (:attr:`MultimodalModel.mode_offsets`; 0 elsewhere)."""
    zones = model.zones["zone"].to_numpy()
    where = {z: i for i, z in enumerate(zones.tolist())}
    factor = np.ones((zones.size, zones.size))
    rows = np.array([where.get(z, -1) for z in adjustment["origin"].tolist()], dtype=np.int64)
    cols = np.array([where.get(z, -1) for z in adjustment["destination"].tolist()], dtype=np.int64)
    if (rows < 0).any() or (cols < 0).any():
        raise ValueError("the OD adjustment names zones the model does not have")
    factor[rows, cols] = adjustment["factor"].to_numpy(dtype=float)
    offsets = {}
    for column in adjustment.columns:
        if column.startswith(OFFSET_PREFIX):
            offset = np.zeros((zones.size, zones.size))
            offset[rows, cols] = adjustment[column].to_numpy(dtype=float)
            offsets[column.removeprefix(OFFSET_PREFIX)] = offset
    return replace(
        model, demand=np.asarray(model.demand, dtype=float) * factor, mode_offsets=offsets
    )


def demand_as_calibrated(
    scenario: Scenario, model: MultimodalModel, tables: Mapping[str, pd.DataFrame]
) -> MultimodalModel:
    """``model`` (built from ``scenario``'s files) with the OD adjustment its evaluation ran
    with: a baseline's own ``od_adjustment`` (of ``tables``, its result's), an alternative's
    baseline's; ``model`` itself where the run had none (no counts, or cancelled)."""
    spec = scenario.baseline.calibration
    if spec is None or spec.counts is None:
        return model
    if scenario.is_baseline:
        table = tables.get("od_adjustment")
        return model if table is None else adjusted_demand(model, table)
    if "links" in _counts_kinds(scenario) or spec.transit_od:
        return adjusted_demand(model, baseline_adjustment(scenario))
    return model


def baseline_adjustment(
    scenario: Scenario, *, progress: ProgressCallback | None = None
) -> pd.DataFrame:
    """The OD adjustment of the root baseline of ``scenario`` (its ``od_adjustment``
    table): remembered in this process, else from the baseline's result."""
    from .evaluate import evaluate_file

    key = load_scenario(scenario.baseline_path).digest()
    if key not in _ADJUSTMENTS:
        result = evaluate_file(scenario.baseline_path, progress=progress)
        if "od_adjustment" not in result.tables:
            raise ScenarioError(
                f"{scenario.path}: its baseline {scenario.baseline_path} has no estimated "
                "matrix (its run was cancelled); evaluate the baseline again"
            )
        _remember_adjustment(key, result.tables["od_adjustment"])
    _ADJUSTMENTS[key] = _ADJUSTMENTS.pop(key)
    return _ADJUSTMENTS[key]


def _remember_adjustment(key: str, table: pd.DataFrame) -> None:
    _ADJUSTMENTS.pop(key, None)
    _ADJUSTMENTS[key] = table
    while len(_ADJUSTMENTS) > CALIBRATIONS_KEPT:
        _ADJUSTMENTS.pop(next(iter(_ADJUSTMENTS)))


def _fit_counts(
    scenario: Scenario,
    model: MultimodalModel,
    outcome: MultimodalResult,
    calibrated: Calibrated,
    progress: ProgressCallback | None,
    boardings: Boardings | None = None,
) -> tuple[MultimodalResult, Calibrated]:
    """Estimate the baseline's car matrix from its counts, scale its total demand by the
    factors and run it again (with the same constants; where the constants were fitted
    to boardings, fitted again on the new demand, from where they were)."""
    spec = scenario.baseline.calibration
    assert spec is not None
    counts = _counts(scenario, model)
    zones = model.zones["zone"].to_numpy()
    constants = calibrated.constants
    fit_boardings = boardings is not None and spec.targets is None
    factors = np.ones((zones.size, zones.size))
    offsets: dict[str, np.ndarray] = {}
    current_model, current = model, outcome
    first = None
    refit = None
    transit_start: MultimodalResult | None = None
    first_transit = None
    rounds = 0
    for _ in range(COUNTS_BOARDINGS_ROUNDS if fit_boardings else 1):
        rounds += 1
        try:
            road_factors, odme = road_mode_factors(
                current_model, current, counts, max_outer=spec.counts_max_outer
            )
        except DemandError as exc:  # e.g. counts of a vehicle class the model does not have
            raise scenario.error(("calibration", "counts"), str(exc)) from None
        first = first or odme
        road_step = _mode_step(current, road_factors)
        factors = factors * road_step.total
        for mode, offset in road_step.offsets.items():
            offsets[mode] = offsets.get(mode, 0.0) + offset
        adjusted = adjusted_demand(model, _adjustment(zones, factors, offsets))
        if constants:
            adjusted = adjusted.with_constants(**constants)
        if not fit_boardings:
            final = adjusted.run(progress)
            break
        assert boardings is not None
        refit = _boardings_calibration(scenario, boardings).run(adjusted, progress)
        final, constants = refit.result, dict(refit.constants)
        current_model, current = refit.model, final
        if spec.transit_od and final.stop_reason != "cancelled":
            if transit_start is None:
                transit_start = final
            step, transit_fit = _transit_od_step(scenario, final, boardings)
            first_transit = first_transit or transit_fit
            factors = factors * step
            adjusted = adjusted_demand(model, _adjustment(zones, factors, offsets))
            adjusted = adjusted.with_constants(**constants)
            refit = _boardings_calibration(scenario, boardings).run(adjusted, progress)
            final, constants = refit.result, dict(refit.constants)
            current_model, current = refit.model, final
        if final.road is None or odme.stop_reason == "max_outer":
            break
        fit_now = count_statistics(modelled_counts(counts, final.road), counts.observed)[
            "percent_rmse"
        ]
        lines_fit = (
            not spec.transit_od or _within(*_line_errors(final, boardings), LINE_TOLERANCE).all()
        )
        if fit_now <= max(odme.history["percent_rmse"].iloc[-1], 1.0) * 1.05 and lines_fit:
            break  # the constant's refit left the counts' fit as the estimation had it
    assert first is not None
    odme = first
    adjustment = _adjustment(zones, factors, offsets)
    adjusted = adjusted_demand(model, adjustment)
    modelled = modelled_counts(counts, final.road)
    table, before, after = _counts_fit(counts, odme.modelled_prior, modelled)
    total_before = float(np.asarray(model.demand).sum())
    total_after = float(np.asarray(adjusted.demand).sum())
    entry = {
        "file": str(spec.counts),
        "observations": counts.n_observations,
        "unmatched_rows": [int(r) for r in counts.unmatched["row"]],
        "before": before,
        "after": after,
        "outer_iterations": int(odme.history["outer"].max()),
        "stop_reason": odme.stop_reason,
        "total_trips_before": total_before,
        "total_trips_after": total_after,
        "factor_p05": float(np.quantile(factors, 0.05)),
        "factor_p95": float(np.quantile(factors, 0.95)),
    }
    if odme.class_priors:
        entry["classes"] = odme.class_statistics().to_dict("records")
        entry["classes_at_equilibrium"] = _class_fit(counts, odme.modelled_prior, modelled)
    if final.stop_reason != "cancelled":
        _remember_adjustment(scenario.digest(), adjustment)
    note = (
        f"OD matrix estimated from {counts.n_observations} counts (Spiess 1990): GEH<5 "
        f"{100 * before['share_geh_below_5']:.0f} % -> {100 * after['share_geh_below_5']:.0f} %, "
        f"R2 {before['r2']:.3f} -> {after['r2']:.3f}; total demand {total_before:,.0f} -> "
        f"{total_after:,.0f} trips"
    )
    tables = {**calibrated.tables, "counts_fit": table, "od_adjustment": adjustment}
    summary = {**calibrated.summary, "counts": entry}
    if first_transit is not None and transit_start is not None:
        assert boardings is not None
        summary["transit_od"], transit_note = _transit_od_entry(
            first_transit, transit_start, final, boardings, model, factors, rounds
        )
        note = f"{note}; {transit_note}"
    if refit is not None:
        summary = {**summary, "constants": dict(refit.constants), "converged": refit.converged}
        summary["boardings_runs_after_counts"] = len(refit.history)
        entry["rounds"] = rounds
        if refit.converged:
            _remember(scenario.digest(), summary)
    notes = "; ".join(n for n in (calibrated.note, note) if n)
    return final, Calibrated(summary, calibrated.table, notes, tables)


def _counts_fit(
    counts: LinkCounts, prior: np.ndarray, modelled: np.ndarray
) -> tuple[pd.DataFrame, dict[str, float], dict[str, float]]:
    """The ``counts_fit`` table (each count modelled with the prior matrix and at the end,
    GEH of both) and the count statistics before and after."""
    table = pd.DataFrame(
        {
            "label": counts.labels,
            "vehicle_class": counts.vehicle_class,
            "count": counts.observed,
            "modelled_before": prior,
            "modelled": modelled,
            "geh_before": geh(prior, counts.observed),
            "geh": geh(modelled, counts.observed),
            "edges": _edge_lists(counts),
        }
    )
    return (
        table,
        count_statistics(prior, counts.observed),
        count_statistics(modelled, counts.observed),
    )


def _edge_lists(counts: LinkCounts) -> list[str]:
    """Per observation, its links' edge indices (the ``links`` table's ``edge``), space-separated."""
    return [
        " ".join(str(e) for e in counts.edges[a:b].tolist())
        for a, b in zip(counts.indptr[:-1], counts.indptr[1:], strict=True)
    ]


def _with_count_statistics(
    scenario: Scenario, model: MultimodalModel, outcome: MultimodalResult, calibrated: Calibrated
) -> Calibrated:
    """An alternative's fit to its baseline's counts (for reading only: never refitted)."""
    counts = _counts(scenario, model)
    try:
        modelled = modelled_counts(counts, outcome.road)
    except DemandError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None
    table = pd.DataFrame(
        {
            "label": counts.labels,
            "vehicle_class": counts.vehicle_class,
            "count": counts.observed,
            "modelled": modelled,
            "geh": geh(modelled, counts.observed),
            "edges": _edge_lists(counts),
        }
    )
    entry = {
        "file": str(scenario.baseline.calibration.counts),  # type: ignore[union-attr]
        "observations": counts.n_observations,
        "after": count_statistics(modelled, counts.observed),
        "source": "baseline",
    }
    note = "total demand scaled by the baseline's matrix estimated from counts"
    notes = "; ".join(n for n in (calibrated.note, note) if n)
    return Calibrated(
        {**calibrated.summary, "counts": entry},
        calibrated.table,
        notes,
        {**calibrated.tables, "counts_fit": table},
    )


# ------------------------------------------------------------------ calibration to boardings
def _counts_kinds(scenario: Scenario) -> set[str]:
    """What the baseline's counts file counts (``links``, ``boardings``); empty without one."""
    spec = scenario.baseline.calibration
    if spec is None or spec.counts is None:
        return set()
    try:
        return counts_file_kinds(spec.counts)
    except InputFileError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None


def _boardings(scenario: Scenario) -> Boardings:
    spec = scenario.baseline.calibration
    assert spec is not None and spec.counts is not None
    try:
        return read_boardings(spec.counts)
    except InputFileError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None


def _boardings_calibration(scenario: Scenario, boardings: Boardings) -> BoardingsCalibration:
    spec = scenario.baseline.calibration
    assert spec is not None
    return BoardingsCalibration(boardings, tolerance=BOARDINGS_TOLERANCE, max_iter=spec.max_iter)


def _fit_boardings(
    scenario: Scenario,
    model: MultimodalModel,
    boardings: Boardings,
    trip_length: dict[str, float] | None,
    progress: ProgressCallback | None,
) -> tuple[MultimodalResult, Calibrated]:
    """The baseline's transit constant fitted to its counted boardings (no target shares)."""
    try:
        fit = _boardings_calibration(scenario, boardings).run(model, _naming(progress, scenario))
    except CalibrationError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None
    summary = {
        "source": "calibrated",
        "baseline_file": str(scenario.baseline_path),
        "targets": None,
        "fitted_to": "boardings",
        "constants": dict(fit.constants),
        "iterations": len(fit.history),
        "tolerance": fit.tolerance,
        "converged": fit.converged,
        "mean_trip_length": trip_length,
    }
    last = fit.history.iloc[-1]
    note = (
        f"transit constant calibrated to {fit.observations.n_observations} counted boardings in "
        f"{len(fit.history)} model runs: modelled {last['modelled']:,.0f} against "
        f"{last['counted']:,.0f} counted (tolerance {100 * fit.tolerance:g} %); "
        f"{_constants_text(fit.constants)}"
    )
    result = fit.result
    if fit.converged:
        _remember(scenario.digest(), summary)
    else:
        result = replace(result, converged=False, stop_reason="cancelled")
        note = "calibration cancelled: the constants are not calibrated"
    before = fit.fit_table()[["label", "modelled_before"]]
    return result, Calibrated(summary, fit.history, note, {"boardings_fit": before})


def _with_boardings_statistics(
    scenario: Scenario, outcome: MultimodalResult, calibrated: Calibrated, boardings: Boardings
) -> Calibrated:
    """The fit of the final run to the counted boardings: table ``boardings_fit`` (label,
    count, modelled [before], GEH) and ``summary["calibration"]["boardings"]``."""
    spec = scenario.baseline.calibration
    assert spec is not None
    if outcome.transit is None:
        raise scenario.error(
            ("calibration", "counts"), "boardings counted, but no transit is modelled"
        )
    matched = boardings.match(outcome.transit.graph)
    modelled = matched.modelled(outcome.transit.link_volume)
    table = pd.DataFrame({"label": matched.labels, "count": matched.observed, "modelled": modelled})
    entry: dict[str, Any] = {
        "file": str(spec.counts),
        "observations": matched.n_observations,
        "unmatched_rows": [int(r) for r in matched.unmatched["row"]],
        "unmatched": [[int(r), str(why)] for r, why in matched.unmatched.itertuples(index=False)],
        "total_counted": float(matched.observed.sum()),
        "total_modelled": float(modelled.sum()),
        "tolerance": BOARDINGS_TOLERANCE,
        "fitted": bool(scenario.is_baseline and spec.targets is None),
        "source": "calibrated" if scenario.is_baseline else "baseline",
    }
    earlier = calibrated.tables.get("boardings_fit")
    if earlier is not None and "modelled_before" in earlier and len(earlier) == len(table):
        before = earlier["modelled_before"].to_numpy(float)
        table.insert(2, "modelled_before", before)
        table["geh_before"] = geh(before, matched.observed)
        entry["before"] = count_statistics(before, matched.observed)
    table["geh"] = geh(modelled, matched.observed)
    if matched.n_observations:
        entry["after"] = count_statistics(modelled, matched.observed)
    note = ""
    if scenario.is_baseline and spec.targets is not None:
        note = "boardings reported, not fitted: the target shares fix the transit constant"
    notes = "; ".join(n for n in (calibrated.note, note) if n)
    return Calibrated(
        {**calibrated.summary, "boardings": entry},
        calibrated.table,
        notes,
        {**calibrated.tables, "boardings_fit": table},
    )


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
    return ", ".join(
        f"asc_{m} {constants[f'asc_{m}']:.4g}" for m in MODES if f"asc_{m}" in constants
    )


def _remember(key: str, summary: dict[str, Any]) -> None:
    _CALIBRATIONS.pop(key, None)
    _CALIBRATIONS[key] = summary
    while len(_CALIBRATIONS) > CALIBRATIONS_KEPT:
        _CALIBRATIONS.pop(next(iter(_CALIBRATIONS)))


# ------------------------------------------------------------------ transit OD from line counts
#: at most this many rounds of (transit OD from boardings per line, transit constant to the
#: total) for a baseline with ``[calibration] transit_od``
TRANSIT_OD_ROUNDS = 4


def _transit_od_step(
    scenario: Scenario, result: MultimodalResult, boardings: Boardings
) -> tuple[np.ndarray, Any]:
    """The transit OD of ``result`` adjusted to the boardings on its strategies: the factor
    per zone pair (model zone order; 1 where the pair has no transit trips) and the fit."""
    if result.transit is None:
        raise scenario.error(
            ("calibration", "transit_od"), "boardings counted, but no transit is modelled"
        )
    try:
        fit = TransitMatrixEstimation(boardings, tolerance=LINE_TOLERANCE).run(
            result.transit.graph, result.demand["transit"], wait_factor=result.transit.wait_factor
        )
    except CalibrationError as exc:
        raise scenario.error(("calibration", "counts"), str(exc)) from None
    return fit.factors(), fit


def _adjustment(
    zones: np.ndarray, factors: np.ndarray, offsets: Mapping[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """The ``od_adjustment`` table (``origin, destination, factor`` and, with ``offsets``,
    ``offset_<mode>`` in utils) of the cells whose factor is not 1 or an offset not 0."""
    moved = np.abs(factors - 1.0) > 1e-12
    for offset in (offsets or {}).values():
        moved |= np.abs(offset) > 1e-12
    i, j = np.nonzero(moved)
    table = pd.DataFrame({"origin": zones[i], "destination": zones[j], "factor": factors[i, j]})
    for mode, offset in (offsets or {}).items():
        table[f"{OFFSET_PREFIX}{mode}"] = offset[i, j]
    return table


def _line_errors(result: MultimodalResult, boardings: Boardings) -> tuple[np.ndarray, np.ndarray]:
    """Per matched observation: counted and modelled boardings of ``result``."""
    assert result.transit is not None
    matched = boardings.match(result.transit.graph)
    return matched.observed, matched.modelled(result.transit.link_volume)


def _within(counted: np.ndarray, modelled: np.ndarray, tolerance: float) -> np.ndarray:
    return np.abs(modelled - counted) <= tolerance * np.maximum(counted, 1.0)


def _fit_transit_od(
    scenario: Scenario,
    model: MultimodalModel,
    outcome: MultimodalResult,
    calibrated: Calibrated,
    progress: ProgressCallback | None,
    boardings: Boardings,
) -> tuple[MultimodalResult, Calibrated]:
    """After the transit constant: adjust the transit OD to the boardings per line and stop
    (scaling each zone pair's total demand, so its mode shares hold), run the model again
    with the constant fitted again to the total, and repeat (at most
    :data:`TRANSIT_OD_ROUNDS`) until every observation is within :data:`LINE_TOLERANCE`."""
    zones = model.zones["zone"].to_numpy()
    constants = dict(calibrated.constants or {})
    factors = np.ones((zones.size, zones.size))
    current = outcome
    first = None
    histories = []
    refit = None
    rounds = 0
    for _ in range(TRANSIT_OD_ROUNDS):
        rounds += 1
        step, fit = _transit_od_step(scenario, current, boardings)
        first = first or fit
        histories.append(fit.history.assign(round=rounds))
        factors = factors * step
        adjusted = adjusted_demand(model, _adjustment(zones, factors)).with_constants(**constants)
        try:
            refit = _boardings_calibration(scenario, boardings).run(
                adjusted, _naming(progress, scenario)
            )
        except CalibrationError as exc:
            raise scenario.error(("calibration", "counts"), str(exc)) from None
        current, constants = refit.result, dict(refit.constants)
        if current.stop_reason == "cancelled":
            break
        counted, modelled = _line_errors(current, boardings)
        if _within(counted, modelled, LINE_TOLERANCE).all():
            break
    assert first is not None and refit is not None
    adjustment = _adjustment(zones, factors)
    entry, note = _transit_od_entry(first, outcome, current, boardings, model, factors, rounds)
    summary = {
        **calibrated.summary,
        "constants": dict(refit.constants),
        "converged": refit.converged,
        "transit_od": entry,
    }
    if current.stop_reason != "cancelled":
        _remember_adjustment(scenario.digest(), adjustment)
        if refit.converged:
            _remember(scenario.digest(), summary)
    note += f"; {_constants_text(refit.constants)}"
    tables = {
        **calibrated.tables,
        "od_adjustment": adjustment,
        "transit_od_history": pd.concat(histories, ignore_index=True),
    }
    notes = "; ".join(n for n in (calibrated.note, note) if n)
    return current, Calibrated(summary, calibrated.table, notes, tables)


def _transit_od_entry(
    first: Any,
    outcome: MultimodalResult,
    current: MultimodalResult,
    boardings: Boardings,
    model: MultimodalModel,
    factors: np.ndarray,
    rounds: int,
) -> tuple[dict[str, Any], str]:
    """``summary["calibration"]["transit_od"]`` and the note: the fit per line and stop at
    the first fitted constant (``first``, a ``TransitODFit``) and at the end (``current``),
    the transit and total trips before (``outcome``) and after, the factors' spread."""
    counted, modelled = _line_errors(current, boardings)
    within = _within(counted, modelled, LINE_TOLERANCE)
    observed0 = first.observations.observed
    transit_before = float(np.asarray(outcome.demand["transit"]).sum())
    transit_after = float(np.asarray(current.demand["transit"]).sum())
    demand = np.asarray(model.demand, dtype=float)
    moved = factors[np.abs(factors - 1.0) > 1e-12]
    entry = {
        "method": "Spiess 1990 gradient on the boardings of fixed optimal strategies",
        "observations": int(counted.size),
        "tolerance": LINE_TOLERANCE,
        "rounds": rounds,
        "share_within_tolerance": float(within.mean()),
        "max_relative_error": float(np.max(np.abs(modelled - counted) / np.maximum(counted, 1.0))),
        "converged": bool(within.all()),
        "at_constant": count_statistics(first.modelled_prior, observed0),
        "max_relative_error_at_constant": float(
            np.max(np.abs(first.modelled_prior - observed0) / np.maximum(observed0, 1.0))
        ),
        "after": count_statistics(modelled, counted),
        "transit_trips_before": transit_before,
        "transit_trips_after": transit_after,
        "total_trips_before": float(demand.sum()),
        "total_trips_after": float((demand * factors).sum()),
        "factor_p05": float(np.quantile(moved, 0.05)) if moved.size else 1.0,
        "factor_p95": float(np.quantile(moved, 0.95)) if moved.size else 1.0,
    }
    note = (
        f"transit OD adjusted to {counted.size} counted boardings per line and stop (Spiess "
        f"1990) in {rounds} rounds: {int(within.sum())} of {counted.size} within "
        f"{100 * LINE_TOLERANCE:g} %; transit trips {transit_before:,.0f} -> {transit_after:,.0f}"
    )
    return entry, note


# ------------------------------------------------------------------ both kinds of counts
def _fit_jointly(
    scenario: Scenario,
    model: MultimodalModel,
    outcome: MultimodalResult,
    calibrated: Calibrated,
    progress: ProgressCallback | None,
    boardings: Boardings,
) -> tuple[MultimodalResult, Calibrated]:
    """Traffic counts and boardings per line and stop together (``transit_od``), each
    kind adjusting only the modes it counts. After the transit constant (fitted to the
    counted total), each round

    1. estimates the road classes' matrices from the traffic counts on the last run
       (:func:`~transitopt.assignment.odme.road_mode_factors`, Spiess 1990): each class
       at its own factor, transit and walk scaled with the road persons (their shares
       of the pair hold, as with traffic counts alone); the model is run again;
    2. estimates the transit OD from the boardings on that run
       (:class:`~transitopt.assignment.boardings.TransitMatrixEstimation`, Spiess's
       gradient on fixed optimal strategies): transit at its own factor, the road classes
       kept, walk scaled with the counted modes' persons; the model is run again.

    Each step is a :func:`_mode_step`: zone-pair constants ``offset_<mode>`` (utils) and a
    total factor that give each mode its factor exactly under the logit at that run's
    costs, so the transit step does not undo the road step's cars nor the road step the
    transit step's riders (which one factor per zone pair did). The rounds repeat (at
    most :data:`JOINT_ROUNDS`) until the counts fit as the estimation had them and every
    line and stop is within :data:`LINE_TOLERANCE`. ``transit_od.at_constant`` is the
    fit of the lines before the first transit step (after the first road step)."""
    spec = scenario.baseline.calibration
    assert spec is not None
    counts = _counts(scenario, model)
    zones = model.zones["zone"].to_numpy()
    constants = dict(calibrated.constants or {})
    factors = np.ones((zones.size, zones.size))
    offsets: dict[str, np.ndarray] = {}
    current_model, current = model.with_constants(**constants), outcome
    first_odme = None
    first_transit = None
    histories = []
    rounds = 0
    counts_fit = lines_fit = False
    for _ in range(JOINT_ROUNDS):
        rounds += 1
        try:
            road_factors, odme = road_mode_factors(
                current_model, current, counts, max_outer=spec.counts_max_outer
            )
        except DemandError as exc:  # e.g. counts of a vehicle class the model does not have
            raise scenario.error(("calibration", "counts"), str(exc)) from None
        first_odme = first_odme or odme
        # the road step: the road classes at their own factors, the modes no traffic
        # count sees (transit, walk) scaled with the road persons (shares hold)
        current_model, current = _stepped(
            model, current, road_factors, zones, factors, offsets, constants, progress, scenario
        )
        if current.stop_reason == "cancelled":
            break
        # the transit step on that run: transit at its own factor, the road classes kept
        transit_factors, transit_fit = _transit_od_step(scenario, current, boardings)
        first_transit = first_transit or transit_fit
        histories.append(transit_fit.history.assign(round=rounds))
        kept = {mode: np.ones_like(f) for mode, f in road_factors.items()}
        current_model, current = _stepped(
            model,
            current,
            {**kept, "transit": transit_factors},
            zones,
            factors,
            offsets,
            constants,
            progress,
            scenario,
        )
        if current.stop_reason == "cancelled" or current.road is None:
            break
        fit_now = count_statistics(modelled_counts(counts, current.road), counts.observed)
        target = max(float(odme.history["percent_rmse"].iloc[-1]), 1.0) * 1.05
        counts_fit = fit_now["percent_rmse"] <= target
        lines_fit = bool(_within(*_line_errors(current, boardings), LINE_TOLERANCE).all())
        if counts_fit and lines_fit:
            break
    assert first_odme is not None and first_transit is not None
    adjustment = _adjustment(zones, factors, offsets)
    modelled = modelled_counts(counts, current.road)
    table, before, after = _counts_fit(counts, first_odme.modelled_prior, modelled)
    demand = np.asarray(model.demand, dtype=float)
    entry: dict[str, Any] = {
        "file": str(spec.counts),
        "observations": counts.n_observations,
        "unmatched_rows": [int(r) for r in counts.unmatched["row"]],
        "before": before,
        "after": after,
        "method": "Spiess 1990 gradient per mode (road classes from counts, transit from "
        "boardings) as zone-pair constants",
        "outer_iterations": int(first_odme.history["outer"].max()),
        "stop_reason": first_odme.stop_reason,
        "rounds": rounds,
        "total_trips_before": float(demand.sum()),
        "total_trips_after": float((demand * factors).sum()),
        "factor_p05": float(np.quantile(factors, 0.05)),
        "factor_p95": float(np.quantile(factors, 0.95)),
        "meets_geh_criterion": bool(after["share_geh_below_5"] >= 0.85),
        "trips_by_mode_before": _trips_by_mode(outcome),
        "trips_by_mode_after": _trips_by_mode(current),
        "offset_p05": {m: float(np.quantile(o[o != 0], 0.05)) if (o != 0).any() else 0.0
                       for m, o in offsets.items()},
        "offset_p95": {m: float(np.quantile(o[o != 0], 0.95)) if (o != 0).any() else 0.0
                       for m, o in offsets.items()},
    }  # fmt: skip
    if first_odme.class_priors:
        entry["classes"] = first_odme.class_statistics().to_dict("records")
        entry["classes_at_equilibrium"] = _class_fit(counts, first_odme.modelled_prior, modelled)
    transit_entry, transit_note = _transit_od_entry(
        first_transit, outcome, current, boardings, model, factors, rounds
    )
    transit_entry["method"] = (
        "Spiess 1990 gradient on the boardings of fixed optimal strategies, jointly with the "
        "road modes' matrices (zone-pair constants per mode)"
    )
    transit_entry["start"] = "after the first road step"
    cancelled = current.stop_reason == "cancelled"
    summary = {
        **calibrated.summary,
        "constants": constants,
        "counts": entry,
        "transit_od": transit_entry,
        "converged": bool(calibrated.summary.get("converged", True)) and not cancelled,
        "joint": {
            "rounds": rounds,
            "counts_fit": bool(counts_fit),
            "lines_fit": bool(lines_fit),
            "converged": bool(counts_fit and lines_fit and entry["meets_geh_criterion"]),
        },
    }
    if not cancelled:
        _remember_adjustment(scenario.digest(), adjustment)
        if summary["converged"]:
            _remember(scenario.digest(), summary)
    note = (
        f"road modes' and transit OD estimated together from {counts.n_observations} traffic "
        f"counts and {transit_entry['observations']} boardings (Spiess 1990 per mode, as "
        f"zone-pair constants) in {rounds} rounds: GEH<5 "
        f"{100 * before['share_geh_below_5']:.0f} % -> {100 * after['share_geh_below_5']:.0f} %, "
        f"%RMSE {before['percent_rmse']:.1f} -> {after['percent_rmse']:.1f}; {transit_note}"
    )
    tables = {
        **calibrated.tables,
        "counts_fit": table,
        "od_adjustment": adjustment,
        "transit_od_history": pd.concat(histories, ignore_index=True),
    }
    notes = "; ".join(n for n in (calibrated.note, note) if n)
    return current, Calibrated(summary, calibrated.table, notes, tables)


def _stepped(
    model: MultimodalModel,
    current: MultimodalResult,
    mode_factors: Mapping[str, np.ndarray],
    zones: np.ndarray,
    factors: np.ndarray,
    offsets: dict[str, np.ndarray],
    constants: dict[str, float],
    progress: ProgressCallback | None,
    scenario: Scenario,
) -> tuple[MultimodalModel, MultimodalResult]:
    """Apply one :func:`_mode_step` of ``current`` to ``factors`` and ``offsets`` (in
    place) and run the model adjusted by them."""
    step = _mode_step(current, mode_factors)
    factors *= step.total
    for mode, offset in step.offsets.items():
        offsets[mode] = offsets.get(mode, 0.0) + offset
    adjusted = adjusted_demand(model, _adjustment(zones, factors, offsets))
    adjusted = adjusted.with_constants(**constants)
    return adjusted, adjusted.run(_naming(progress, scenario))


@dataclass(frozen=True, eq=False)
class _ModeStep:
    """One round's adjustment: the total factor and the zone-pair constants (utils) by mode."""

    total: np.ndarray
    offsets: dict[str, np.ndarray]


def _mode_step(result: MultimodalResult, mode_factors: Mapping[str, np.ndarray]) -> _ModeStep:
    """The total factor and zone-pair constants that turn each counted mode's trips
    ``D_m`` of ``result`` into ``D_m r_m`` (``mode_factors``: road classes from traffic
    counts, transit from boardings) and scale the modes no count sees (walk; transit
    without boardings) with the counted modes' persons, by
    ``rho = sum_counted D_m r_m / sum_counted D_m`` (their share of the pair holds).

    Under a multinomial logit ``P_m = exp(V_m) / sum_k exp(V_k)``, adding ``ln(r_m / rho)``
    to ``V_m`` of the counted modes gives ``P'_m = P_m r_m / rho`` (the denominator stays
    1) and the total times ``rho`` exactly ``D_m r_m``, the others ``D_k rho``, at the same
    costs: the recalibration of constants by the log of target over modelled share (Train
    2009, section 2.8), per zone pair. With one counted mode the constants are 0: the
    total is scaled and the shares hold. Nested logit: the same constants, not exact;
    the next model run and round correct it."""
    trips = {m: np.asarray(result.demand[m], dtype=float) for m in mode_factors}
    factor = {m: np.where(trips[m] > 0, np.maximum(f, 1e-9), 1.0) for m, f in mode_factors.items()}
    counted = np.sum(list(trips.values()), axis=0)
    moved = np.sum([trips[m] * factor[m] for m in trips], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(counted > 0, moved / counted, 1.0)
    np.fill_diagonal(rho, 1.0)
    offsets = {}
    if len(mode_factors) > 1:
        for mode in mode_factors:
            offset = np.where(trips[mode] > 0, np.log(factor[mode] / rho), 0.0)
            np.fill_diagonal(offset, 0.0)
            offsets[mode] = offset
    return _ModeStep(rho, offsets)


def _trips_by_mode(result: MultimodalResult) -> dict[str, float]:
    return {m: float(np.asarray(result.demand[m]).sum()) for m in result.modes}


def _class_fit(counts: LinkCounts, before: np.ndarray, after: np.ndarray) -> list[dict[str, Any]]:
    """Per counted vehicle class: ``n``, %RMSE and GEH<5 share at the equilibrium of the
    prior and of the final model run (not the estimation's own equilibrium)."""
    rows = []
    for name in dict.fromkeys(counts.vehicle_class.tolist()):
        keep = counts.vehicle_class == name
        prior = count_statistics(before[keep], counts.observed[keep])
        final = count_statistics(after[keep], counts.observed[keep])
        rows.append(
            {
                "vehicle_class": name,
                "n": int(keep.sum()),
                "percent_rmse_prior": prior["percent_rmse"],
                "percent_rmse": final["percent_rmse"],
                "share_geh_below_5_prior": prior["share_geh_below_5"],
                "share_geh_below_5": final["share_geh_below_5"],
            }
        )
    return rows
