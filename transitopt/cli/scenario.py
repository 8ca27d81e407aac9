"""``transitopt evaluate|compare|demo``: scenario files, their comparison and the offline demo."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ._common import console, err_console, load, shown_warnings

#: headline metrics shown on the terminal (the files and the report hold all of them);
#: names checked against the metric registry
TERMINAL_METRICS = (
    "share_car",
    "share_transit",
    "share_walk",
    "car_veh_h",
    "car_delay_veh_h",
    "car_avg_speed_kph",
    "lane_km_voc_over_1_0",
    "transit_boardings",
    "transit_avg_time_min",
    "transit_max_load_ratio",
    "transit_fleet",
    "co2_total",
)


def evaluate(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (TOML): a baseline or an alternative.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the result tables and summary.json.")
    ],
) -> None:
    """Evaluate one scenario: road equilibrium, transit assignment, mode choice, metrics."""
    from .._errors import ConvergenceWarning
    from ..scenario import evaluate_file, write_result

    with shown_warnings(ConvergenceWarning, others=False):
        with console.status(f"Evaluating {scenario} ...") as status:
            result = evaluate_file(scenario, progress=_feedback_status(status, scenario))
    write_result(result, output)
    _print_metrics(result.metrics.rename(columns={"value": result.name}))
    _print_plausibility([result])
    console.print(f"wrote {output}/ (Parquet and CSV tables, summary.json)")


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
    _compare(scenarios, output)


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the demo outputs.")
    ] = Path("transitopt-demo"),
) -> None:
    """Quickstart, offline: compare the example scenarios on the embedded central-Helsinki extract."""
    from ..scenario import example_scenarios
    from .network import print_summary

    scenarios = example_scenarios()
    console.print(
        f"Comparing {len(scenarios)} example scenarios on central Helsinki (offline, embedded data)"
    )
    print_summary(load("helsinki", "drive", "generic"))
    _compare(scenarios, output)


def _compare(scenarios: list[Path], output: Path) -> None:
    """:func:`transitopt.compare_files` with a status line, then the headline metrics."""
    from .._errors import ConvergenceWarning
    from ..report import compare_files

    with shown_warnings(ConvergenceWarning, others=False):
        with console.status("Validating the scenario files ...") as status:

            def show(state: dict) -> None:
                if state.get("stage") == "writing":
                    status.update("Writing the report and maps ...")
                elif "iteration" in state:
                    status.update(
                        f"Evaluating {state['scenario']}: feedback iteration {state['iteration']}"
                    )
                else:
                    status.update(f"Evaluating {state['scenario']} ...")

            comparison = compare_files(scenarios, output, progress=show)
    _print_metrics(comparison.table)
    _print_plausibility(list(comparison.results))
    if comparison.not_converged:
        err_console.print(
            f"[yellow]warning:[/] not converged: {', '.join(comparison.not_converged)} "
            "(the report says so)"
        )
    console.print(f"report: {comparison.report.resolve()}")
    console.print(
        f"tables: {output}/comparison.csv, {output}/scenarios/; "
        f"{len(comparison.maps)} PNG maps in {output}/maps/"
    )


def _feedback_status(status: Any, path: Path) -> Any:
    """A progress callback that shows the feedback iteration on ``status``."""

    def show(row: dict) -> None:
        status.update(f"Evaluating {path}: feedback iteration {row.get('iteration', '?')}")

    return show


def _print_plausibility(results: list[Any]) -> None:
    """The runs' plausibility warnings (one shared by every run printed once)."""
    from ..scenario.plausibility import grouped_warnings

    for who, w in grouped_warnings([r.summary for r in results], [r.name for r in results]):
        err_console.print(f"[yellow]warning ({w.code}):[/] {who}: {w.message}", highlight=False)


def _print_metrics(table: Any) -> None:
    """Headline metrics on the terminal: the baseline, then each alternative with its % change."""

    def number(value: float) -> str:
        return "" if math.isnan(value) else f"{value:,.4g}"

    from ..metrics.registry import metric

    shown = table[table["metric"].isin([metric(name).name for name in TERMINAL_METRICS])]
    if shown.empty:
        shown = table
    value_columns = [
        c
        for c in table.columns
        if c not in ("group", "metric", "unit")
        and not str(c).endswith("Δ")
        and not str(c).endswith("Δ%")
    ]
    view = Table(show_edge=False, title="Headline metrics (change vs baseline)")
    view.add_column("metric")
    view.add_column("unit")
    for column in value_columns:
        view.add_column(str(column)[:24], justify="right")
    for _, row in shown.iterrows():
        cells = [str(row["metric"]), str(row["unit"]), number(row[value_columns[0]])]
        for column in value_columns[1:]:
            pct = row.get(f"{column} Δ%", math.nan)
            cells.append(number(row[column]) + ("" if math.isnan(pct) else f" ({pct:+.1f}%)"))
        view.add_row(*cells)
    console.print(view)
