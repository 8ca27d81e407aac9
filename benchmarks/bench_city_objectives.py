"""Does the frequency-aware fast objective design better networks than ATT alone?

For one city and fleet, designs a network per seed with ``objective="passenger"`` (ATT)
and ``objective="frequency"`` (ATT + wait at the fleet's common headway × boardings),
refits each to the full model's fleet (:func:`refit_to_model`, as ``--fit-fleet``) and
records the full model's metrics against the baseline's.

    python benchmarks/bench_city_objectives.py scenarios/liechtenstein_base.toml --fleet 91 \\
        --routes 20 --spacing 500 --max-stops 30 --seeds 0 1 2

(20 routes: with 16, only seed 0 of 0-3 finds a start route set covering the 125 stops.)

Writes ``benchmarks/city_design_results/<scenario stem>_objectives.csv``; CPU seconds of
this process (a shared machine).
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
    """The ``METRICS`` a scenario result has."""
    values = result.tables["metrics"].set_index("metric")["value"]
    return {m: float(values[m]) for m in METRICS if m in values.index}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--routes", type=int, default=16)
    parser.add_argument("--spacing", type=float, default=500.0)
    parser.add_argument("--max-stops", type=int, default=30)
    parser.add_argument("--evaluations", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    csv = HERE / "city_design_results" / f"{args.scenario.stem}_objectives.csv"
    net = city_network(args.scenario, spacing_m=args.spacing)
    base = _metrics(evaluate_file(args.scenario))
    rows = [{"network": "baseline", **base}]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for objective in ("passenger", "frequency"):
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
                    )
                except ValueError as exc:  # e.g. no start route set for this seed: recorded
                    print(f"{objective} seed {seed}: {exc}", flush=True)
                    rows.append({"network": f"{objective}_seed{seed}", "error": str(exc)})
                    continue
                path = Path(tmp) / f"{objective}_{seed}.toml"
                design, _ = refit_to_model(design, path)
                result = _metrics(evaluate_file(path))
                rows.append(
                    {
                        "network": f"{objective}_seed{seed}",
                        "objective": objective,
                        "seed": seed,
                        "att_min": design.evaluation.att,
                        "fast_cost_min": design.fast_cost_min,
                        "cpu_s": time.process_time() - cpu,
                        **result,
                    }
                )
                pd.DataFrame(rows).to_csv(csv, index=False)
                print(
                    f"{objective} seed {seed}: generalised cost "
                    f"{rows[-1]['composite_cost_min']:.3f} min/trip (baseline "
                    f"{base['composite_cost_min']:.3f}), fleet {rows[-1]['transit_fleet']:.0f}",
                    flush=True,
                )
    table = pd.DataFrame(rows)
    if "objective" in table:
        print(table.groupby("objective")[["composite_cost_min", "gini_transit_30min"]].median())


if __name__ == "__main__":
    main()
