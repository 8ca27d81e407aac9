"""Designed vs existing networks over seeds, objectives and operating-cost weights.

For one city and fleet, designs a network per seed with ``objective="passenger"`` (ATT)
and/or ``objective="frequency"`` (ATT + wait at the fleet's common headway × boardings),
at each ``--operator-weights`` value (scenario currency per vehicle-hour; 0: not
priced), refits each to the full model's fleet (:func:`refit_to_model`, as
``--fit-fleet``) and records the full model's metrics against the baseline's; prints the
median and best generalised cost per objective and weight.

    python benchmarks/bench_city_objectives.py scenarios/liechtenstein_base.toml --fleet 91 \\
        --routes 20 --spacing 500 --max-stops 30 --seeds 0 1 2
    python benchmarks/bench_city_objectives.py scenarios/liechtenstein_base.toml --fleet 91 \\
        --routes 20 --spacing 500 --max-stops 30 --seeds 0 1 2 --objectives frequency \\
        --operator-weights 0 100 200 --tag operator
    python benchmarks/bench_city_objectives.py scenarios/porto_base.toml --fleet 54 \\
        --routes 12 --spacing 300 --max-stops 20 --seeds 0 1 2 3 4 \\
        --objectives passenger frequency --tag seeds
    python benchmarks/bench_city_objectives.py scenarios/bogor_base.toml --fleet 587 \\
        --routes 12 --spacing 300 --max-stops 40 --seeds 0 1 2 3 4 \\
        --objectives passenger frequency --tag seeds

(Liechtenstein, 20 routes: with 16, only seed 0 of 0-3 finds a start route set covering
the 125 stops.)

Writes ``benchmarks/city_design_results/<scenario stem>_objectives.csv`` (with ``--tag
T``: ``<stem>_T.csv``); CPU seconds of this process (a shared machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from transitopt.optimise.city import city_network, design_city, refit_to_model
from transitopt.scenario import evaluate_file

HERE = Path(__file__).parent
OBJECTIVES = ("passenger", "frequency")
METRICS = (
    "composite_cost_min",
    "share_transit",
    "transit_avg_wait_min",
    "transit_avg_time_min",
    "jobs_transit_30min",
    "car_delay_veh_h",
    "transit_fleet",
    "transit_veh_h",
    "transit_veh_km",
    "gini_transit_30min",
    "palma_transit_30min",
)


def _metrics(result) -> dict[str, float]:
    """The ``METRICS`` a scenario result has, and its access and equity metrics at every
    threshold."""
    values = result.tables["metrics"].set_index("metric")["value"]
    wanted = [m for m in METRICS if m in values.index] + [
        str(m)
        for m in values.index
        if str(m).startswith(("jobs_transit_", "gini_transit_", "palma_transit_"))
        and m not in METRICS
    ]
    return {m: float(values[m]) for m in wanted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--routes", type=int, default=16)
    parser.add_argument("--spacing", type=float, default=500.0)
    parser.add_argument("--max-stops", type=int, default=30)
    parser.add_argument("--evaluations", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--objectives", nargs="+", default=["passenger", "frequency"], choices=OBJECTIVES
    )
    parser.add_argument("--operator-weights", type=float, nargs="+", default=[0.0])
    parser.add_argument("--demand", default="total", choices=["total", "transit"])
    parser.add_argument("--tag", default="objectives", help="Output name suffix.")
    args = parser.parse_args()
    csv = HERE / "city_design_results" / f"{args.scenario.stem}_{args.tag}.csv"
    net = city_network(args.scenario, spacing_m=args.spacing, demand=args.demand)
    base = _metrics(evaluate_file(args.scenario))
    rows = [{"network": "baseline", **base}]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            (seed, objective, weight)
            for seed in args.seeds
            for weight in args.operator_weights
            for objective in args.objectives
        ]
        for seed, objective, weight in runs:
            name = f"{objective}_seed{seed}" + (f"_op{weight:g}" if weight else "")
            cpu = time.process_time()
            try:
                design = design_city(
                    net,
                    n_routes=args.routes,
                    fleet=args.fleet,
                    max_nodes=args.max_stops,
                    max_evaluations=args.evaluations,
                    seed=seed,
                    objective=objective,  # type: ignore[arg-type]
                    operator_weight_per_veh_h=weight,
                )
            except ValueError as exc:  # e.g. no start route set for this seed: recorded
                print(f"{name}: {exc}", flush=True)
                rows.append({"network": name, "error": str(exc)})
                continue
            path = Path(tmp) / f"{name}.toml"
            design, _ = refit_to_model(design, path)
            result = _metrics(evaluate_file(path))
            rows.append(
                {
                    "network": name,
                    "objective": objective,
                    "operator_weight_per_veh_h": weight,
                    "seed": seed,
                    "att_min": design.evaluation.att,
                    "fast_cost_min": design.fast_cost_min,
                    "model_cost_min": design.model_cost_min,
                    "operator_cost_min": design.operator_cost_min,
                    "fleet_design": design.fleet_used,
                    "cpu_s": time.process_time() - cpu,
                    **result,
                }
            )
            pd.DataFrame(rows).to_csv(csv, index=False)
            print(
                f"{name}: generalised cost "
                f"{rows[-1]['composite_cost_min']:.3f} min/trip (baseline "
                f"{base['composite_cost_min']:.3f}), fleet {rows[-1]['transit_fleet']:.0f}",
                flush=True,
            )
    table = pd.DataFrame(rows)
    if "objective" in table:
        designed = table.dropna(subset=["objective"])
        groups = designed.groupby(["objective", "operator_weight_per_veh_h"])
        columns = [
            m for m in ("composite_cost_min", "transit_veh_h", "transit_veh_km") if m in table
        ]
        print("median:\n", groups[columns].median())
        print("best (least generalised cost):\n", groups["composite_cost_min"].min())


if __name__ == "__main__":
    main()
