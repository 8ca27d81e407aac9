"""``transitopt batch``: many cities × policy scenarios, resumable, local or on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import console, print_warning


def batch(
    batch_file: Annotated[
        Path, typer.Argument(help="Batch file (TOML): cities × policy scenarios.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (resumable).")],
    workers: Annotated[
        int | None,
        typer.Option("--workers", help="Local worker processes (default: cores).", min=1),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Reuse an output folder of a different batch.")
    ] = False,
) -> None:
    """Evaluate every city × policy scenario; resumes finished work; one summary table."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from ..batch import load_batch, run_batch

    spec = load_batch(batch_file)
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}", markup=False),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("cities", total=len(spec.cities), state="")

        def show(event: dict) -> None:
            bar.update(
                task,
                completed=event["cities_done"],
                state=f"failed {event['cities_failed']}, "
                f"runs {event['runs_done']}/{event['runs_total']}",
            )

        summary = run_batch(
            spec, output, workers=workers, scheduler=scheduler, overwrite=force, progress=show
        )
    console.print(
        f"{summary.computed} computed, {summary.reused} reused, {summary.failed} failed, "
        f"{summary.not_applicable} not applicable in {summary.elapsed_s:.1f} s"
    )
    console.print(
        f"summary: {summary.files['summary_csv']}; overview: {summary.files['overview_png']}"
    )
    table = summary.table
    for row in table[table["status"] == "no_effect"].itertuples(index=False):
        print_warning(
            f"{row.city}/{row.scenario}: the policy changed nothing "
            "(status no_effect; see the run's summary.json warnings)",
            code="no_effect",
        )
    if not summary.ok:
        raise typer.Exit(code=1)
