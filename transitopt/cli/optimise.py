"""``transitopt optimise routes|frequencies``: route design and headways under a fleet budget."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ._common import (
    command_group,
    console,
    field_progress,
    non_negative,
    one_of,
    positive,
    print_warning,
    search_progress,
)

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
    from .._ahead import compiling_ahead
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
    with (
        compiling_ahead("routes"),
        search_progress(f"{objective} search, {what}", budget, evaluations) as show,
    ):
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
    from .._ahead import compiling_ahead
    from ..optimise import optimise_frequencies, write_scenario

    with compiling_ahead("frequencies"), console.status(Text("Optimising headways ...")) as status:

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
        f"largest load factor {result.max_load_factor_before:.2f} -> "
        f"{result.max_load_factor_after:.2f} (peak load / places, demand held fixed)"
    )
    if result.riders_over_capacity_after > 0:
        print_warning(result.notes[0], code="over_capacity")
    console.print(
        f"wrote {output}; compare it: transitopt compare {scenario} {output} -o out/frequencies"
    )


@group.command("design")
def design(
    scenario: Annotated[
        Path, typer.Argument(help="Baseline scenario with a street network (and zones, demand).")
    ],
    routes: Annotated[int, typer.Option("--routes", "-k", help="Number of routes.", min=1)],
    fleet: Annotated[int, typer.Option("--fleet", help="Buses for the designed routes.", min=1)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="New alternative scenario file (TOML).")
    ],
    evaluations: Annotated[
        int,
        typer.Option("--evaluations", help="Route sets evaluated (same seed, same result).", min=1),
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    spacing: Annotated[
        float,
        typer.Option("--spacing", help="Stop spacing on main roads, metres.", callback=positive),
    ] = 400.0,
    min_stops: Annotated[
        int, typer.Option("--min-stops", help="Fewest stops per route.", min=2)
    ] = 3,
    max_stops: Annotated[
        int, typer.Option("--max-stops", help="Most stops per route.", min=2)
    ] = 15,
    max_route_min: Annotated[
        float | None,
        typer.Option(
            "--max-route-min",
            help="Longest route one way, minutes along the streets (free flow, with dwell).",
            callback=positive,
        ),
    ] = None,
    max_route_km: Annotated[
        float | None,
        typer.Option(
            "--max-route-km", help="Longest route, km along the streets.", callback=positive
        ),
    ] = None,
    terminals: Annotated[
        str,
        typer.Option(
            "--terminals",
            help="Where routes may end: any stop, or junctions (3+ streets; baseline terminals).",
            callback=one_of("any", "junctions"),
        ),
    ] = "any",
    no_u_turns: Annotated[
        bool,
        typer.Option("--no-u-turns", help="Forbid a route to leave a stop the way it came."),
    ] = False,
    must_serve: Annotated[
        list[str] | None,
        typer.Option("--must-serve", help="Zone id that gets a stop of its own (repeatable)."),
    ] = None,
    replace: Annotated[
        str,
        typer.Option(
            "--replace",
            help="Remove the baseline's bus routes (bus), every line (all) or none.",
            callback=one_of("bus", "all", "none"),
        ),
    ] = "bus",
    demand: Annotated[
        str,
        typer.Option(
            "--demand",
            help="Design for all trips (total) or the baseline's transit trips (transit).",
            callback=one_of("total", "transit"),
        ),
    ] = "total",
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="passenger (least ATT), frequency (least ATT + wait at the fleet's "
            "headway) or pareto (ATT-TRT front, then least model cost: waits at combined "
            "headways).",
            callback=one_of("passenger", "frequency", "pareto"),
        ),
    ] = "passenger",
    operator_weight_h: Annotated[
        float,
        typer.Option(
            "--operator-weight",
            help="Operating cost per vehicle-hour (scenario currency) traded against "
            "passengers' time at the value of time; 0: the fleet is used in full.",
            callback=non_negative,
        ),
    ] = 0.0,
    operator_weight_km: Annotated[
        float,
        typer.Option(
            "--operator-weight-km",
            help="Operating cost per vehicle-km (scenario currency), as --operator-weight.",
            callback=non_negative,
        ),
    ] = 0.0,
    fit_fleet: Annotated[
        bool,
        typer.Option(
            "--fit-fleet",
            help="Evaluate with the full model and refit headways until its fleet fits.",
        ),
    ] = False,
) -> None:
    """Design bus routes and headways for a city; writes a scenario that `transitopt compare`
    accepts. Ctrl-C keeps the best so far."""
    from .._ahead import compiling_ahead
    from ..optimise.city import city_network, design_city, write_design

    with compiling_ahead("design"):
        with console.status(Text(f"Building the candidate network of {scenario} ...")):
            net = city_network(
                scenario,
                spacing_m=spacing,
                demand=demand,  # type: ignore[arg-type]
                must_serve=must_serve or (),
            )
        inst = net.instance
        console.print(
            f"{net.n_stops} candidate stops, {inst.n_links} links, "
            f"{inst.total_demand:,.0f} trips/h between stops"
        )
        every = max(1, evaluations // 10)
        shown = [0]

        def line(event: dict) -> None:
            if event.get("evaluations", 0) >= shown[0] + every:
                shown[0] = event["evaluations"]
                console.print(
                    f"{event['evaluations']:>8,} evaluations: ATT {event.get('att', float('nan')):.2f} "
                    f"min, TRT {event.get('trt', float('nan')):.0f} min"
                )

        search = functools.partial(
            design_city,
            net,
            n_routes=routes,
            fleet=fleet,
            min_nodes=min_stops,
            max_nodes=max_stops,
            max_route_min=max_route_min,
            max_route_km=max_route_km,
            terminals=terminals,  # type: ignore[arg-type]
            u_turns=not no_u_turns,
            max_evaluations=evaluations,
            seed=seed,
            objective=objective,  # type: ignore[arg-type]
            operator_weight_per_veh_h=operator_weight_h,
            operator_weight_per_veh_km=operator_weight_km,
        )
        if console.is_terminal:
            with field_progress(f"route design, {evaluations:,} evaluations", "best") as bar:
                task = bar.add_task("search", total=evaluations, best="-")

                def show(event: dict) -> None:
                    bar.update(
                        task,
                        completed=min(evaluations, event.get("evaluations", 0)),
                        best=f"ATT {event.get('att', float('nan')):.2f} min",
                    )

                result = search(progress=show)
        else:
            result = search(progress=line)
        write_design(result, output, replace=replace)  # type: ignore[arg-type]
    if fit_fleet:
        from ..optimise.city import refit_to_model

        with console.status(Text("Evaluating with the full model, fitting the fleet ...")):
            result, model_fleet = refit_to_model(result, output, replace=replace)
        console.print(f"full model: fleet {model_fleet:.0f} (all lines)")
    ev = result.evaluation
    console.print(
        f"ATT {ev.att:.2f} min ({ev.d0:.0f} % direct, {ev.dun:.1f} % unserved), mean wait "
        f"{result.wait_min:.1f} min; fleet "
        f"{result.fleet_used} of {result.fleet_budget}; {result.search.n_evaluations:,} "
        f"evaluations ({result.search.stopped_by})"
    )
    if result.operator_cost_min > 0:
        console.print(f"operating cost {result.operator_cost_min:.2f} min per trip (priced)")
    for row in result.table.itertuples():
        console.print(
            f"  {row.route:<4} every {row.headway_min:>4g} min, {row.fleet:>3} buses, "
            f"{row.stops:>2} stops, {row.one_way_min:5.1f} min: {row.name}",
            markup=False,
            highlight=False,
        )
    console.print(
        f"wrote {output}; compare it: transitopt compare {scenario} {output} -o out/design"
    )
