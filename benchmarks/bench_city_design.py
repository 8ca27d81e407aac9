"""Does the design loop's fast objective rank networks as the full scenario model does?

Designs networks for one city with :func:`transitopt.optimise.design_city` over a grid of
settings (routes, stops per route, evaluation budget, seed; the fleet fixed), writes each
as an alternative scenario, evaluates it with the full model (:func:`evaluate_file`) and
reports Spearman's rank correlation between the fast objective (ATT, minutes, from the
numba evaluator; and ATT plus the mean wait at the headways set under the fleet,
``fast_cost_min``) and the full model's generalised cost per trip (``composite_cost_min``,
the logsum over car, transit and walk) and transit door-to-door time
(``transit_avg_time_min``).

    python benchmarks/bench_city_design.py scenarios/liechtenstein_base.toml --fleet 91 \\
        --routes 16 20 --max-stops 20 30 --evaluations 300 10000 --seeds 0 1 \\
        --objectives passenger frequency
    python benchmarks/bench_city_design.py scenarios/porto_base.toml --fleet 54 --spacing 300 \
        --routes 8 12 16 --max-stops 15 20

Evaluate the designs already written again (current model, every fast variant; the
rows of the README, 2026-12-06):

    python benchmarks/bench_city_design.py scenarios/liechtenstein_base.toml --fleet 91 \\
        --spacing 500 --rescore
    python benchmarks/bench_city_design.py scenarios/porto_base.toml --fleet 54 \\
        --spacing 300 --rescore

Also records variants of the fast objective (:func:`fast_variants`: waiting times the
model's ``wait_weight``; the route set evaluated on the baseline's transit trips).
Writes ``benchmarks/city_design_results/<scenario stem>_rank.csv`` (one row per network;
``--append`` adds missing networks to it) and prints the correlations. Times are CPU
seconds of this process (a shared machine).
"""

from __future__ import annotations

import argparse
import itertools
import re
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from transitopt.optimise.city import (
    city_network,
    design_city,
    model_cost_min,
    route_riders,
    write_design,
)
from transitopt.optimise.evaluation import evaluate_route_set
from transitopt.scenario import evaluate_file, load_scenario

HERE = Path(__file__).parent
METRICS = (
    "composite_cost_min",
    "transit_avg_time_min",
    "transit_avg_wait_min",
    "share_transit",
    "transit_fleet",
)


def fast_variants(
    net, transit_net, routes, headway_min, evaluation, wait_min: float, wait_weight: float
) -> dict[str, float]:
    """Variants of the fast objective for one route set at its headways (minutes per trip).

    ``*_transit``: the route set evaluated on the baseline's final transit trips (the
    candidate network built with ``demand="transit"``) instead of all trips: to first
    order the change of the logsum is the transit-probability-weighted change of the
    transit cost. ``*_ww``: waiting times the model's ``wait_weight``. ``model_cost*``:
    :func:`~transitopt.optimise.city.model_cost_min` (dwell, the model's transfer
    penalty and wait weight, the wait at the combined headway of overlapping routes).
    """
    headway = np.asarray(headway_min, float)
    ev = evaluate_route_set(transit_net.instance, routes, ids=False)
    riders = route_riders(transit_net.instance.demand, routes)
    wait_t = float((riders * headway / 2.0).sum() / max(riders.sum(), 1e-12))
    boardings_t = (ev.d0 + 2.0 * ev.d1 + 3.0 * ev.d2) / max(ev.d0 + ev.d1 + ev.d2, 1e-12)
    own = evaluation
    boardings = (own.d0 + 2.0 * own.d1 + 3.0 * own.d2) / max(own.d0 + own.d1 + own.d2, 1e-12)
    return {
        "d1": own.d1,
        "d2": own.d2,
        "dun": own.dun,
        "boardings": boardings,
        "fast_cost_ww_min": own.att + wait_weight * wait_min * boardings,
        "att_transit_min": ev.att,
        "wait_transit_min": wait_t,
        "boardings_transit": boardings_t,
        "fast_cost_transit_min": ev.att + wait_t * boardings_t,
        "fast_cost_transit_ww_min": ev.att + wait_weight * wait_t * boardings_t,
        "model_cost_min": model_cost_min(net, routes, headway),
        "model_cost_transit_min": model_cost_min(
            net, routes, headway, demand=transit_net.instance.demand
        ),
    }


