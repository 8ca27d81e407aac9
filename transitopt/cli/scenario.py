"""``transitopt evaluate|compare|demo``: scenario files, their comparison and the offline demo."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from ._common import console, load, print_warning, shown_warnings


def evaluate(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (TOML): a baseline or an alternative.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the result tables and summary.json.")
    ],
) -> None:
    """Evaluate one scenario: road equilibrium, transit assignment, mode choice, metrics."""
    from .._ahead import compiling_ahead
    from .._errors import ConvergenceWarning
    from ..scenario import compare as compare_results
    from ..scenario import evaluate_file, write_result

    with compiling_ahead("evaluate"), shown_warnings(ConvergenceWarning, others=False):
        with console.status(Text(f"Evaluating {scenario} ...")) as status:
            result = evaluate_file(scenario, progress=_feedback_status(status, scenario))
            base = None
            if result.summary.get("kind") == "alternative":
                # the change vs the baseline needs the baseline's result (cached after one run)
                base_file = Path(str(result.summary["baseline_file"]))
                base = evaluate_file(base_file, progress=_feedback_status(status, base_file))
    write_result(result, output)
    if base is None:
        _print_metrics(
            result.metrics.rename(columns={"value": result.name}),
            title=f"Headline metrics: {result.name}",
        )
    else:
        _print_metrics(
            compare_results(base, result), title=f"Headline metrics: change vs {base.name}"
        )
    links = ", links.gpkg with street geometry" if (output / "links.gpkg").is_file() else ""
    _print_plausibility([result])
    console.print(f"wrote {output}/ (tables as Parquet and CSV{links}, summary.json)")


def compare(
    scenarios: Annotated[
        list[Path], typer.Argument(help="Baseline scenario file, then one or more alternatives.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the comparison, report and maps.")
    ],
) -> None:
    """Compare alternatives with a baseline: headline table, HTML report and PNG maps."""
    if len(scenarios) < 2:
        raise typer.BadParameter("give a baseline and at least one alternative")
    from .._ahead import compiling_ahead

    with compiling_ahead("demo"):  # the demo is a comparison: the same kernels
        _compare(scenarios, output)


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the demo outputs.")
    ] = Path("transitopt-demo"),
) -> None:
    """Quickstart, offline: compare the example scenarios on the embedded central-Helsinki extract."""
    from .._ahead import compiling_ahead
    from ..scenario import example_scenarios
    from .network import print_summary

    with compiling_ahead("demo"):
        scenarios = example_scenarios()
        console.print(
            f"Comparing {len(scenarios)} example scenarios on central Helsinki "
            "(offline, embedded data)"
        )
        print_summary(load("helsinki", "drive", "generic"))
        _compare(scenarios, output)


def _compare(scenarios: list[Path], output: Path) -> None:
    """:func:`transitopt.compare_files` with a status line, then the headline metrics."""
    from .._errors import ConvergenceWarning
    from ..report import compare_files
    from ..scenario.explain import within_noise

    with shown_warnings(ConvergenceWarning, others=False):
        with console.status(Text("Validating the scenario files ...")) as status:

            def show(state: dict) -> None:
                if state.get("stage") == "writing":
                    status.update("Writing the report and maps ...")
                elif "iteration" in state or state.get("calibration") == "run":
                    _show_iteration(status, state["scenario"], state)
                else:
                    status.update(Text(f"Evaluating {state['scenario']} ..."))

            comparison = compare_files(scenarios, output, progress=show)
    base, *alternatives = comparison.results
    _print_metrics(
        comparison.table,
        title=f"Headline metrics: change vs {comparison.results[0].name}",
        within_noise=[within_noise(base, alt) for alt in alternatives],
    )
    _print_plausibility(list(comparison.results))
    _print_capacity_note(list(comparison.results))
    if comparison.not_converged:
        print_warning(f"not converged: {', '.join(comparison.not_converged)} (the report says so)")
    console.print(f"report: {comparison.report.resolve()}")
    console.print(
        f"tables: {output}/comparison.csv, {output}/scenarios/; "
        f"{len(comparison.maps)} PNG maps in {output}/maps/"
    )


def _feedback_status(status: Any, path: Path) -> Any:
    """A progress callback that shows the feedback iteration on ``status``."""

    def show(row: dict) -> None:
        _show_iteration(status, path, row)

    return show


def _print_plausibility(results: list[Any]) -> None:
    """The runs' plausibility warnings (one shared by every run printed once)."""
    from ..scenario.plausibility import grouped_warnings

    for who, w in grouped_warnings([r.summary for r in results], [r.name for r in results]):
        print_warning(f"{who}: {w.message}", code=w.code)


def _print_capacity_note(results: list[Any]) -> None:
    """One line naming the runs without line capacities when others have them (their
    crowding rows are empty, not zero)."""
    from ..report.crowding import capacity_modelled

    off = [r.name for r in results if not capacity_modelled(r)]
    if off and len(off) < len(results):
        console.print(
            f"line capacities not modelled in: {', '.join(off)} (no crowding numbers there)",
            highlight=False,
            markup=False,
        )


def _show_iteration(status: Any, scenario: Any, row: dict) -> None:
    """A feedback iteration on the status line; a calibration run as a line of its own."""
    if row.get("calibration") == "run":  # two short lines at most: readable at 80 columns
        from ..assignment.mode_choice import MODES

        modes = [m for m in MODES if row.get(f"target_{m}", 0.0) > 0]
        if row["run"] == 1:
            targets = ", ".join(f"{m} {100 * row[f'target_{m}']:.1f} %" for m in modes)
            name = Path(row.get("calibrating", scenario)).name
            console.print(f"calibrating {name} to {targets}", highlight=False, markup=False)
        shares = ", ".join(f"{m} {100 * row[f'share_{m}']:.1f} %" for m in modes)
        console.print(
            f"  run {row['run']}: {shares}; largest error {100 * row['max_error']:.2f} points",
            highlight=False,
            markup=False,
        )
        return
    run = row.get("calibration_run")
    what = (
        f"Calibrating {Path(row.get('calibrating', scenario)).name}: model run {run},"
        if run
        else f"Evaluating {scenario}:"
    )
    status.update(Text(f"{what} feedback iteration {row.get('iteration', '?')}"))


def _print_metrics(table: Any, *, title: str, within_noise: Sequence[set[str]] = ()) -> None:
    """Headline metrics on the terminal: the baseline, then each alternative with its change."""
    from ._tables import print_headline

    print_headline(console, table, title=title, within_noise=within_noise)
