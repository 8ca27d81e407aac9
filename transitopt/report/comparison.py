"""A comparison on disk: every scenario's tables, the headline table, the HTML report and maps.

:func:`compare_files` is what ``transitopt compare`` and ``transitopt demo`` run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._errors import InputFileError
from .._io import atomic_folder, write_table
from .._progress import ProgressCallback
from ..scenario import ScenarioResult, compare, evaluate_file, validate_scenario, write_result
from ..scenario.explain import line_crowding_bands
from .crowding import LINE_COLUMNS, capacity_modelled, line_crowding_table
from .explain import write_explanations
from .html import write_report
from .maps import write_maps


@dataclass(frozen=True)
class Comparison:
    """A written comparison: the headline table and where its files are.

    Attributes
    ----------
    table : DataFrame
        :func:`~transitopt.scenario.compare` of the results (``folder/comparison.csv``).
    results : tuple of ScenarioResult
        Baseline first.
    folder : Path
        Holds ``comparison.csv``, ``report.html``, ``maps/*.png``, ``crowding_lines.csv``
        (with line capacities: standing and denied riders per line), ``scenarios/<label>/``
        (each result's tables, see :func:`~transitopt.scenario.write_result`) and
        ``explain/<label>_<table>.csv`` (why each alternative differs, see
        :mod:`transitopt.report.explain`).
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
    if len(results) < 2:
        raise ValueError("give a baseline and at least one alternative")
    labels = [result.name for result in results] if labels is None else list(labels)
    folder = Path(folder)
    check_comparison_folder(folder)
    table = compare(results[0], *results[1:])
    # written whole into a temporary folder that then replaces ``folder``: a rerun with
    # fewer alternatives leaves no stale maps or scenario folders, a kill leaves no half
    with atomic_folder(folder) as tmp, _side_thread() as side:
        # the results' files (Parquet, CSV and GDAL writers: mostly outside the GIL) are
        # written on a side thread while the maps and the report are drawn
        written = [
            side.submit(write_result, result, tmp / "scenarios" / label)
            for label, result in zip(labels, results, strict=True)
        ]
        write_table(table, tmp / COMPARISON_TABLE)
        write_explanations(results[0], results[1:], tmp / "explain", labels[1:])
        write_line_crowding(results, tmp / CROWDING_TABLE, names=labels)
        maps = write_maps(results[0], list(results[1:]), tmp / "maps")
        report = write_report(results[0], results[1:], tmp / "report.html")
        for done in written:
            done.result()
    maps = [folder / path.relative_to(tmp) for path in maps]
    report = folder / report.relative_to(tmp)
    return Comparison(table=table, results=tuple(results), folder=folder, report=report, maps=maps)


@contextlib.contextmanager
def _side_thread() -> Iterator[ThreadPoolExecutor]:
    """One worker thread; on leaving, its queued calls are cancelled (after a failure) and
    the running one is waited for, so nothing writes into a folder being removed."""
    pool = ThreadPoolExecutor(1)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


#: the file that marks a folder as a comparison written by transitopt
COMPARISON_TABLE = "comparison.csv"
#: standing and denied riders per line, every run with line capacities side by side
CROWDING_TABLE = "crowding_lines.csv"


def write_line_crowding(
    results: Sequence[ScenarioResult], path: str | os.PathLike, *, names: Sequence[str]
) -> Path | None:
    """Write :func:`~.crowding.line_crowding_table` of the runs with line capacities (all
    their lines) to ``path``, with each later run's noise band of the change against the
    first (columns ``<column> noise band | <name>``, :func:`~transitopt.scenario.explain.
    line_crowding_bands`; empty where unknown); nothing (``None``) when no run models
    line capacities."""
    on = [(r, n) for r, n in zip(results, names, strict=True) if capacity_modelled(r)]
    if not on:
        return None
    table = line_crowding_table(
        [r for r, _ in on], [n for _, n in on], max_lines=max(len(r.tables["lines"]) for r, _ in on)
    )
    for result, name in on[1:]:
        bands = line_crowding_bands(on[0][0], result).reindex(table.index)
        for column, *_ in LINE_COLUMNS:
            table[f"{column} noise band | {name}"] = (
                bands[column] if column in bands else float("nan")
            )
    write_table(table.reset_index(), Path(path))
    return Path(path)


def check_comparison_folder(folder: str | os.PathLike) -> None:
    """Refuse an output folder that is neither new, empty nor an earlier comparison.

    Raises :class:`~transitopt.InputFileError` naming the folder (a user's own files are
    never overwritten), as :func:`~transitopt.scenario.write_result` does for results.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputFileError(f"{folder}: exists and is not a folder")
    if any(folder.iterdir()) and not (folder / COMPARISON_TABLE).is_file():
        raise InputFileError(
            f"{folder}: exists, is not empty and holds no earlier comparison "
            f"({COMPARISON_TABLE}); refusing to overwrite it: choose a new folder"
        )


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
    files = [Path(path) for path in paths]
    if len(files) < 2:
        raise ValueError("give a baseline and at least one alternative")
    check_comparison_folder(folder)
    for file in files:
        validate_scenario(file)
    results = []
    for index, file in enumerate(files):
        where = {"stage": "evaluating", "scenario": str(file), "index": index, "count": len(files)}
        if progress is not None:
            progress(dict(where))
        results.append(evaluate_file(file, progress=_tagged(progress, where)))
    if progress is not None:
        progress({"stage": "writing", "folder": str(folder)})
    return write_comparison(results, folder, labels=[file.stem for file in files])


def _tagged(progress: ProgressCallback | None, tags: dict) -> ProgressCallback | None:
    """``progress`` that adds ``tags`` to every state it is given (``None`` stays ``None``)."""
    if progress is None:
        return None
    report = progress

    def tagged(state: dict) -> object:
        return report({**state, **tags})

    return tagged
