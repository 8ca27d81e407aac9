"""``transitopt bench tndp``: the literature's route-design cases against published results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ._common import command_group, console, positive, search_progress

if TYPE_CHECKING:
    import pandas as pd

group = command_group("Benchmark instances from the literature.")


@group.command("tndp")
def tndp(
    instance: Annotated[
        str, typer.Argument(help="Mandl1, Mandl2, Mumford0, Mumford1 or Mumford2.")
    ],
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help="Search CPU seconds per run (not reproducible; default 60 without --evaluations).",
            callback=positive,
        ),
    ] = None,
    evaluations: Annotated[
        int | None,
        typer.Option(
            "--evaluations",
            help="Route sets per run; alone, each seed's run is reproducible.",
            min=1,
        ),
    ] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds.")] = "0",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Runs table (CSV).")] = None,
) -> None:
    """Run the literature's standard route-design cases of an instance; compare with published ATT.

    Prints a line per run (and, when the output is not a terminal, progress lines while
    a run goes on); a tie at the published two decimals is called a tie.
    """
    import pandas as pd

    from .._io import write_table
    from ..optimise import published_results, run_case, standard_cases

    cases = standard_cases(instance)
    try:
        seed_list = [int(v) for v in seeds.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"expected whole numbers separated by commas; got {seeds!r}", param_hint="--seeds"
        ) from None
    if budget is None and evaluations is None:
        budget = 60.0
    what = ", ".join(
        part
        for part in (
            f"{budget:g} CPU s" if budget is not None else "",
            f"{evaluations:,} evaluations" if evaluations is not None else "",
        )
        if part
    )
    rows = []
    for case in cases:
        runs = []
        for seed in seed_list:
            with search_progress(
                f"{case.label}, seed {seed} ({what})", budget, evaluations
            ) as show:
                run = run_case(
                    case, budget_s=budget, max_evaluations=evaluations, seeds=[seed], progress=show
                )
            r = run.iloc[0]
            console.print(
                Text(
                    f"{case.label}, seed {seed}: ATT {r['att']:.4f} min, TRT {r['trt']:.0f} min; "
                    f"{int(r['evaluations']):,} evaluations, {r['cpu_s']:.1f} CPU s"
                )
            )
            runs.append(run)
            if r["stopped_by"] in ("interrupted", "cancelled"):
                break
        table = pd.concat(runs, ignore_index=True)
        best = table.loc[table["att"].idxmin()]
        published = published_results(case)
        console.print(
            Text(
                f"{case.label}: best ATT {best['att']:.4f} min (TRT {best['trt']:.0f}), median "
                f"{table['att'].median():.4f} over {len(table)} run(s); "
                + _versus_published(float(best["att"]), published)
            )
        )
        rows.append(table)
    if output is not None:
        write_table(pd.concat(rows), output)
        console.print(f"wrote {output}")


def _versus_published(att: float, published: pd.DataFrame) -> str:
    """``best published 10.48 (Ahmed et al. (2019)): tie at 2 decimals`` or the gap in %."""
    if not len(published):
        return "no published value"
    top = published.iloc[0]
    head = f"best published {top['att']:.2f} ({top['source']})"
    if round(att, 2) == round(float(top["att"]), 2):
        return f"{head}: tie at the published 2 decimals"
    gap = 100.0 * (att - float(top["att"])) / float(top["att"])
    return f"{head}: {gap:+.2f} %"
