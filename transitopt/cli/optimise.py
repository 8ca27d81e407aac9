"""``transitopt optimise routes|frequencies``: route design and headways under a fleet budget."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ._common import command_group, console, non_negative, one_of, positive, search_progress

group = command_group("Optimise transit: route design, frequencies under a fleet budget.")


@group.command("routes")
def routes(
    instance: Annotated[
        str, typer.Argument(help="TNDP instance: Mandl1, Mandl2, Mumford0-2 or a folder.")
    ],
    routes: Annotated[int, typer.Option("--routes", "-k", help="Number of routes.", min=1)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Route set file (one route per line).")
    ],
    min_nodes: Annotated[
        int, typer.Option("--min-nodes", help="Fewest nodes per route.", min=2)
    ] = 2,
    max_nodes: Annotated[int, typer.Option("--max-nodes", help="Most nodes per route.", min=2)] = 8,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="passenger, operator or pareto.",
            callback=one_of("passenger", "operator", "pareto"),
        ),
    ] = "passenger",
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            help="Search time, wall seconds (not reproducible; default 60 without --evaluations).",
            callback=positive,
        ),
    ] = None,
    evaluations: Annotated[
        int | None,
        typer.Option(
            "--evaluations",
            help="Route sets to evaluate; alone, the same seed gives the same result.",
            min=1,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Design a route set (simulated annealing, numba evaluation); Ctrl-C keeps the best so far.

    With --evaluations (and no --budget) the search is deterministic: the same seed gives
    the same route set here and from design_routes(..., max_evaluations=N, seed=S).
    """
    from ..optimise import design_routes, read_tndp_instance, write_route_set

    inst = read_tndp_instance(instance)
    if budget is None and evaluations is None:
        budget = 60.0
    what = " and ".join(
        part
        for part in (
            f"{budget:g} s" if budget is not None else "",
            f"{evaluations:,} evaluations" if evaluations is not None else "",
        )
        if part
    )
    with search_progress(f"{objective} search, {what}", budget, evaluations) as show:
        result = design_routes(
            inst,
            n_routes=routes,
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            objective=objective,  # type: ignore[arg-type]  # design_routes checks the name
            budget_s=budget,
            max_evaluations=evaluations,
            seed=seed,
            progress=show,
        )
    ev = result.evaluation
    write_route_set(
        result.routes,
        output,
        header=f"{instance}: {routes} routes, {objective}, seed {seed}; "
        f"ATT {ev.att:.4f} min, TRT {ev.trt:.0f} min",
    )
    console.print(
        f"ATT {ev.att:.2f} min, d0 {ev.d0:.2f} %, d1 {ev.d1:.2f} %, d2 {ev.d2:.2f} %, "
        f"dun {ev.dun:.2f} %, "
        f"TRT {ev.trt:.0f} min; {result.n_evaluations:,} evaluations in {result.seconds:.1f} s "
        f"({result.stopped_by})"
    )
    console.print(f"wrote {output}")


@group.command("frequencies")
def frequencies(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file whose line headways to optimise.")
    ],
    fleet: Annotated[int, typer.Option("--fleet", help="Vehicles available (all lines).", min=1)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New alternative scenario file (TOML).")
    ],
    min_headway: Annotated[
        float, typer.Option("--min-headway", help="Shortest headway, minutes.", callback=positive)
    ] = 3.0,
    max_headway: Annotated[
        float, typer.Option("--max-headway", help="Longest headway, minutes.", callback=positive)
    ] = 30.0,
    operator_weight: Annotated[
        float,
        typer.Option(
            "--operator-weight",
            help="Operator cost per vehicle-hour (scenario currency).",
            callback=non_negative,
        ),
    ] = 0.0,
    max_evaluations: Annotated[
        int, typer.Option("--max-evaluations", help="Transit assignments at most.", min=1)
    ] = 500,
) -> None:
    """Choose headways within a fleet budget; writes a scenario that `transitopt compare` accepts."""
    from ..optimise import optimise_frequencies, write_scenario

    with console.status(Text("Optimising headways ...")) as status:

        def show(event: dict) -> None:
            status.update(
                f"Optimising headways: {event.get('evaluations', '?')} assignments, "
                f"objective {event.get('objective', float('nan')):,.1f}"
            )

        result = optimise_frequencies(
            scenario,
            fleet=fleet,
            headway_bounds_min=(min_headway, max_headway),
            operator_weight_per_veh_h=operator_weight,
            max_evaluations=max_evaluations,
            progress=show,
        )
    write_scenario(result, output)
    changed = result.routes[result.routes["headway_min"] != result.routes["baseline_headway_min"]]
    repairs = int((result.history["move"] == "lengthen (repair)").sum())
    console.print(
        f"fleet {result.baseline_fleet} -> {result.fleet_used} of {result.fleet_budget} as the "
        f"full model evaluates the written scenario ({result.full_evaluations} full "
        f"evaluation(s), {repairs} repair step(s)); objective "
        f"{result.objective_before:,.1f} -> {result.objective_after:,.1f} {result.currency}/h "
        f"(demand held fixed); {len(changed)} route(s) changed; {result.evaluations} transit "
        f"assignments ({result.stop_reason})"
    )
    console.print(
        f"wrote {output}; compare it: transitopt compare {scenario} {output} -o out/frequencies"
    )