def read_design(net, path: Path) -> tuple[list[list[int]], np.ndarray]:
    """Routes (stop indices of ``net``) and headways (minutes) of a written design."""
    edits = tomllib.loads(path.read_text())["edits"]
    lines = [e for e in edits if e["type"] == "add_line"]
    routes = [list(map(int, net.instance.index_of(e["stops"]))) for e in lines]
    return routes, np.array([float(e["headway_min"]) for e in lines])


def rescore(args, net, transit_net, wait_weight: float, csv: Path, scenarios: Path) -> list[dict]:
    """Evaluate every written design of ``scenarios`` again: fast variants and (unless
    ``--fast-only`` and the table has the design) the full model."""
    old = (
        pd.read_csv(csv).set_index("network") if csv.is_file() else pd.DataFrame()
    )  # design CPU seconds and fleets of the original runs
    base = (
        old.loc["baseline"]
        if args.fast_only and "baseline" in old.index
        else evaluate_file(args.scenario)
    )
    rows = [{"network": "baseline", **{m: base[m] for m in METRICS}}]
    pattern = re.compile(r"(?:(\w+?)_)?k(\d+)_s(\d+)_e(\d+)_seed(\d+)")
    for path in sorted(scenarios.glob("*.toml")):
        found = pattern.fullmatch(path.stem)
        if not found:
            continue
        objective, k, max_stops, evaluations, seed = found.groups()
        routes, headway = read_design(net, path)
        ev = evaluate_route_set(net.instance, routes, ids=False)
        riders = route_riders(net.instance.demand, routes)
        wait = float((riders * headway / 2.0).sum() / max(riders.sum(), 1e-12))
        boardings = (ev.d0 + 2.0 * ev.d1 + 3.0 * ev.d2) / max(ev.d0 + ev.d1 + ev.d2, 1e-12)
        cpu = time.process_time()
        kept = old.loc[path.stem] if path.stem in old.index else {}
        result = kept if args.fast_only and len(kept) else evaluate_file(path)
        rows.append(
            {
                "network": path.stem,
                "objective": objective or "passenger",
                "routes": int(k),
                "max_stops": int(max_stops),
                "evaluations": int(evaluations),
                "seed": int(seed),
                "att_min": ev.att,
                "wait_min": wait,
                "fast_cost_min": ev.att + wait * boardings,
                "d0": ev.d0,
                "trt_min": ev.trt,
                **fast_variants(net, transit_net, routes, headway, ev, wait, wait_weight),
                "fleet_design": kept.get("fleet_design", float("nan")),
                "design_cpu_s": kept.get("design_cpu_s", float("nan")),
                "model_cpu_s": kept["model_cpu_s"] if result is kept else time.process_time() - cpu,
                **{m: result[m] for m in METRICS},
            }
        )
        pd.DataFrame(rows).to_csv(csv, index=False)
        print(f"{path.stem}: {rows[-1]['composite_cost_min']:.3f} min/trip", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--fleet", type=int, required=True)
    parser.add_argument("--spacing", type=float, default=500.0)
    parser.add_argument("--routes", type=int, nargs="+", default=[16, 20, 24])
    parser.add_argument("--max-stops", type=int, nargs="+", default=[25, 30])
    parser.add_argument("--evaluations", type=int, nargs="+", default=[300, 10_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--objectives", nargs="+", default=["passenger"], choices=["passenger", "frequency"]
    )
    parser.add_argument("--csv", type=Path, help="Output table (default: by scenario name).")
    parser.add_argument(
        "--append", action="store_true", help="Keep the table's rows; add the missing networks."
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="Design nothing: evaluate the designs already written (full model and fast "
        "variants) again, e.g. after the model changed.",
    )
    parser.add_argument(
        "--fast-only",
        action="store_true",
        help="With --rescore: keep the table's full-model metrics, recompute the fast ones.",
    )
    args = parser.parse_args()

    out_dir = HERE / "city_design_results"
    scenarios = out_dir / f"{args.scenario.stem}_designs"
    scenarios.mkdir(parents=True, exist_ok=True)
    csv = args.csv or out_dir / f"{args.scenario.stem}_rank.csv"
    net = city_network(args.scenario, spacing_m=args.spacing)
    print(f"{net.n_stops} stops, {net.instance.n_links} links", flush=True)
    transit_net = city_network(args.scenario, spacing_m=args.spacing, demand="transit")
    if list(transit_net.instance.node_id) != list(net.instance.node_id):
        raise SystemExit("the transit-demand candidate network has other stops")
    wait_weight = load_scenario(args.scenario).baseline.model.wait_weight
    if args.rescore:
        rows = rescore(args, net, transit_net, wait_weight, csv, scenarios)
    elif args.append and csv.is_file():
        rows = pd.read_csv(csv).to_dict("records")
    else:
        base = evaluate_file(args.scenario)
        rows = [{"network": "baseline", **{m: base[m] for m in METRICS}}]
    done = {str(r["network"]) for r in rows}
    grid = itertools.product(
        args.objectives, args.routes, args.max_stops, args.evaluations, args.seeds
    )
    for objective, k, max_stops, evaluations, seed in [] if args.rescore else grid:
        name = f"k{k}_s{max_stops}_e{evaluations}_seed{seed}"
        if objective != "passenger":
            name = f"{objective}_{name}"
        if name in done:
            continue
        cpu = time.process_time()
        try:
            design = design_city(
                net,
                n_routes=k,
                fleet=args.fleet,
                max_nodes=max_stops,
                max_evaluations=evaluations,
                seed=seed,
                objective=objective,
            )
        except ValueError as exc:  # infeasible settings: recorded, not ranked
            print(f"{name}: {exc}", flush=True)
            continue
        design_cpu = time.process_time() - cpu
        path = write_design(design, scenarios / f"{name}.toml")
        cpu = time.process_time()
        result = evaluate_file(path)
        ev = design.search.evaluation
        row = {
            "network": name,
            "objective": objective,
            "routes": k,
            "max_stops": max_stops,
            "evaluations": evaluations,
            "seed": seed,
            "att_min": ev.att,
            "wait_min": design.wait_min,
            "fast_cost_min": design.fast_cost_min,
            "d0": ev.d0,
            "trt_min": ev.trt,
            **fast_variants(
                net,
                transit_net,
                design.routes,
                design.headway_min,
                design.evaluation,
                design.wait_min,
                wait_weight,
            ),
            "fleet_design": design.fleet_used,
            "design_cpu_s": design_cpu,
            "model_cpu_s": time.process_time() - cpu,
            **{m: result[m] for m in METRICS},
        }
        rows.append(row)
        pd.DataFrame(rows).to_csv(csv, index=False)  # so far, in case the run is stopped
        print(
            f"{name}: ATT {ev.att:.2f} min -> generalised cost {row['composite_cost_min']:.3f} "
            f"min/trip, transit {row['transit_avg_time_min']:.2f} min, fleet "
            f"{design.fleet_used}/{row['transit_fleet']:.0f}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    table.to_csv(csv, index=False)
    designed = table[table["network"] != "baseline"]
    fast_columns = (
        "att_min",
        "fast_cost_min",
        "fast_cost_ww_min",
        "att_transit_min",
        "fast_cost_transit_min",
        "fast_cost_transit_ww_min",
        "model_cost_min",
        "model_cost_transit_min",
    )
    for fast in [c for c in fast_columns if c in designed]:
        for metric in ("composite_cost_min", "transit_avg_time_min"):
            rho, p = spearmanr(designed[fast], designed[metric])
            print(f"Spearman({fast}, {metric}) = {rho:.3f} (p = {p:.2g}, n = {len(designed)})")


if __name__ == "__main__":
    main()
