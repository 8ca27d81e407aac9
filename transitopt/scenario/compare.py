"""Side-by-side comparison of scenario results against a baseline, and its files on disk."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._progress import ProgressCallback
from ..metrics.equity import gains_losses
from .result import ScenarioResult, write_result


@dataclass(frozen=True)
class Comparison:
    """A written comparison: the headline table and where its files are.

    Attributes
    ----------
    table : DataFrame
        :func:`compare` of the results (also ``folder/comparison.csv``).
    results : tuple of ScenarioResult
        Baseline first.
    folder : Path
        Holds ``comparison.csv``, ``report.html``, ``maps/*.png`` and
        ``scenarios/<label>/`` (each result's tables, see :func:`write_result`).
    report : Path
        The self-contained HTML report.
    maps : list of Path
        The PNG maps.
    """

    table: pd.DataFrame
    results: tuple[ScenarioResult, ...]
    folder: Path
    report: Path
    maps: list[Path]

    @property
    def not_converged(self) -> list[str]:
        """Names of the results whose feedback loop did not converge."""
        return [result.name for result in self.results if not result.converged]


def write_comparison(
    results: Sequence[ScenarioResult],
    folder: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
) -> Comparison:
    """Compare ``results`` (baseline first) and write the table, every result, report and maps.

    Parameters
    ----------
    results
        The baseline result, then one or more alternatives.
    folder
        Output folder (created); see :class:`Comparison` for what it holds.
    labels
        Folder name of each result under ``scenarios/``; default: the result names.
    """
    from .._io import write_table
    from ..report import write_maps, write_report

    if len(results) < 2:
        raise ValueError("give a baseline and at least one alternative")
    labels = [result.name for result in results] if labels is None else list(labels)
    folder = Path(folder)
    table = compare(results[0], *results[1:])
    folder.mkdir(parents=True, exist_ok=True)
    for label, result in zip(labels, results, strict=True):
        write_result(result, folder / "scenarios" / label)
    write_table(table, folder / "comparison.csv")
    maps = write_maps(results[0], list(results[1:]), folder / "maps")
    report = write_report(results[0], results[1:], folder / "report.html")
    return Comparison(table=table, results=tuple(results), folder=folder, report=report, maps=maps)


def compare_files(
    paths: Sequence[str | os.PathLike],
    folder: str | os.PathLike,
    *,
    progress: ProgressCallback | None = None,
) -> Comparison:
    """Validate every scenario file, evaluate each (cached) and write their comparison.

    Parameters
    ----------
    paths
        The baseline scenario file, then one or more alternatives. All are validated
        before any computation.
    folder
        Output folder, see :func:`write_comparison`; results go to ``scenarios/<file stem>/``.
    progress
        Called with ``{"stage": "evaluating", "scenario": path, "index": k, "count": n}``
        when the evaluation of file ``k`` (0-based) of ``n`` starts, then with each feedback
        iteration's row of :func:`~transitopt.scenario.evaluate_file` plus those keys, and
        with ``{"stage": "writing", "folder": folder}`` before the files are written.
        Returning ``False`` from an iteration stops that scenario's loop early.
    """
    from .evaluate import evaluate_file, validate_scenario

    paths = [Path(path) for path in paths]
    if len(paths) < 2:
        raise ValueError("give a baseline and at least one alternative")
    for path in paths:
        validate_scenario(path)
    results = []
    for index, path in enumerate(paths):
        where = {"stage": "evaluating", "scenario": str(path), "index": index, "count": len(paths)}
        if progress is not None:
            progress(dict(where))
        results.append(evaluate_file(path, progress=_tagged(progress, where)))
    if progress is not None:
        progress({"stage": "writing", "folder": str(folder)})
    return write_comparison(results, folder, labels=[path.stem for path in paths])


def compare(base: ScenarioResult, *alternatives: ScenarioResult) -> pd.DataFrame:
    """Headline metrics of ``base`` and each alternative, with absolute and % change.

    Returns
    -------
    DataFrame
        One row per metric: ``group``, ``metric``, ``unit``, then the baseline's value
        (column named after it) and, per alternative ``A``, the columns ``A``,
        ``A Δ`` (A − baseline) and ``A Δ%`` (100 × Δ / |baseline|; NaN when the
        baseline is 0). Rows of the ``equity`` group also count the zones and residents
        whose transit accessibility rises or falls (NaN in the baseline column).
    """
    names = _unique_names([base, *alternatives])
    table = base.metrics[["group", "metric", "unit"]].copy()
    table[names[0]] = base.metrics["value"].to_numpy()
    for result, name in zip(alternatives, names[1:], strict=True):
        values = result.metrics.set_index("metric")["value"]
        extra = result.metrics[~result.metrics["metric"].isin(table["metric"])]
        if len(extra):
            table = pd.concat([table, extra[["group", "metric", "unit"]]], ignore_index=True)
        table[name] = table["metric"].map(values).to_numpy(float)
    gains = _gains_rows(base, alternatives, names)
    table = pd.concat([table, gains], ignore_index=True)
    ordered = ["group", "metric", "unit", names[0]]
    for name in names[1:]:
        delta = table[name] - table[names[0]]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(table[names[0]].abs() > 0, 100.0 * delta / table[names[0]].abs(), np.nan)
        table[f"{name} Δ"] = delta
        table[f"{name} Δ%"] = pct
        ordered += [name, f"{name} Δ", f"{name} Δ%"]
    return table[ordered]


def _tagged(progress: ProgressCallback | None, tags: dict) -> ProgressCallback | None:
    """``progress`` that adds ``tags`` to every state it is given (``None`` stays ``None``)."""
    if progress is None:
        return None
    report = progress

    def tagged(state: dict) -> object:
        return report({**state, **tags})

    return tagged


def _unique_names(results: list[ScenarioResult]) -> list[str]:
    names: list[str] = []
    for result in results:
        name = result.name
        k = 2
        while name in names:
            name = f"{result.name} ({k})"
            k += 1
        names.append(name)
    return names


def _gains_rows(base: ScenarioResult, alternatives, names: list[str]) -> pd.DataFrame:
    zones = base.tables["zones"]
    columns = [c for c in zones.columns if c.startswith("jobs_transit_")]
    rows = []
    for column in columns:
        label = column.removeprefix("jobs_transit_")
        row_keys = [
            ("zones_gain", "zones"),
            ("zones_lose", "zones"),
            ("population_gain", "residents"),
            ("population_lose", "residents"),
        ]
        values = {key: [np.nan] for key, _ in row_keys}
        for result in alternatives:
            alt = result.tables["zones"].set_index("zone").reindex(zones["zone"])
            counts = gains_losses(
                zones[column].to_numpy(float),
                alt[column].to_numpy(float),
                zones["population"].to_numpy(float),
            )
            for key, _ in row_keys:
                values[key].append(counts[key])
        for key, unit in row_keys:
            rows.append(
                {
                    "group": "equity",
                    "metric": f"transit_access_{label}_{key}",
                    "unit": unit,
                    **dict(zip(names, values[key], strict=True)),
                }
            )
    return pd.DataFrame(rows)
