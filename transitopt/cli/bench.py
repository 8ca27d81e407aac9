"""``transitopt bench tndp``: the literature's route-design cases against published results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ._common import command_group, console, positive

group = command_group("Benchmark instances from the literature.")


@group.command("tndp")
def tndp(
    instance: Annotated[
        str, typer.Argument(help="Mandl1, Mandl2, Mumford0, Mumford1 or Mumford2.")
    ],
    budget: Annotated[
        float, typer.Option("--budget", help="Search CPU seconds per run.", callback=positive)
    ] = 60.0,
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds.")] = "0",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs table (CSV).")] = None,
) -> None:
    """Run the literature's standard route-design cases of an instance; compare with published ATT."""
    from .._io import write_table
    from ..optimise import published_results, run_case, standard_cases

    cases = standard_cases(instance)
    try:
        seed_list = [int(v) for v in seeds.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected whole numbers separated by commas; got {seeds!r}", param_hint="--seeds"
        ) from None
    rows = []
    for case in cases:
        with console.status(Text(f"{case.label}: {len(seed_list)} run(s) of {budget:g} s ...")):
            runs = run_case(case, budget_s=budget, seeds=seed_list)
        best = runs.loc[runs["att"].idxmin()]
        published = published_results(case)
        best_published = published["att"].min() if len(published) else float("nan")
        gap = 100.0 * (best["att"] - best_published) / best_published
        console.print(
            f"{case.label}: ATT {best['att']:.3f} min (TRT {best['trt']:.0f}); best published "
            f"{best_published:.2f} ({gap:+.2f} %)"
        )
        rows.append(runs)
    if output is not None:
        import pandas as pd

        write_table(pd.concat(rows), output)
        console.print(f"wrote {output}")
